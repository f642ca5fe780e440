"""Documents -> spans with exact character offsets.

Lines (lists, table rows, code) are respected first; each line is split into sentences at
``. ! ?`` (and CJK ``。！？``) unless the period belongs to an abbreviation, an initial, a number, a
URL or a file name; sentences longer than ``max_tokens`` are split at clause boundaries
(``; : ,`` and dashes), and as a last resort at white space or a fixed width.
Every piece satisfies ``text[start:end] == piece`` and carries no surrounding white space.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt ft vs etc e.g i.e cf al approx dept est fig figs eq eqs no
    nos vol vols pp p ed eds inc ltd co corp bros jan feb mar apr jun jul aug sep sept oct nov
    dec mon tue wed thu fri sat sun gen col lt sgt capt cmdr adm gov sen rep rev hon pres u.s
    u.k u.n a.m p.m ph.d m.d b.a m.a d.c op ca c var sp spp ver viz resp
    """.split()  # noqa: SIM905
)

# A sentence end: terminal punctuation (with closing quotes/brackets), then white space.
_SENT_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+)|[。！？]+[」』”’）)]*")
_CLAUSE = re.compile(r"(?:[;:]|,|\s[-–—]{1,2})(?=\s)")
_WORD_BEFORE = re.compile(r"([\w.]+)[.!?…]*[\"'”’)\]]*$")
_NON_SPACE = re.compile(r"\S")
_LOOK_BACK = 256  # chars searched for the word before a period (longer words: the whole line)
_WORDY = re.compile(r"[^\W_]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


@dataclass(frozen=True)
class Piece:
    """A span candidate: ``start``/``end`` are offsets into the document, ``sentence`` numbers the
    sentence it belongs to (clause pieces of one sentence share it), ``line`` the line."""

    start: int
    end: int
    sentence: int
    line: int


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _is_false_end(text: str, line_start: int, pos: int, end: int) -> bool:
    """Is the terminal punctuation ending at ``end`` (matched at ``pos``) not a sentence end?"""
    mark = text[pos]
    if mark != ".":
        return False
    # Search a window before the period, so a long line costs linear time, not quadratic; widen
    # it (doubling) while the match may reach further back: same result as searching the line.
    back = _LOOK_BACK
    while True:
        lo = max(line_start, pos - back)
        m = _WORD_BEFORE.search(text, lo, end)
        if lo == line_start or (m is not None and m.start() > lo):
            break
        back *= 2
    word = m.group(1).lower() if m else ""
    if word.rstrip(".") in ABBREVIATIONS or word in ABBREVIATIONS:
        return True
    bare = word.rstrip(".")
    if len(bare) == 1 and bare.isalpha():  # an initial: "J. R. R. Tolkien"
        return True
    nxt = _next_char(text, end)
    if "." in bare and all(len(p) <= 2 for p in bare.split(".")):  # "U.S.", "e.g"
        return bool(nxt) and not nxt.isupper()
    # continuing lower case after a period is rarely a new sentence ("approx. three")
    return bool(nxt) and nxt.islower()


def _next_char(text: str, pos: int) -> str:
    """The first non-space character at or after ``pos`` ("" if none), without copying."""
    m = _NON_SPACE.search(text, pos)
    return m.group() if m else ""


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence offsets within ``text[start:end]`` (one line), stripped of white space.

    Example:
        >>> t = "Dr. Smith paid $3.50 at example.com. He left at 5 p.m. today! Fine."
        >>> [t[a:b] for a, b in split_sentences(t)]
        ['Dr. Smith paid $3.50 at example.com.', 'He left at 5 p.m. today!', 'Fine.']
    """
    end = len(text) if end is None else end
    out: list[tuple[int, int]] = []
    cur = start
    for m in _SENT_END.finditer(text, start, end):
        if m.end() <= cur:
            continue
        if _is_false_end(text, start, m.start(), m.end()):
            continue
        a, b = _strip(text, cur, m.end())
        if b > a:
            out.append((a, b))
        cur = m.end()
    a, b = _strip(text, cur, end)
    if b > a:
        out.append((a, b))
    return out


def split_clauses(
    text: str, start: int, end: int, max_tokens: int, count: Callable[[str], int]
) -> list[tuple[int, int]]:
    """Split one long sentence at clause marks (balanced halves), then at white space, until
    every piece has at most ``max_tokens`` tokens (or cannot be split further sensibly)."""
    if count(text[start:end]) <= max_tokens:
        return [(start, end)]
    cuts = [m.end() for m in _CLAUSE.finditer(text, start, end)]
    if not cuts:
        cuts = [m.start() for m in re.finditer(r"\s+", text[start:end])]
        cuts = [start + c for c in cuts]
    cuts = [c for c in cuts if start + 8 <= c <= end - 8]
    if not cuts:
        if end - start <= max_tokens * 8:
            return [(start, end)]
        step = max(max_tokens * 3, 16)  # no white space at all (e.g. a long id or CJK run)
        cuts = list(range(start + step, end, step))
        pieces = [_strip(text, a, b) for a, b in zip([start, *cuts], [*cuts, end])]
        return [(a, b) for a, b in pieces if b > a]
    mid = (start + end) / 2
    cut = min(cuts, key=lambda c: abs(c - mid))
    left = _strip(text, start, cut)
    right = _strip(text, cut, end)
    out: list[tuple[int, int]] = []
    for a, b in (left, right):
        if b > a:
            out.extend(split_clauses(text, a, b, max_tokens, count))
    return out


def segment(
    text: str,
    *,
    max_tokens: int = 40,
    count: Callable[[str], int] | None = None,
    clauses: bool = True,
) -> list[Piece]:
    """Split one document into pieces with exact offsets.

    Args:
        text: The document.
        max_tokens: Sentences above this many tokens are split at clauses when ``clauses``.
        count: Token counter for the length test (default: a words-based estimate).
        clauses: Split long sentences at clause boundaries.

    Example:
        >>> doc = "Röntgen won the first prize. He received it in 1901.\\n- item one\\n- item two"
        >>> [doc[p.start:p.end] for p in segment(doc)]
        ['Röntgen won the first prize.', 'He received it in 1901.', '- item one', '- item two']
    """
    count = count or _estimate_tokens
    pieces: list[Piece] = []
    sentence = 0
    line_no = 0
    pos = 0
    for line in text.splitlines(keepends=True):
        a, b = pos, pos + len(line)
        pos = b
        a, b = _strip(text, a, b)
        if b <= a:
            continue
        first = len(pieces)
        for s, e in split_sentences(text, a, b):
            parts = split_clauses(text, s, e, max_tokens, count) if clauses else [(s, e)]
            if not clauses and e - s > max_tokens * 40:  # never one unbounded span
                parts = split_clauses(text, s, e, max_tokens * 8, count)
            for ps, pe in parts:
                pieces.append(Piece(ps, pe, sentence, line_no))
            sentence += 1
        _absorb_punctuation(text, pieces, first)
        line_no += 1
    return pieces


def _absorb_punctuation(text: str, pieces: list[Piece], first: int) -> None:
    """Join pieces with no letter or digit (a stray ". ", a dash) to their neighbour on the line:
    alone they carry nothing to keep."""
    k = first
    while k < len(pieces) and len(pieces) - first > 1:
        p = pieces[k]
        if _WORDY.search(text, p.start, p.end):
            k += 1
            continue
        if k > first:  # into the previous piece
            prev = pieces[k - 1]
            pieces[k - 1] = Piece(prev.start, p.end, prev.sentence, prev.line)
        else:  # the line starts with it: into the next piece
            nxt = pieces[k + 1]
            pieces[k + 1] = Piece(p.start, nxt.end, nxt.sentence, nxt.line)
        del pieces[k]


def _estimate_tokens(text: str) -> int:
    cjk = len(_CJK.findall(text))
    return len(text.split()) * 4 // 3 + cjk
