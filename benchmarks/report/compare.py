"""Ours against the others: the margin over the best peer per cell (and the worst of them, printed
at the top of the report), and the ablations, one signal off at a time."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from ..methods import ABLATIONS
from .aggregate import NAMES, Agg, best_peer
from .tables import fmt, table

#: The budgets the margins and ablations are read at.
MARGIN_BUDGETS = ("4x", "8x", "16x")
#: The quality metrics a margin is taken on, wherever a set has values for them.
MARGIN_METRICS = ("answer_recall", "evidence_recall", "gold_text")
#: Resamples of the paired bootstrap behind each margin's interval (fixed seed: the report is
#: a pure function of the run's files).
BOOTSTRAP_RESAMPLES = 2000


def paired_interval(
    ours: dict[str, float], peer: dict[str, float], resamples: int = BOOTSTRAP_RESAMPLES
) -> tuple[float, float, int] | None:
    """95 % percentile interval of mean(ours) - mean(peer) over the items both scored, by a
    paired bootstrap over items (seed 0), and the number of items; ``None`` without items.

    >>> lo, hi, n = paired_interval({"a": 1.0, "b": 0.0}, {"a": 1.0, "b": 0.0})
    >>> (lo, hi, n)
    (0.0, 0.0, 2)
    """
    items = sorted(set(ours) & set(peer))
    if not items:
        return None
    diff = np.array([ours[i] - peer[i] for i in items], dtype=np.float64)
    idx = np.random.default_rng(0).integers(0, len(items), size=(resamples, len(items)))
    lo, hi = np.percentile(diff[idx].mean(axis=1), [2.5, 97.5])
    return float(lo), float(hi), len(items)


def per_item(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str, str], dict[str, float]]:
    """(data set, method, budget label, metric) -> {item id: value} for the margin metrics."""
    out: dict[tuple[str, str, str, str], dict[str, float]] = defaultdict(dict)
    for r in rows:
        for metric in MARGIN_METRICS:
            if r.get(metric) is not None:
                out[(r["dataset"], r["method"], r["budget_label"], metric)][r["item_id"]] = float(
                    r[metric]
                )
    return out


def margins(
    agg: Agg, datasets: list[str], rows: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Ours (default preset) minus the best peer, per (data set, metric, budget) where both ran;
    with the run's ``rows``, also the paired-bootstrap 95 % interval of that difference against
    the named peer (``lo``, ``hi``; the peer is picked as the best on the same items, so the
    interval is, if anything, unfavourable to ours)."""
    values = per_item(rows) if rows is not None else {}
    out = []
    for ds in datasets:
        for metric in MARGIN_METRICS:
            if metric == "gold_text" and primary_metric(agg, ds) != "gold_text":
                continue  # the share of gold text is the target only where answers are not
            for b in MARGIN_BUDGETS:
                peer, pv = best_peer(agg, ds, metric, b)
                ours = agg.get((ds, "ours", b), {}).get(metric)
                if peer is None or pv is None or ours is None:
                    continue
                m: dict[str, Any] = {
                    "dataset": ds,
                    "metric": metric,
                    "budget": b,
                    "ours": ours,
                    "peer": peer,
                    "peer_value": pv,
                    "margin": ours - pv,
                }
                ci = paired_interval(
                    values.get((ds, "ours", b, metric), {}), values.get((ds, peer, b, metric), {})
                )
                if ci is not None:
                    m["lo"], m["hi"], m["n_items"] = ci
                out.append(m)
    return out


def _interval(m: dict[str, Any]) -> str:
    return f" [{m['lo']:+.3f}, {m['hi']:+.3f}]" if "lo" in m else ""


def _cell(m: dict[str, Any]) -> str:
    return (
        f"{NAMES.get(m['dataset'], m['dataset'])} {m['metric'].replace('_', ' ')} {m['budget']} "
        f"(ours {fmt(m['ours'])}, best peer {m['peer']} {fmt(m['peer_value'])})"
    )


def worst_margin_lines(ms: list[dict[str, Any]]) -> list[str]:
    """One line: the smallest of the :func:`margins` ``ms``, naming its cell (with its interval
    and, where the margins have intervals, how many are clearly below zero)."""
    what = (
        "ours (default preset) minus the best peer; the minimum over every data set, "
        f"{' / '.join(MARGIN_BUDGETS)}, answer and evidence recall (and the share of gold text "
        "kept where a set has no short answers)"
    )
    if not ms:
        return [f"**Worst margin**: not measured (ours or the peers did not run); {what}.", ""]
    worst = min(ms, key=lambda m: (m["margin"], m["dataset"], m["metric"], m["budget"]))
    line = (
        f"**Worst margin**: **{worst['margin']:+.3f}**{_interval(worst)} at {_cell(worst)}; {what}."
    )
    if any("hi" in m for m in ms):
        below = [m for m in ms if "hi" in m and m["hi"] < 0]
        behind = [m for m in ms if m["margin"] < 0]
        line += (
            f" {len(behind)} of {len(ms)} margins are negative; {len(below)} of them have a 95 % "
            "interval wholly below zero (paired bootstrap over items: "
            + (", ".join(_cell(m) for m in below) or "none")
            + ")."
        )
    return [line, ""]


def margin_lines(ms: list[dict[str, Any]], datasets: list[str]) -> list[str]:
    """The :func:`margins` ``ms`` per data set and metric (rows, in ``datasets`` order) and
    budget (columns), with their paired-bootstrap 95 % intervals where computed."""
    if not ms:
        return []
    cells = {(m["dataset"], m["metric"], m["budget"]): m for m in ms}
    budgets = [b for b in MARGIN_BUDGETS if any(m["budget"] == b for m in ms)]
    body = []
    for ds in datasets:
        for metric in MARGIN_METRICS:
            row = [cells.get((ds, metric, b)) for b in budgets]
            if any(row):
                body.append(
                    [
                        NAMES.get(ds, ds),
                        metric.replace("_", " "),
                        *(
                            f"{m['margin']:+.3f}{_interval(m)} ({m['peer']})" if m else ""
                            for m in row
                        ),
                    ]
                )
    out = ["**Margins** (ours minus the best peer, which is named"
           + (
               "; in brackets the 95 % interval of that difference, paired bootstrap over the "
               f"items both scored, {BOOTSTRAP_RESAMPLES} resamples, seed 0: an interval that "
               "holds zero is a difference these items cannot tell from none"
               if any("lo" in m for m in ms)
               else ""
           )
           + ")", ""]  # fmt: skip
    return out + table(["data", "metric", *budgets], body)


def primary_metric(agg: Agg, ds: str) -> str:
    """Answer recall where the set has scorable answers, else the share of gold text kept
    (issue 23: whole-unit evidence recall is reported, not targeted); evidence recall for a
    run without gold-text rows."""
    rows = [a for (d, _, _), a in agg.items() if d == ds]
    if any(a["answer_recall"] is not None for a in rows):
        return "answer_recall"
    return "gold_text" if any(a.get("gold_text") is not None for a in rows) else "evidence_recall"


def _override(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"`{k}={v!r}`" for k, v in kwargs.items())


def ablation_lines(agg: Agg, datasets: list[str]) -> list[str]:
    """Per data set: each ablation of :data:`benchmarks.methods.ABLATIONS` that ran, its score
    and its difference from ours (default preset) at 4x / 8x / 16x."""
    ran = [v for v in ABLATIONS if any(m == v for (_, m, _) in agg)]
    budgets = [b for b in MARGIN_BUDGETS if any(m in ran and bb == b for (_, m, bb) in agg)]
    if not ran:
        return []
    out = [
        "## Ablations (one signal off at a time)",
        "",
        "Each variant is the default config with one switch changed. Cells: the variant's score "
        "(answer recall where the set has answers, else evidence recall) and, in brackets, its "
        "difference from ours; a negative difference means the signal helps there.",
        "",
    ]
    out += table(
        ["variant", "signal removed", "config"],
        [[v, ABLATIONS[v][0], _override(ABLATIONS[v][1])] for v in ran],
    )
    for ds in datasets:
        metric = primary_metric(agg, ds)
        body = []
        for v in ran:
            row = []
            for b in budgets:
                a = agg.get((ds, v, b), {}).get(metric)
                o = agg.get((ds, "ours", b), {}).get(metric)
                row.append("" if a is None else fmt(a) + ("" if o is None else f" ({a - o:+.3f})"))
            if any(row):
                body.append([v, *row])
        if body:
            ours = [fmt(agg.get((ds, "ours", b), {}).get(metric)) for b in budgets]
            title = f"**{NAMES.get(ds, ds)}**, {metric.replace('_', ' ')}"
            out += [title, ""] + table(["variant", *budgets], [["ours", *ours], *body])
    return out
