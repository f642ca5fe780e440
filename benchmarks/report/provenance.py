"""Where the method's constants come from: the tuning table of ``SemTokenConfig().tuning`` (when
the core has one), each field's value and the docstring under it (unit, effect, provenance)."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
from typing import Any

from .tables import table


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
