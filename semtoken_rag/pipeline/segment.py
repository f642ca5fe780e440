"""Documents -> spans with exact character offsets.

The document's layout comes first (:func:`~semtoken_rag.pipeline.layout.read_layout`): headings
are context, not pieces; a paragraph's hard-wrapped lines are one logical line; list items, code
and table rows are units of their own. Each logical line is split into sentences at ``. ! ?`` (and
CJK ``。！？``) unless the period belongs to an abbreviation, an initial, a number, a URL or a file
name, so a sentence is never cut at a wrap; sentences longer than ``max_tokens`` are split at
clause boundaries (``; : ,`` and dashes), and as a last resort at white space (never at a
hyphenated line break) or a fixed width (at a grapheme boundary).
Every piece satisfies ``text[start:end] == piece`` and carries no surrounding white space; a piece
that ends at a clause cut leaves the mark out (shown alone, "the budget," would dangle).

Every path is linear in the text (the clause split ``O(n log n)``): sentence ends are found
without backtracking, the word before a period by a backward scan, and punctuation-only pieces
are absorbed in one pass, so runs such as ``". " * 20000``, rules and dot leaders cost
milliseconds (``tests/pipeline/test_pipeline_segment.py`` compares growth exponents).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import regex

from .layout import CODE, HEADING, TABLE, Layout, read_layout

ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt ft vs etc e.g i.e cf al approx dept est fig figs eq eqs no
    nos vol vols pp p ed eds inc ltd co corp bros jan feb mar apr jun jul aug sep sept oct nov
    dec mon tue wed thu fri sat sun gen col lt sgt capt cmdr adm gov sen rep rev hon pres u.s
    u.k u.n a.m p.m ph.d m.d b.a m.a d.c op ca c var sp spp ver viz resp
    """.split()  # noqa: SIM905
)

# A sentence end: terminal punctuation (with closing quotes/brackets), then white space (checked
# by the caller: a lookahead here would backtrack through a long run of marks, quadratic in it).
_SENT_END = re.compile(r"[.!?…]+[\"'”’)\]]*|[。！？]+[」』”’）)]*")
_CLAUSE = re.compile(r"(?:[;:]|,|\s[-–—]{1,2})(?=\s)")
_NON_SPACE = re.compile(r"\S")
_CLOSERS = frozenset("\"'”’)]")
_TERMINALS = frozenset(".!?…")
_WORDY = re.compile(r"[^\W_]")
_SPACES = re.compile(r"\s+")
_DASHES = "-–—"
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_GRAPHEME = regex.compile(r"\X")
_HYPHENS = "-‐\u00ad"


@dataclass(frozen=True)
class Piece:
    """A span candidate: ``start``/``end`` are offsets into the document, ``sentence`` numbers the
    sentence it belongs to (clause pieces of one sentence share it), ``line`` the layout block
    (a paragraph's logical line, a list item, a code line or a table row)."""

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
    raw = _word_before(text, line_start, end)
    word = raw.lower()
    if word.rstrip(".") in ABBREVIATIONS or word in ABBREVIATIONS:
        return True
    bare = word.rstrip(".")
    if len(bare) == 1 and bare.isalpha():  # an initial: "J. R. R. Tolkien"
        return True
    nxt = _next_char(text, end)
    parts = bare.split(".")
    if "." in bare and all(len(p) == 1 and p.isalpha() for p in parts) and raw[:1].isupper():
        return True  # initials: "T.S. Arthur", "J.R.R. Tolkien"
    if "." in bare and all(len(p) <= 2 for p in parts):  # "U.S.", "e.g"
        return bool(nxt) and not nxt.isupper()
    if text.startswith("  ", end):  # two spaces: the writer ended it ("translators.  man-db")
        return False
    # continuing lower case after a period is rarely a new sentence ("approx. three")
    return bool(nxt) and nxt.islower()


def _word_before(text: str, line_start: int, end: int) -> str:
    """The word a terminal mark ending at ``end`` follows: the run of word characters and periods
    before it, with the periods that open the mark (what ``_WORD_BEFORE`` matches at the end of
    ``text[line_start:end]``). A backward scan: each character is read a bounded number of times
    over the whole line, so a line of ``. . . .`` costs linear time."""
    q = end
    while q > line_start and text[q - 1] in _CLOSERS:
        q -= 1
    r = q
    while r > line_start and text[r - 1] in _TERMINALS:
        r -= 1
    if r > line_start and _is_word_char(text[r - 1]):
        s = r - 1
        while s > line_start and (_is_word_char(text[s - 1]) or text[s - 1] == "."):
            s -= 1
        k = r
    else:  # no word before the marks: the group is the first run of periods among them
        s = text.index(".", r, q)
        k = s
    while k < q and text[k] == ".":
        k += 1
    return text[s:k]


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _next_char(text: str, pos: int) -> str:
    """The first non-space character at or after ``pos`` ("" if none), without copying."""
    m = _NON_SPACE.search(text, pos)
    return m.group() if m else ""


def split_sentences(
    text: str, start: int = 0, end: int | None = None, body: int | None = None
) -> list[tuple[int, int]]:
    """Sentence offsets within ``text[start:end]`` (one logical line), stripped of white space;
    no sentence ends before ``body`` (a list item's bullet or number, "1.", stays with its text).

    Example:
        >>> text = "Dr. Smith paid $3.50 at example.com. He left at 5 p.m. today! Fine."
        >>> [text[a:b] for a, b in split_sentences(text)]
        ['Dr. Smith paid $3.50 at example.com.', 'He left at 5 p.m. today!', 'Fine.']
    """
    end = len(text) if end is None else end
    out: list[tuple[int, int]] = []
    cur = start
    first = start if body is None else body
    for m in _SENT_END.finditer(text, first, end):
        if m.end() <= cur or m.start() < first:
            continue
        if text[m.start()] in _TERMINALS and not (m.end() < end and text[m.end()].isspace()):
            continue  # ". ! ? …" end a sentence only before white space
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
    every piece has at most ``max_tokens`` tokens (or cannot be split further sensibly).

    A piece that ends at a clause cut does not keep the mark (",", ";", ":" or a dash): shown
    alone it would dangle. Each level costs time linear in its piece and the halves are
    balanced, so a sentence of ``n`` characters costs ``O(n log n)`` (an explicit stack, not
    recursion).

    Example:
        >>> text = "Ada wrote the notes, and Bob read them twice; then Cy slept."
        >>> [text[a:b] for a, b in split_clauses(text, 0, len(text), 6, lambda s: len(s.split()))]
        ['Ada wrote the notes', 'and Bob read them twice', 'then Cy slept.']
    """
    out: list[tuple[int, int]] = []
    todo = [(start, end)]
    while todo:
        a, b = todo.pop()
        pieces = _split_once(text, a, b, max_tokens, count)
        if pieces is None:
            out.append((a, b))
            continue
        if isinstance(pieces, list):
            out.extend(pieces)
            continue
        left, right = pieces
        for lo, hi in (right, left):  # the stack pops the left half first
            if hi > lo:
                todo.append((lo, hi))
    return out


def _split_once(
    text: str, start: int, end: int, max_tokens: int, count: Callable[[str], int]
) -> tuple[tuple[int, int], tuple[int, int]] | list[tuple[int, int]] | None:
    """One step of :func:`split_clauses`: ``None`` (keep whole), two halves to split further, or
    a list of final fixed-width pieces (a run without white space)."""
    if count(text[start:end]) <= max_tokens:
        return None
    # (end of the left piece, start of the right piece): a clause mark is in neither
    cuts = [(m.start(), m.end()) for m in _CLAUSE.finditer(text, start, end)]
    if not cuts:
        cuts = [
            (m.start(), m.start())
            for m in _SPACES.finditer(text, start, end)
            if not _hyphen_break(text, m.start(), m.end())
        ]
    cuts = [c for c in cuts if start + 8 <= c[1] <= end - 8]
    if not cuts:
        if end - start <= max_tokens * 8:
            return None
        step = max(max_tokens * 3, 16)  # no white space at all (e.g. a long id or CJK run)
        bounds = _grapheme_bounds(text, start, end, step)
        pieces = [_strip(text, a, b) for a, b in zip([start, *bounds], [*bounds, end])]
        return [(a, b) for a, b in pieces if b > a]
    mid = (start + end) / 2
    left_end, right_start = min(cuts, key=lambda c: abs(c[1] - mid))
    a, b = _strip(text, start, left_end)
    return _trim_dangling(text, a, b), _strip(text, right_start, end)


def _hyphen_break(text: str, start: int, end: int) -> bool:
    """Whether the white space ``text[start:end]`` is a hyphenated line break inside a word
    (``com-\\npression``): not a place to cut."""
    return (
        start >= 2
        and text[start - 1] in _HYPHENS
        and text[start - 2].isalpha()
        and "\n" in text[start:end]
        and end < len(text)
        and text[end].islower()
    )


def _grapheme_bounds(text: str, start: int, end: int, step: int) -> list[int]:
    """Cut points every ``step`` characters in ``text[start:end]``, each moved forward to the next
    grapheme-cluster boundary (a Thai vowel stays with its consonant, an emoji ZWJ sequence and a
    decomposed accent stay whole). Linear: each cluster is matched once."""
    bounds: list[int] = []
    target = start + step
    for m in _GRAPHEME.finditer(text, start, end):
        if m.end() >= target and m.end() < end:
            bounds.append(m.end())
            target = m.end() + step
    return bounds


def _trim_dangling(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` without trailing clause marks (``, ; :``, a dash after white space) and
    white space: what a piece ending at a clause cut must not show."""
    while end > start:
        ch = text[end - 1]
        if ch.isspace() or ch in ",;:":
            end -= 1
            continue
        if ch in _DASHES:
            k = end - 1
            while k > start and text[k - 1] in _DASHES:
                k -= 1
            if k == start or text[k - 1].isspace():
                end = k
                continue
        break
    return start, end


def segment(
    text: str,
    *,
    max_tokens: int = 40,
    count: Callable[[str], int] | None = None,
    clauses: bool = True,
    layout: Layout | None = None,
) -> list[Piece]:
    """Split one document into pieces with exact offsets.

    Args:
        text: The document.
        max_tokens: Sentences above this many tokens are split at clauses when ``clauses``.
        count: Token counter for the length test (default: a words-based estimate).
        clauses: Split long sentences at clause boundaries.
        layout: The document's layout (default: :func:`read_layout` of ``text``).

    Example:
        >>> doc = "Röntgen won the first prize. He received it\\nin 1901.\\n- item one\\n- item two"
        >>> [doc[p.start:p.end] for p in segment(doc)]
        ['Röntgen won the first prize.', 'He received it\\nin 1901.', '- item one', '- item two']
    """
    count = count or _estimate_tokens
    layout = layout if layout is not None else read_layout(text)
    pieces: list[Piece] = []
    sentence = 0
    for line_no, block in enumerate(layout.blocks):
        if block.kind == HEADING:
            continue
        a, b = block.start, block.end
        first = len(pieces)
        if block.kind in (CODE, TABLE):
            units = [_strip(text, a, b)]  # an indent of other white space (NBSP) is not the line's
        else:
            units = split_sentences(text, a, b, max(block.body, a))
        for s, e in units:
            parts = split_clauses(text, s, e, max_tokens, count) if clauses else [(s, e)]
            if not clauses and e - s > max_tokens * 40:  # never one unbounded span
                parts = split_clauses(text, s, e, max_tokens * 8, count)
            for ps, pe in parts:
                pieces.append(Piece(ps, pe, sentence, line_no))
            sentence += 1
        _absorb_punctuation(text, pieces, first)
    return pieces


def _absorb_punctuation(text: str, pieces: list[Piece], first: int) -> None:
    """Join pieces with no letter or digit (a stray ". ", a dash) to their neighbour on the line:
    alone they carry nothing to keep. A leading run joins the next piece; a line of nothing but
    punctuation becomes one piece. One pass, linear in the line (``pieces[first:]``)."""
    if len(pieces) - first <= 1:
        return
    line = pieces[first:]
    out: list[Piece] = []
    pending: int | None = None  # start of a leading run of pieces without a letter or digit
    for p in line:
        if _WORDY.search(text, p.start, p.end):
            if pending is not None:
                p = Piece(pending, p.end, p.sentence, p.line)
                pending = None
            out.append(p)
        elif out:  # into the previous piece (a clause mark of its own sentence is not kept)
            prev = out[-1]
            end = p.end
            if p.sentence == prev.sentence:
                end = max(prev.end, _trim_dangling(text, prev.start, end)[1])
            out[-1] = Piece(prev.start, end, prev.sentence, prev.line)
        elif pending is None:
            pending = p.start
    if pending is not None:  # nothing but punctuation on the line: one piece
        last = line[-1]
        out.append(Piece(pending, last.end, last.sentence, last.line))
    pieces[first:] = out


def _estimate_tokens(text: str) -> int:
    cjk = len(_CJK.findall(text))
    return len(text.split()) * 4 // 3 + cjk
