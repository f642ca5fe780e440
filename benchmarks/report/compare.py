"""Ours against the others: the margin over the best peer per cell (and the worst of them, printed
at the top of the report), and the ablations, one signal off at a time."""

from __future__ import annotations

from typing import Any

from ..methods import ABLATIONS
from .aggregate import NAMES, Agg, best_peer
from .tables import fmt, table

#: The budgets the margins and ablations are read at.
MARGIN_BUDGETS = ("4x", "8x", "16x")
#: The quality metrics a margin is taken on, wherever a set has values for them.
MARGIN_METRICS = ("answer_recall", "evidence_recall")


def margins(agg: Agg, datasets: list[str]) -> list[dict[str, Any]]:
    """Ours (default preset) minus the best peer, per (data set, metric, budget) where both ran."""
    out = []
    for ds in datasets:
        for metric in MARGIN_METRICS:
            for b in MARGIN_BUDGETS:
                peer, pv = best_peer(agg, ds, metric, b)
                ours = agg.get((ds, "ours", b), {}).get(metric)
                if peer is None or pv is None or ours is None:
                    continue
                out.append(
                    {
                        "dataset": ds,
                        "metric": metric,
                        "budget": b,
                        "ours": ours,
                        "peer": peer,
                        "peer_value": pv,
                        "margin": ours - pv,
                    }
                )
    return out


def _cell(m: dict[str, Any]) -> str:
    return (
        f"{NAMES.get(m['dataset'], m['dataset'])} {m['metric'].replace('_', ' ')} {m['budget']} "
        f"(ours {fmt(m['ours'])}, best peer {m['peer']} {fmt(m['peer_value'])})"
    )


def worst_margin_lines(agg: Agg, datasets: list[str]) -> list[str]:
    """One line: the smallest margin of ours over the best peer, naming its cell."""
    ms = margins(agg, datasets)
    what = (
        "ours (default preset) minus the best peer; the minimum over every data set, "
        f"{' / '.join(MARGIN_BUDGETS)}, answer and evidence recall"
    )
    if not ms:
        return [f"**Worst margin**: not measured (ours or the peers did not run); {what}.", ""]
    worst = min(ms, key=lambda m: (m["margin"], m["dataset"], m["metric"], m["budget"]))
    return [f"**Worst margin**: **{worst['margin']:+.3f}** at {_cell(worst)}; {what}.", ""]


def margin_lines(agg: Agg, datasets: list[str]) -> list[str]:
    """Ours minus the best peer per data set and metric (rows) and budget (columns)."""
    ms = margins(agg, datasets)
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
                        *(f"{m['margin']:+.3f} ({m['peer']})" if m else "" for m in row),
                    ]
                )
    out = ["**Margins** (ours minus the best peer, which is named)", ""]
    return out + table(["data", "metric", *budgets], body)


def primary_metric(agg: Agg, ds: str) -> str:
    """Answer recall where the set has scorable answers, else evidence recall."""
    has_ans = any(a["answer_recall"] is not None for (d, _, _), a in agg.items() if d == ds)
    return "answer_recall" if has_ans else "evidence_recall"


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
