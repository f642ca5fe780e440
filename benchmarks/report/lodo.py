"""The LODO (leave one data set out) section, read from an optional JSON file beside the results
(``<results>/tuning/lodo.json``, written by the tuning run). Accepted shapes:

- a list of entries, or ``{"metric": ..., "command": ..., "held_out": [entries]}`` (``held_out``
  may also map a data set name to its entry); one table;
- the tuning driver's state, ``{"results": {family: {criterion: {held_out_set: entry}}}}`` or
  ``{"results": {family: {held_out_set: entry}}}``; one table per family and criterion (other
  keys, such as the driver's full ``"table"``, are ignored).

An entry::

    {"dataset": "hotpotqa",                         # the held-out set (or the mapping's key)
     "config": {"fusion": "rrf", ...} or "name",    # chosen on the other sets alone
     "score": [0.71, 0.55, 0.40],                   # on the held-out set at 4x / 8x / 16x,
                                                    # or "scores": {"4x": 0.71, ...}
     "margin": [0.02, -0.01, 0.00],                 # optional: minus the best peer there
     "metric": "answer_recall"}                     # optional, else the file's
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .aggregate import NAMES
from .tables import fmt, table

LODO_BUDGETS = ("4x", "8x", "16x")
Block = tuple[str | None, list[dict[str, Any]]]  # (label, entries)


def _held_out(held: Any) -> list[dict[str, Any]]:
    if isinstance(held, dict):
        return [{"dataset": k, **v} for k, v in held.items() if isinstance(v, dict)]
    return list(held)


def _is_entry_map(d: Any) -> bool:
    """``{held_out_set: entry}``, each entry with a score."""
    return (
        isinstance(d, dict)
        and bool(d)
        and all(isinstance(v, dict) and ("score" in v or "scores" in v) for v in d.values())
    )


def blocks(data: Any) -> tuple[list[Block], dict[str, Any]]:
    """(labelled lists of entries, file-level fields) of a LODO file in any accepted shape."""
    if isinstance(data, list):
        return [(None, data)], {}
    if isinstance(data, dict) and "held_out" in data:
        return [(None, _held_out(data["held_out"]))], data
    if isinstance(data, dict) and isinstance(data.get("results"), dict):
        out: list[Block] = []
        for family, res in data["results"].items():
            if _is_entry_map(res):
                out.append((str(family), _held_out(res)))
            elif isinstance(res, dict):
                for crit, sub in res.items():
                    if _is_entry_map(sub):
                        out.append((f"{family}, chosen by {crit}", _held_out(sub)))
        if out:
            return out, data
    raise ValueError("expected entries, an object with 'held_out', or one with 'results'")


def _by_budget(v: Any) -> list[Any]:
    """A 4x / 8x / 16x list from a list in that order or a mapping keyed by budget label."""
    if isinstance(v, dict):
        return [v.get(b) for b in LODO_BUDGETS]
    v = list(v or [])
    return (v + [None] * len(LODO_BUDGETS))[: len(LODO_BUDGETS)]


def _config(c: Any) -> str:
    if isinstance(c, dict):
        return ", ".join(f"`{k}={v!r}`" for k, v in c.items()) or "(default)"
    return f"`{c}`" if c else "(not given)"


def _rows(entries: list[dict[str, Any]], metric: str) -> tuple[list[list[str]], bool]:
    has_margin = any("margin" in e for e in entries)
    body = []
    for e in entries:
        ds = e["dataset"]
        row = [
            NAMES.get(ds, ds),
            str(e.get("metric", metric)).replace("_", " "),
            _config(e.get("config")),
            *(fmt(x) for x in _by_budget(e.get("score", e.get("scores")))),
        ]
        if has_margin:
            row.append(
                " / ".join("n/a" if m is None else f"{m:+.3f}" for m in _by_budget(e.get("margin")))
            )
        body.append(row)
    return body, has_margin


def lodo_lines(path: Path, shown: str) -> list[str]:
    """The "LODO" section: per held-out set, the configuration chosen without it and its score
    at 4x / 8x / 16x, from the file at ``path`` (named ``shown`` in the text); one line saying so
    when the file does not exist or cannot be read."""
    out = ["## LODO (leave one data set out)", ""]
    if not path.is_file():
        return out + [f"Not available for this run (no `{shown}`).", ""]
    try:
        found, head = blocks(json.loads(path.read_text(encoding="utf-8")))
        metric = str(head.get("metric", "primary metric"))
        tables = []
        for label, entries in found:
            body, has_margin = _rows(entries, metric)
            header = ["held-out set", "metric", "chosen configuration", *LODO_BUDGETS]
            header += ["minus best peer (4x / 8x / 16x)"] if has_margin else []
            tables += ([f"**{label}**", ""] if label else []) + table(header, body)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        return out + [f"`{shown}` could not be read: {e}", ""]
    out += [
        "For each held-out set: the configuration chosen on the other sets alone, and its score "
        f"on the held-out set. From `{shown}`"
        + (f", made by `{head['command']}`" if head.get("command") else "")
        + ".",
        "",
    ]
    return out + tables
