"""Renderings: the same benchmark item laid out the ways users' chunks arrive.

Every loader gives documents as ``(body, {"title": title})``, one paragraph per line. A rendering
changes only where the title goes and how lines break; the query, the answers and the gold
evidence (its offsets remapped into the rendered text) stay the same:

- ``meta``: as loaded, the title in ``metadata["title"]`` (what a LlamaIndex node or a careful
  LangChain loader passes);
- ``title_line``: ``"Title\\nBody"`` and no metadata (a retriever's ``page_content``);
- ``markdown``: ``"# Title\\n\\nBody"`` and no metadata (a Markdown splitter's chunk);
- ``wrapped``: ``"Title\\n"`` + the body hard-wrapped at 78 columns (PDF, man page and e-mail
  text);
- ``pdf``: the title line, the body wrapped at 64 columns with long words hyphenated across line
  ends (``com-\\npression``), as PDF extraction gives.

Documents without a title keep their body in every rendering but ``wrapped`` and ``pdf``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

RENDERINGS = ("meta", "title_line", "markdown", "wrapped", "pdf")
#: The four renderings the layout table reports (``pdf`` is added where measured).
REPORTED = ("meta", "title_line", "markdown", "wrapped")

_RUN = re.compile(r"\S+|\s+")


def wrap(body: str, width: int = 78, hyphenate: bool = False) -> tuple[str, list[int]]:
    """``body`` hard-wrapped at ``width`` columns, with the old -> new offset map.

    Example:
        >>> wrap("aaa bbb ccc", 7)[0]
        'aaa bbb\\nccc'
        >>> wrap("alpha compression", 14, hyphenate=True)[0]
        'alpha compres-\\nsion'
    """
    out: list[str] = []
    where = [0] * (len(body) + 1)
    pos = 0
    base = 0
    for line in body.split("\n"):
        col = 0
        gap = ""
        gap_at = -1
        for m in _RUN.finditer(line):
            tok, old = m.group(), base + m.start()
            if tok.isspace():
                gap, gap_at = tok, old
                continue
            if col and col + 1 + len(tok) > width:
                room = width - col - 2
                if (
                    hyphenate
                    and len(tok) > 8
                    and tok.isalpha()
                    and room >= 4
                    and len(tok) - room >= 4
                ):
                    pos = _put(out, where, " ", gap, gap_at, pos)
                    for k in range(room):
                        where[old + k] = pos + k
                    out.append(tok[:room] + "-\n")
                    pos += room + 2
                    for k in range(room, len(tok)):
                        where[old + k] = pos + k - room
                    out.append(tok[room:])
                    pos += len(tok) - room
                    col, gap = len(tok) - room, ""
                    continue
                pos = _put(out, where, "\n", gap, gap_at, pos)
                col = 0
            elif gap:
                pos = _put(out, where, " " if col else gap, gap, gap_at, pos)
                col += 1 if col else len(gap)
            for k in range(len(tok)):
                where[old + k] = pos + k
            out.append(tok)
            pos += len(tok)
            col += len(tok)
            gap = ""
        if gap:  # trailing white space of the line
            pos = _put(out, where, gap, gap, gap_at, pos)
        base += len(line) + 1
        where[base - 1] = pos
        out.append("\n")
        pos += 1
    text = "".join(out)[:-1]
    where[len(body)] = len(text)
    return text, where


def _put(out: list[str], where: list[int], new: str, old: str, at: int, pos: int) -> int:
    """Write ``new`` in place of the white space ``old`` (at old offset ``at``); the new
    length."""
    for k in range(len(old)):
        where[at + k] = pos + min(k, len(new) - 1)
    out.append(new)
    return pos + len(new)


def _render_doc(
    text: str, title: str, rendering: str
) -> tuple[str, dict[str, Any], Callable[[int], int]]:
    """One document in a rendering: its text, metadata and the old -> new offset map."""
    if rendering == "meta":
        return text, {"title": title}, lambda i: i
    body, where = text, None
    if rendering in ("wrapped", "pdf"):
        body, where = wrap(text, 78 if rendering == "wrapped" else 64, rendering == "pdf")
    head = ""
    if title:
        head = f"# {title}\n\n" if rendering == "markdown" else f"{title}\n"
    shift = len(head)
    if where is None:
        return head + body, {}, lambda i: i + shift
    table = where
    return head + body, {}, lambda i: table[i] + shift


def render(item: dict[str, Any], rendering: str) -> dict[str, Any]:
    """A copy of ``item`` with its documents in ``rendering`` (evidence offsets remapped).

    Example:
        >>> it = {"id": "x", "dataset": "d", "query": "q", "answers": [], "meta": {},
        ...       "documents": [("Body one.", {"title": "T"})], "evidence": [(0, 0, 9)]}
        >>> r = render(it, "markdown")
        >>> r["documents"], [r["documents"][0][0][a:b] for _, a, b in r["evidence"]]
        ([('# T\\n\\nBody one.', {})], ['Body one.'])
    """
    if rendering not in RENDERINGS:
        raise ValueError(f"rendering must be one of {RENDERINGS}, got {rendering!r}")
    docs, maps = [], []
    for text, meta in item["documents"]:
        title = str((meta or {}).get("title") or "")
        new, new_meta, where = _render_doc(text, title, rendering)
        rest = {k: v for k, v in (meta or {}).items() if k != "title"}
        docs.append((new, {**rest, **new_meta}))
        maps.append(where)
    evidence = [(d, maps[d](a), maps[d](b)) for d, a, b in item["evidence"]]
    out = dict(item)
    out.update(documents=docs, evidence=evidence, rendering=rendering)
    return out
