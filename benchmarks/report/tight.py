"""The tight-budget table (issue 24): fixed small budgets (24 / 48 / 96 tokens), ours and every
peer, and ours' margin over the best peer with its paired-bootstrap interval. Read from the run's
``tight`` part rows; each set on its primary metric (:func:`.layouts.primary`)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from ..methods import PEERS
from .aggregate import DATASET_ORDER, NAMES, order
from .layout_table import margin_text, metric_name, primary, versus
from .tables import fmt, table


def tight_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The "Tight budgets" section: per set and budget, ours, each peer, and the margin."""
    out = ["## Tight budgets (fixed, in tokens)", ""]
    values: dict[tuple[str, str], dict[str, dict[str, float]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for r in rows:
        if r.get("part") == "tight":
            v = r.get(primary(r["dataset"]))
            if v is not None:
                values[(r["dataset"], r["budget_label"])][r["method"]][r["item_id"]] = float(v)
    if not values:
        return out + ["Not measured in this run (no tight-budget part).", ""]
    peers = [p for p in PEERS if any(p in v for v in values.values())]
    body = []
    for ds in order({d for d, _ in values}, DATASET_ORDER):
        for b in sorted({bb for d, bb in values if d == ds}, key=int):
            cell = values[(ds, b)]

            def mean(m: str, cell: dict[str, dict[str, float]] = cell) -> str:
                return fmt(float(np.mean(list(cell[m].values())))) if cell.get(m) else ""

            c = versus(cell)
            margin = "" if c is None else f"{margin_text(c)} (`{c['peer']}`)"
            body.append([NAMES.get(ds, ds), metric_name(ds), b, mean("ours"),
                         *(mean(p) for p in peers), margin])  # fmt: skip
    out += [
        "The main run's items (title in metadata) at fixed budgets of cl100k tokens, where a "
        "whole-document ranker that keeps a prefix of the top document is hardest to beat. "
        "Metric: answer recall, or the share of gold text kept where the set has no short "
        "answers. Last column: ours minus the best peer of the row (named), with its 95 % "
        "interval (paired bootstrap over items). Target (issue 24): ours >= the best peer in "
        "every row; a row that misses says `miss`.",
        "",
    ]
    return out + table(
        ["data set", "metric", "budget", "ours", *peers, "ours - best peer [95 %]"], body
    )
