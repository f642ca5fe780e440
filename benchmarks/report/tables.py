"""Markdown table primitives and the per-data-set tables: data summary, metric tables by method and
budget, budget overruns, NQ answer recall by gold position."""

from __future__ import annotations

from typing import Any

import numpy as np

from .aggregate import NAMES, Agg, aggregate

#: The metric tables of each data set section, in order: (row key, title).
METRIC_TABLES = (
    ("answer_recall", "Answer recall"),
    ("answer_recall_any", "Answer recall, any (the simplest definition)"),
    ("evidence_recall", "Evidence recall"),
    ("ratio", "Achieved compression (input / kept tokens)"),
)
#: The count behind each metric's cells.
COUNT_KEY = {
    "answer_recall": "n_answer",
    "answer_recall_any": "n_answer_any",
    "evidence_recall": "n_evidence",
    "gold_text": "n_gold",
    "ratio": "n",
}


def fmt(x: float | None, nd: int = 3) -> str:
    """``x`` with ``nd`` decimals, or ``n/a``."""
    return "n/a" if x is None else f"{x:.{nd}f}"


def table(header: list[str], body: list[list[str]]) -> list[str]:
    """A Markdown table (and the blank line after it), one list item per line."""
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in body]
    return out + [""]


def data_lines(rows: list[dict[str, Any]], datasets: list[str]) -> list[str]:
    """The "Data" table: items, documents and input tokens per item, scorable answers."""
    body = []
    for ds in datasets:
        ref = [r for r in rows if r["dataset"] == ds]
        items = {r["item_id"] for r in ref}
        ndocs = np.mean([r["n_docs"] for r in ref])
        toks = np.mean([r["original_tokens"] for r in ref])
        n_ans = len({r["item_id"] for r in ref if r["answer_recall"] is not None})
        body.append([NAMES.get(ds, ds), str(len(items)), f"{ndocs:.1f}", f"{toks:.0f}", str(n_ans)])
    return table(
        [
            "data set",
            "items",
            "docs / item",
            "input tokens / item (cl100k)",
            "items with a scorable answer",
        ],
        body,
    )


def metric_lines(
    agg: Agg, ds: str, methods: list[str], budgets: list[str], metric: str, title: str
) -> list[str]:
    """One metric by method (rows) and budget (columns); nothing when no method has a value."""
    body = []
    for m in methods:
        cells = []
        for b in (["none"] if m == "none" else []) + budgets:
            if (ds, m, b) not in agg:
                continue
            cells.append((b, agg[(ds, m, b)][metric]))
        if all(v is None for _, v in cells):
            continue
        row = [m] + [fmt(dict(cells).get(b)) if b in dict(cells) else "" for b in budgets]
        if m == "none":
            row = [m] + [fmt(cells[0][1])] * len(budgets)
        body.append(row)
    if not body:
        return []
    n = max(a[COUNT_KEY[metric]] for (d, _, _), a in agg.items() if d == ds)
    return [
        f"**{title}** (n = {n} items per cell; `none` repeated across columns)",
        "",
        *table(["method", *budgets], body),
    ]


def overrun_lines(agg: Agg, ds: str, methods: list[str], budgets: list[str]) -> list[str]:
    """Items over budget before clipping (and mean tokens over), for methods that overran."""
    body = []
    for m in methods:
        cells = []
        for b in budgets:
            a = agg.get((ds, m, b))
            cells.append(
                ""
                if a is None
                else f"{a['overruns']}/{a['n']}"
                + (f" (+{a['overrun_mean']:.0f})" if a["overruns"] else "")
            )
        if any(c and not c.startswith("0/") for c in cells):
            body.append([m, *cells])
    out = ["**Budget overruns** (items over budget before clipping, mean tokens over)", ""]
    return out + (
        table(["method", *budgets], body) if body else ["No method exceeded a budget.", ""]
    )


def nq_position_lines(
    rows: list[dict[str, Any]], methods: list[str], budgets: list[str]
) -> list[str]:
    """NQ-20 answer recall with the gold passage first / middle / last."""
    out = ["**Answer recall by gold position** (first / middle / last)", ""]
    by = {
        p: aggregate(
            rows, lambda r, p=p: r["dataset"] == "nq" and r["meta"].get("gold_position") == p
        )
        for p in ("first", "middle", "last")
    }
    body = []
    for m in methods:
        cells = []
        for b in ["none"] if m == "none" else budgets:
            vals = [by[p].get(("nq", m, b), {}).get("answer_recall") for p in by]
            cells.append(" / ".join(fmt(v, 2) for v in vals))
        body.append([m, *(cells * len(budgets) if m == "none" else cells)])
    return out + table(["method", *budgets], body)


def dataset_lines(
    agg: Agg, rows: list[dict[str, Any]], ds: str, methods: list[str], budgets: list[str]
) -> list[str]:
    """The section of one data set: its metric tables, overruns, and (NQ) gold positions."""
    out = [f"## {NAMES.get(ds, ds)}", ""]
    for metric, title in METRIC_TABLES:
        out += metric_lines(agg, ds, methods, budgets, metric, title)
    out += overrun_lines(agg, ds, methods, budgets)
    if ds == "nq":
        out += nq_position_lines(rows, methods, budgets)
    return out
