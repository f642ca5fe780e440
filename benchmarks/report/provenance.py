"""Where the method's numbers come from: the leave-one-data-set-out (LODO) table, read from an
optional JSON file, and the tuning table of ``SemTokenConfig().tuning`` (when the core has one).

The LODO file (``<results>/tuning/lodo.json``, written by the tuning run) is either a list of
entries or an object ``{"metric": ..., "command": ..., "held_out": [entries]}`` (``held_out`` may
also map a data set name to its entry). An entry::

    {"dataset": "hotpotqa",                        # the held-out set
     "config": {"fusion": "rrf", ...} or "name",   # chosen on the other sets
     "scores": {"4x": 0.71, "8x": 0.55, "16x": 0.40},  # on the held-out set
     "metric": "answer_recall"}                    # optional, else the file's

Other keys are ignored.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import textwrap
from pathlib import Path
from typing import Any

from .aggregate import NAMES
from .tables import fmt, table

LODO_BUDGETS = ("4x", "8x", "16x")


def _entries(data: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(entries, file-level fields) of a LODO file in either accepted shape."""
    if isinstance(data, list):
        return data, {}
    if not isinstance(data, dict) or "held_out" not in data:
        raise ValueError("expected a list of entries or an object with 'held_out'")
    held = data["held_out"]
    if isinstance(held, dict):
        held = [{"dataset": k, **v} for k, v in held.items()]
    return list(held), data


def _config(c: Any) -> str:
    if isinstance(c, dict):
        return ", ".join(f"`{k}={v!r}`" for k, v in c.items()) or "(default)"
    return f"`{c}`" if c else "(not given)"


def lodo_lines(path: Path, shown: str) -> list[str]:
    """The "LODO" section: per held-out set, the configuration chosen without it and its score
    at 4x / 8x / 16x, from the file at ``path`` (named ``shown`` in the text); one line saying so
    when the file does not exist or cannot be read."""
    out = ["## LODO (leave one data set out)", ""]
    if not path.is_file():
        return out + [f"Not available for this run (no `{shown}`).", ""]
    try:
        entries, head = _entries(json.loads(path.read_text(encoding="utf-8")))
        body = []
        for e in entries:
            ds = e["dataset"]
            scores = e.get("scores", {})
            metric = e.get("metric", head.get("metric", "score"))
            body.append(
                [
                    NAMES.get(ds, ds),
                    str(metric).replace("_", " "),
                    _config(e.get("config")),
                    *(fmt(scores.get(b)) for b in LODO_BUDGETS),
                ]
            )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        return out + [f"`{shown}` could not be read: {e}", ""]
    out += [
        "For each held-out set: the configuration chosen on the other sets alone, and its score "
        f"on the held-out set. From `{shown}`"
        + (f", made by `{head['command']}`" if head.get("command") else "")
        + ".",
        "",
    ]
    return out + table(["held-out set", "metric", "chosen configuration", *LODO_BUDGETS], body)


def field_docs(cls: type) -> dict[str, str]:
    """The docstring under each field of a dataclass (read from its source, base classes
    included), or its ``metadata["doc"]``; fields without either are absent."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__[:-1]):
        try:
            node = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0]
        except (OSError, TypeError, SyntaxError, IndexError):
            continue
        body = getattr(node, "body", [])
        for a, b in zip(body, body[1:], strict=False):
            if (
                isinstance(a, ast.AnnAssign)
                and isinstance(a.target, ast.Name)
                and isinstance(b, ast.Expr)
                and isinstance(b.value, ast.Constant)
                and isinstance(b.value.value, str)
            ):
                docs[a.target.id] = inspect.cleandoc(b.value.value)
    for f in dataclasses.fields(cls):
        if f.name not in docs and f.metadata.get("doc"):
            docs[f.name] = str(f.metadata["doc"])
    return docs


def _repr(value: Any) -> str:
    """``repr``, with sets sorted so the text does not depend on string hashing."""
    if isinstance(value, (set, frozenset)):
        inner = ", ".join(sorted(map(repr, value)))
        return f"{type(value).__name__}({{{inner}}})" if value else f"{type(value).__name__}()"
    return repr(value)


def tuning_rows(tuning: Any = None, prefix: str = "") -> list[dict[str, str]]:
    """``[{"name", "repr", "doc"}]`` for every field of the tuning table (``SemTokenConfig().
    tuning`` by default; nested dataclasses give dotted names); ``[]`` when the core has none."""
    if tuning is None and not prefix:
        from semtoken_rag import SemTokenConfig

        tuning = getattr(SemTokenConfig(), "tuning", None)
    if tuning is None or not dataclasses.is_dataclass(tuning) or isinstance(tuning, type):
        return []
    docs = field_docs(type(tuning))
    rows: list[dict[str, str]] = []
    for f in dataclasses.fields(tuning):
        value = getattr(tuning, f.name)
        name = prefix + f.name
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            rows += tuning_rows(value, prefix=name + ".")
        else:
            rows.append({"name": name, "repr": _repr(value), "doc": docs.get(f.name, "")})
    return rows


def _cell(text: str, limit: int | None = None) -> str:
    text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|")


def tuning_lines(meta: dict[str, Any]) -> list[str]:
    """The "Tuning table" section: each constant's name, value and docstring (unit, effect,
    provenance), as recorded by the run, else as the code holds it now; nothing when neither has
    a tuning table."""
    rows, source = meta.get("tuning"), "recorded by this run"
    if not rows:
        rows, source = (
            tuning_rows(),
            "read from the code at render time (the run did not record it)",
        )
    if not rows:
        return []
    out = [
        "## Tuning table",
        "",
        f"Every constant of `SemTokenConfig().tuning`, {source}: value, then its docstring "
        "(unit, effect, and the run that chose it).",
        "",
    ]
    body = [[f"`{r['name']}`", f"`{_cell(r['repr'], 60)}`", _cell(r["doc"])] for r in rows]
    return out + table(["name", "value", "unit, effect, provenance"], body)
