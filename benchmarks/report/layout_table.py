"""The layout table (issue 23): each layout set in each rendering, ours against the best peer run
on the same rendering, and ours' spread across the renderings.

Read from the run's rows: the ``layout`` part's rows (the renderings other than ``meta``) and,
for the ``meta`` rendering, the main part's rows of the same items, methods and budgets. Every
rendering of an item has the same budgets (shares of its tokens as loaded). The metric is each
set's primary one (:func:`primary`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from ..methods import PEERS
from ..renderings import RENDERINGS
from ..tuning.layouts import GOLD_TEXT_SETS
from .aggregate import BUDGET_ORDER, DATASET_ORDER, NAMES, order
from .compare import paired_interval
from .tables import fmt, table

#: Ours' largest allowed spread across renderings, per set x budget (issue 23).
SPREAD_TARGET = 0.03
#: A difference smaller than this is a tie (a mean over items cannot tell it from none).
TIE = 0.0005
#: What each rendering looks like, in the section's text.
LOOKS = {
    "meta": 'the title in `metadata["title"]` (as in the main tables)',
    "title_line": '`"Title\\nBody"`',
    "markdown": '`"# Title\\n\\nBody"`',
    "wrapped": "the title line, the body hard-wrapped at 78 columns",
    "pdf": "the title line, the body wrapped at 64 columns with hyphenated line ends",
}
#: Per-item values: (data set, rendering, method, budget label) -> {item id: value}.
Values = dict[tuple[str, str, str, str], dict[str, float]]


def primary(dataset: str) -> str:
    """The row field of a set's primary metric: the share of gold text kept where the set has no
    short answers (:data:`benchmarks.tuning.layouts.GOLD_TEXT_SETS`), else answer recall."""
    return "gold_text" if dataset in GOLD_TEXT_SETS else "answer_recall"


def metric_name(dataset: str) -> str:
    return "gold text kept" if primary(dataset) == "gold_text" else "answer recall"


def versus(values: dict[str, dict[str, float]]) -> dict[str, Any] | None:
    """Ours against the best peer of one cell, from per-method per-item values: both means, the
    peer's name, the margin and its paired-bootstrap 95 % interval (``lo``, ``hi``, ``n``);
    ``None`` when ours or every peer is missing."""
    ours = values.get("ours")
    peers = {m: v for m, v in values.items() if m in PEERS and v}
    if not ours or not peers:
        return None
    means = {m: float(np.mean(list(v.values()))) for m, v in peers.items()}
    peer = max(order(means, list(PEERS)), key=lambda m: means[m])  # first of equals, in PEERS
    cell: dict[str, Any] = {"ours": float(np.mean(list(ours.values()))), "peer": peer}
    cell["peer_value"] = means[peer]
    cell["margin"] = cell["ours"] - cell["peer_value"]
    ci = paired_interval(ours, peers[peer])
    if ci is not None:
        cell["lo"], cell["hi"], cell["n"] = ci
    return cell


def margin_text(c: dict[str, Any], target: bool = True) -> str:
    """``**+0.050** [-0.010, +0.110]``, and ``miss`` when ours is behind (``target``)."""
    ci = f" [{c['lo']:+.3f}, {c['hi']:+.3f}]" if "lo" in c else ""
    return f"**{c['margin']:+.3f}**{ci}" + (" miss" if target and c["margin"] < -TIE else "")


def layout_values(rows: list[dict[str, Any]]) -> Values:
    """The layout part's per-item primary values, with the main part's (``meta``) values of the
    same sets, items and budgets."""
    layout = [r for r in rows if r.get("part") == "layout"]
    items = defaultdict(set)
    for r in layout:
        items[r["dataset"]].add(r["item_id"])
    budgets = {r["budget_label"] for r in layout}
    out: Values = defaultdict(dict)
    for r in rows:
        ds, part = r["dataset"], r.get("part", "main")
        if part not in ("main", "layout") or r["item_id"] not in items.get(ds, ()):
            continue
        v = r.get(primary(ds))
        if r["budget_label"] in budgets and v is not None:
            key = (ds, r.get("rendering", "meta"), r["method"], r["budget_label"])
            out[key][r["item_id"]] = float(v)
    return out


def layout_cells(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(cells, spreads): per (set, rendering, budget) ours against the best peer on that
    rendering (:func:`versus`); per (set, budget) ours' spread across the renderings (max - min
    of its means) and the renderings at either end."""
    values = layout_values(rows)
    keys = {(ds, r, b) for ds, r, _, b in values}
    cells, spreads = [], []
    for ds in order({k[0] for k in keys}, DATASET_ORDER):
        renderings = order({r for d, r, _ in keys if d == ds}, list(RENDERINGS))
        for b in order({b for d, _, b in keys if d == ds}, BUDGET_ORDER):
            ours = {}
            for rend in renderings:
                by_method = {
                    m: v for (d, r, m, bb), v in values.items() if (d, r, bb) == (ds, rend, b)
                }
                c = versus(by_method)
                if c is not None:
                    cells.append({"dataset": ds, "rendering": rend, "budget": b, **c})
                if by_method.get("ours"):
                    ours[rend] = float(np.mean(list(by_method["ours"].values())))
            if len(ours) > 1:
                hi, lo = max(ours, key=ours.__getitem__), min(ours, key=ours.__getitem__)
                spreads.append(
                    {"dataset": ds, "budget": b, "spread": ours[hi] - ours[lo], "high": hi,
                     "low": lo, "renderings": len(ours)}
                )  # fmt: skip
    return cells, spreads


def layout_summary(cells: list[dict[str, Any]], spreads: list[dict[str, Any]]) -> list[str]:
    """One line for the report's first section: wins / ties / losses and the worst spread."""
    if not cells:
        return []
    wins = sum(c["margin"] > TIE for c in cells)
    losses = sum(c["margin"] < -TIE for c in cells)
    clear_w = sum(c.get("lo", 0) > 0 for c in cells)
    clear_l = sum(c.get("hi", 0) < 0 for c in cells)
    ways = len({c["rendering"] for c in cells})
    line = (
        f"**Layouts** (section *Layouts*: the same items rendered {ways} ways, primary metric): "
        "against the best peer run on the same rendering, ours wins "
        f"{wins} of {len(cells)} cells ({clear_w} clearly), ties {len(cells) - wins - losses} and "
        f"loses {losses} ({clear_l} clearly)"
    )
    if spreads:
        w = max(spreads, key=lambda s: s["spread"])
        line += (
            f"; its worst spread across renderings is {w['spread']:.3f} "
            f"({NAMES.get(w['dataset'], w['dataset'])} {w['budget']}, target <= {SPREAD_TARGET})"
        )
    return [line + ".", ""]


def _spread_text(s: dict[str, Any]) -> str:
    """``0.250 (meta over title_line) miss``: the spread, the renderings at its ends."""
    ends = f" ({s['high']} over {s['low']})" if s["spread"] > TIE else ""
    return f"{s['spread']:.3f}{ends}" + (" miss" if s["spread"] > SPREAD_TARGET + 1e-9 else "")


def layout_lines(rows: list[dict[str, Any]], settings: dict[str, Any] | None = None) -> list[str]:
    """The "Layouts" section: one table per set (renderings x budgets) and ours' spread."""
    out = ["## Layouts (the same items, laid out the ways users' chunks arrive)", ""]
    cells, spreads = layout_cells(rows)
    if not cells:
        return out + ["Not measured in this run (no layout part).", ""]
    limit = (settings or {}).get("limit")
    shown = order({c["rendering"] for c in cells}, list(RENDERINGS))
    out += [
        "Each set's first items in the main run"
        + (f" (at most {limit})" if limit else "")
        + " in each rendering of `benchmarks/renderings.py`: "
        + "; ".join(f"`{r}` = {LOOKS[r]}" for r in shown if r in LOOKS)
        + ". "
        "Budgets are shares of each item's tokens as loaded, so every rendering has the same "
        "budgets. Metric: answer recall, or the share of gold text kept (`gold_text`) where the "
        "set has no short answers. Each cell: ours vs the best peer run on the same rendering "
        "(named), then ours minus it with its 95 % interval (paired bootstrap over items). "
        f"Targets (issue 23): ours >= the best peer in every cell, ours' spread across the "
        f"renderings <= {SPREAD_TARGET} in every set x budget; a cell that misses says `miss`.",
        "",
    ]
    for ds in order({c["dataset"] for c in cells}, DATASET_ORDER):
        mine = [c for c in cells if c["dataset"] == ds]
        budgets = order({c["budget"] for c in mine}, BUDGET_ORDER)
        at = {(c["rendering"], c["budget"]): c for c in mine}
        body = []
        for rend in order({c["rendering"] for c in mine}, list(RENDERINGS)):
            row = [f"`{rend}`"]
            for b in budgets:
                c = at.get((rend, b))
                row.append(
                    ""
                    if c is None
                    else f"{fmt(c['ours'])} vs {fmt(c['peer_value'])} `{c['peer']}`: "
                    + margin_text(c)
                )
            body.append(row)
        spread = {s["budget"]: s for s in spreads if s["dataset"] == ds}
        body.append(
            ["ours' spread"] + ["" if b not in spread else _spread_text(spread[b]) for b in budgets]
        )
        n = max((c.get("n", 0) for c in mine), default=0)
        out += [f"**{NAMES.get(ds, ds)}**, {metric_name(ds)} (n = {n} items scored a cell)", ""]
        out += table(["rendering", *budgets], body)
    return out
