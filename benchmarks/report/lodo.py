"""The LODO (leave one data set out) section, read from the file the layout-aware tuning harness
writes (``python -m benchmarks.tuning.layouts lodo``, :func:`benchmarks.tuning.layouts.lodo`):
``<results>/tuning/layouts/lodo-4x-8x-16x.json``. Its shape::

    [{"held_out": "hotpotqa",
      "mean":  {"variant": "ours:default",                 # chosen on the other sets alone
                "cells":   {"title_line": [0.71, 0.55, 0.40], ...},   # held-out score per
                "margins": {"title_line": [0.02, -0.01, 0.0], ...}},  # rendering, 4x / 8x / 16x
      "worst": {...}},                                     # chosen by the worst margin instead
     ...]

A cell is the held-out set's primary metric (answer recall; the share of gold text kept for the
sets without short answers); a margin is the cell minus the best peer run on the same rendering.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .aggregate import NAMES
from .tables import fmt, table

LODO_BUDGETS = ("4x", "8x", "16x")
CRITERIA = {
    "mean": "the mean over every rendering x budget cell of the other sets",
    "worst": "the worst margin over the best peer in those cells",
}
GOLD_TEXT_SETS = ("clapnq", "qmsum")  # as benchmarks.tuning.layouts.GOLD_TEXT_SETS
COMMAND = "python -m benchmarks.tuning.layouts lodo"
LODO_FILE = "lodo-4x-8x-16x.json"


def _number(x: Any, signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:+.3f}" if signed else fmt(float(x))


def _by_budget(v: Any) -> list[Any]:
    v = list(v or [])
    return (v + [None] * len(LODO_BUDGETS))[: len(LODO_BUDGETS)]


def _rows(entries: list[dict[str, Any]], criterion: str) -> list[list[str]]:
    """One row per held-out set and rendering (the set and its variant on its first row)."""
    body = []
    for entry in entries:
        held = str(entry["held_out"])
        chosen = entry[criterion]
        cells, margins = chosen["cells"], chosen.get("margins", {})
        metric = "gold text kept" if held in GOLD_TEXT_SETS else "answer recall"
        for k, rendering in enumerate(cells):
            first = k == 0
            body.append(
                [
                    NAMES.get(held, held) if first else "",
                    metric if first else "",
                    f"`{chosen['variant']}`" if first else "",
                    f"`{rendering}`",
                    *(_number(x) for x in _by_budget(cells[rendering])),
                    " / ".join(_number(m, True) for m in _by_budget(margins.get(rendering))),
                ]
            )
    return body


def lodo_lines(path: Path, shown: str) -> list[str]:
    """The "LODO" section: per criterion, per held-out set, the variant chosen without it and its
    held-out cells and margins in each rendering, from the file at ``path`` (named ``shown`` in
    the text); one line saying so when the file does not exist or cannot be read."""
    out = ["## LODO (leave one data set out)", ""]
    if not path.is_file():
        return out + [f"Not available for this run (no `{shown}`).", ""]
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(entries, list):
            raise ValueError("expected a list of held-out sets")
        tables: list[str] = []
        header = ["held-out set", "metric", "chosen variant", "rendering", *LODO_BUDGETS]
        header.append("minus best peer (4x / 8x / 16x)")
        for criterion, how in CRITERIA.items():
            body = _rows([e for e in entries if criterion in e], criterion)
            if body:
                tables += [f"**Chosen by {how}**", ""] + table(header, body)
        if not tables:
            raise ValueError("no held-out set has a chosen variant")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        return out + [f"`{shown}` could not be read: {e}", ""]
    out += [
        "For each held-out set: the variant of ours chosen on the other sets alone, over every "
        "rendering and budget, and its score on the held-out set in each rendering, with its "
        "margin over the best peer run on the same rendering: a choice is a result only when it "
        f"holds on a set and layouts it never saw. From `{shown}`, made by `{COMMAND}`.",
        "",
    ]
    return out + tables
