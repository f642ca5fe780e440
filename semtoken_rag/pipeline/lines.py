"""Lines -> what each line of a document is: the first pass of the layout stage.

Each line is classified by what it shows (a heading's markup, a bullet, a code fence, a table
row, a field, code), then in context: short lines without end punctuation above a paragraph are
headings, short lines repeated three times (page headers) and page numbers are boilerplate. Whether
a line break is a wrap (:func:`wrapped`) is decided from the line's width against the document's
wrap width (:func:`wrap_width`). Linear in the text: each line is read a bounded number of times.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from .score import STOPWORDS

TEXT, ITEM, CODE, TABLE, HEADING = "text", "item", "code", "table", "heading"
BLANK, MARKUP, BOILERPLATE = "blank", "markup", "boilerplate"
CONTENT_KINDS = frozenset({TEXT, ITEM, CODE, TABLE})

_FENCE = re.compile(r"[ \t]{0,3}(?:```|~~~)")
_ATX = re.compile(r"[ \t]{0,3}(#{1,6})(?:[ \t]+|$)")
_SETEXT = re.compile(r"[ \t]{0,3}(={2,}|-{2,})[ \t]*$")
_RULE = re.compile(r"[ \t]{0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
#: A reStructuredText adornment line ("=====" above or below a title).
_ADORNMENT = re.compile(r"[ \t]{0,3}([=~^])\1{2,}[ \t]*$")
#: A line that is all strong emphasis ("**Installation**"): HTML-to-Markdown converters' headings.
_BOLD = re.compile(r"[ \t]{0,3}(\*\*|__)(?=\S)(.+?)(?<=\S)\1[ \t]*$")
_TABLE_SEP = re.compile(r"[ \t]*\|?[ \t]*:?-{2,}:?[ \t]*(?:\|[ \t]*:?-{2,}:?[ \t]*)+\|?[ \t]*$")
_TABLE_ROW = re.compile(r"[ \t]*\|.*\|[ \t]*$")
_BULLET = re.compile(
    r"[ \t]*(?:[-*+•‣◦▪●∙]|\d{1,3}[.)]|[a-z][.)]|\([0-9a-zA-Z]{1,3}\))[ \t]+(?=\S)"
)
_NUMBERED_HEAD = re.compile(r"[ \t]*(?:\d{1,2}(?:\.\d{1,2})*\.?|[IVX]{1,5}\.)[ \t]+(?=\S)")
_TITLE_FIELD = re.compile(
    r"[ \t]*(title|subject|heading|topic|section|chapter)[ \t]*:[ \t]*(?=\S)", re.I
)
_FIELD = re.compile(r"[ \t]*[A-Z][\w.'’ -]{0,24}?:[ \t]+(?=\S)")
_PAGE = re.compile(r"[ \t]*(?:page[ \t]+)?\d{1,4}(?:[ \t]*(?:/|of)[ \t]*\d{1,4})?[ \t]*$", re.I)
_CODE_START = re.compile(
    r"[ \t]*(?:def |class |return\b|import |from \S+ import |elif |else:|try:|except\b|finally:|"
    r"var |let |const |function\b|public |private |#include|package |func |fn |\$ |>>> |// |/\*|"
    r"\*/|#!|@\w+\(|SELECT |INSERT |UPDATE |DELETE FROM )"
)
_CODE_END = re.compile(r".*(?:[{}]|[=()\]][^ \t]*;|=>|->|\):)[ \t]*$")
_COLUMNS = re.compile(r"\S(?: {4,}|\t)\S.*\S(?: {4,}|\t)\S|\S {8,}\S")
_ASSIGN = re.compile(r"[ \t]*[\w.\[\]\"'$]+[ \t]*(?:[-+*/%|&]?=|:=)[ \t]*\S")
_CALL = re.compile(r"[ \t]*[\w.$]+\(.*\)[ \t]*;?[ \t]*$")
_WORD = re.compile(r"\S+")
_INDENT = re.compile(r"[ \t]*")
_HYPHENS = "-‐\u00ad"
_TERMINAL = frozenset(".!?…。！？")
_CLOSERS = frozenset("\"'”’)]」』）")
_PUNCT = "\"'“”‘’()[]{},;:!?."
#: Words that make a short line a clause rather than a title: finite auxiliaries and copulas,
#: subject pronouns and their contractions.
# fmt: off
_CLAUSE_WORDS = frozenset((
    "is", "are", "was", "were", "am", "be", "been", "has", "have", "had", "do", "does", "did",
    "will", "would", "shall", "should", "can", "could", "may", "might", "must", "isn't",
    "aren't", "wasn't", "weren't", "hasn't", "haven't", "don't", "doesn't", "didn't", "won't",
    "can't", "i", "we", "you", "he", "she", "they", "it's", "i'm", "we're", "you're", "they're",
    "he's", "she's", "that's", "there's", "let's",
))
# fmt: on
_MAX_HEADING_WORDS = 12
_MAX_HEADING_CHARS = 100
_BOILERPLATE_REPEATS = 3
_BOILERPLATE_CHARS = 60
_WRAP_SHARE = 0.85  # a line this close to the wrap width (with the next word) was wrapped
_MIN_WRAP = 30  # below this width, lines are not wrapped prose (a list of short lines)


@dataclass
class Line:
    start: int  # first non-space character
    end: int  # after the last non-space character
    indent: int  # leading columns (a tab counts 4)
    kind: str = TEXT  # text, item, code, table, heading, markup, blank, boilerplate
    level: int = 0
    body: int = -1  # where a heading's or item's text starts (after its markup)


def read_lines(text: str) -> list[Line]:
    """Every line of ``text`` with its kind, in order (linear in the text).

    Example:
        >>> [ln.kind for ln in read_lines("Title\\nA body line.\\n- an item\\n\\n| a | b |")]
        ['heading', 'text', 'item', 'blank', 'table']
    """
    lines = _classify(text, _split(text))
    _mark_boilerplate(text, lines)
    _mark_headings(text, lines)
    return lines


def _split(text: str) -> list[Line]:
    out: list[Line] = []
    pos = 0
    for raw in text.splitlines(keepends=True):
        a, b = pos, pos + len(raw)
        pos = b
        s = _INDENT.match(text, a, b).end()  # type: ignore[union-attr]
        indent = s - a + 3 * text.count("\t", a, s)
        e = b
        while e > s and text[e - 1].isspace():
            e -= 1
        out.append(Line(s, e, indent, BLANK if e <= s else TEXT))
    return out


def _classify(text: str, lines: list[Line]) -> list[Line]:
    """Kinds that a line shows by itself (and code fences, which hold their lines)."""
    fenced = False
    seen = False  # a non-blank line came before
    for k, ln in enumerate(lines):
        if ln.kind == BLANK:
            continue
        first, seen = not seen, True
        s, e = ln.start, ln.end
        if _FENCE.match(text, s, e):
            ln.kind = MARKUP
            fenced = not fenced
            continue
        if fenced:
            ln.kind = CODE
            continue
        m = _ATX.match(text, s, e)
        if m:
            body = m.end()
            end = e
            while end > body and text[end - 1] in "# \t":
                end -= 1
            if end > body:
                ln.kind, ln.level, ln.body, ln.end = HEADING, len(m.group(1)), body, end
            else:
                ln.kind = MARKUP
            continue
        prev = lines[k - 1] if k else None
        setext = _SETEXT.match(text, s, e) and prev is not None and prev.kind == TEXT
        if setext and prev is not None and not _continues(lines, k - 1):
            prev.kind, prev.level, prev.body = HEADING, 1 if text[s] == "=" else 2, prev.start
            ln.kind = MARKUP
            continue
        if _RULE.match(text, s, e) or _TABLE_SEP.match(text, s, e) or _ADORNMENT.match(text, s, e):
            ln.kind = MARKUP
            continue
        m = _BOLD.match(text, s, e)
        if m and _heading_shaped(text, Line(m.start(2), m.end(2), 0)):
            ln.kind, ln.level, ln.body, ln.end = HEADING, 1 if first else 3, m.start(2), m.end(2)
            continue
        spaced = text.find("    ", s, e) >= 0 or text.find("\t", s, e) >= 0
        if _TABLE_ROW.match(text, s, e) or (spaced and _COLUMNS.search(text, s, e)):
            ln.kind = TABLE
            continue
        m = _TITLE_FIELD.match(text, s, e)
        if m and e - m.end() <= _MAX_HEADING_CHARS and not _ends_sentence(text, s, e):
            word = m.group(1).lower()
            ln.kind, ln.level, ln.body = HEADING, 1 if word in ("title", "subject") else 2, m.end()
            continue
        if _is_code(text, s, e):
            ln.kind = CODE
            continue
        m = _BULLET.match(text, s, e)
        numbered = m and text[s] not in "-*+•‣◦▪●∙"
        if (
            numbered
            and prev
            and prev.kind == TEXT
            and not _ends_sentence(text, prev.start, prev.end)
        ):
            continue  # "... exits with code\n0.  When": a wrapped line, not a numbered item
        if m or _FIELD.match(text, s, e):
            ln.kind, ln.body = ITEM, m.end() if m else s
    return lines


def _continues(lines: list[Line], k: int) -> bool:
    """Whether line ``k`` continues a paragraph begun on an earlier line (no blank between)."""
    return k > 0 and lines[k - 1].kind in (TEXT, ITEM)


def _is_code(text: str, s: int, e: int) -> bool:
    return bool(
        _CODE_START.match(text, s, e)
        or _CODE_END.match(text, s, e)
        or _ASSIGN.match(text, s, e)
        or _CALL.match(text, s, e)
    )


def _ends_sentence(text: str, s: int, e: int) -> bool:
    """Whether ``text[s:e]`` ends with terminal punctuation (closing quotes allowed) or a
    clause mark that leaves it open (``, ; :``)."""
    k = e
    while k > s and text[k - 1] in _CLOSERS:
        k -= 1
    return k > s and (text[k - 1] in _TERMINAL or text[k - 1] in ",;:")


def ends_terminal(text: str, s: int, e: int) -> bool:
    k = e
    while k > s and text[k - 1] in _CLOSERS:
        k -= 1
    return k > s and text[k - 1] in _TERMINAL


def wrap_width(lines: list[Line], text: str) -> int:
    """The document's wrap width: the upper quartile of the widths of the text lines that end
    mid-sentence (wrapped lines end anywhere in a sentence, near the width); the longest text
    line when fewer than two do."""
    cols = []
    longest = 0
    for ln in lines:
        if ln.kind in (TEXT, ITEM):
            w = ln.indent + ln.end - ln.start
            longest = max(longest, w)
            if not _ends_sentence(text, ln.start, ln.end):
                cols.append(w)
    if len(cols) < 2:
        return longest
    cols.sort()
    return cols[(3 * len(cols)) // 4]


def _first_word(text: str, ln: Line) -> int:
    m = _WORD.match(text, ln.start, ln.end)
    return m.end() - m.start() if m else 0


def fills(text: str, a: Line, b: Line, width: int) -> bool:
    """Whether line ``a`` is full: ``b``'s first word would not have fitted after it within the
    document's wrap width (the break was forced by the width, not chosen by the writer)."""
    room = a.indent + (a.end - a.start) + 1 + _first_word(text, b)
    return width >= _MIN_WRAP and room > _WRAP_SHARE * width


def wrapped(text: str, a: Line, b: Line, width: int, first: bool) -> bool:
    """Whether the break between adjacent lines ``a`` and ``b`` is a wrap (``first``: ``a``
    opens its block, so a first-line indent is allowed)."""
    if b.indent > a.indent + 1:  # a nested block (man pages' option text)
        return False
    if b.indent < a.indent - 1 and not first:  # a dedent ends the block
        return False
    last = text[a.end - 1]
    nxt = text[b.start]
    if last in _HYPHENS and a.end - 2 >= a.start and text[a.end - 2].isalpha() and nxt.islower():
        return True
    full = fills(text, a, b, width)
    if ends_terminal(text, a.start, a.end):
        return full
    return full or nxt.islower()


def _mark_headings(text: str, lines: list[Line]) -> None:
    """Short lines without end punctuation above a paragraph, and numbered section heads."""
    n = len(lines)
    width = wrap_width(lines, text)
    nxt = [-1] * n  # next non-blank line
    j = -1
    for k in range(n - 1, -1, -1):
        nxt[k] = j
        if lines[k].kind != BLANK:
            j = k
    prev_kind = BLANK
    prev_line: Line | None = None

    def _fills_next(k: int) -> bool:  # line k is wrapped into the next (a short last word)
        return nxt[k] == k + 1 and fills(text, lines[k], lines[k + 1], width)

    for k, ln in enumerate(lines):
        if ln.kind in (TEXT, ITEM) and _heading_shaped(text, ln):
            after = nxt[k]
            below = lines[after] if after >= 0 else None
            starts_block = prev_kind in (BLANK, MARKUP, HEADING) or (
                prev_line is not None
                and prev_kind in (TEXT, ITEM)
                and ends_terminal(text, prev_line.start, prev_line.end)
            )
            nested = below is not None and below.indent > ln.indent + 1
            # the document's first line above a line that does not continue it: a chunk's
            # title line, even in sentence case ("Sensory nervous system") or above a chunk
            # that starts mid-sentence ("Henry Moseley" / "him), and he was ...")
            lead = prev_line is None and below is not None and _lead_title(text, ln, below, width)
            if (
                starts_block
                and below is not None
                and below.kind in CONTENT_KINDS
                and (nested or not _short_line(text, below, width) or _fills_next(k=after))
                and (nested or lead or after > k + 1 or not text[below.start].islower())
                and (lead or after > k + 1 or not wrapped(text, ln, below, width, True))
                and (ln.kind == TEXT or _NUMBERED_HEAD.match(text, ln.start, ln.end))
                and (lead or _title_like(text, ln))
            ):
                numbered = _NUMBERED_HEAD.match(text, ln.start, ln.end)
                ln.kind, ln.body = HEADING, ln.start
                if numbered:
                    digits = numbered.group().strip().rstrip(".")
                    ln.level = 2 + digits.count(".")
                else:
                    ln.level = (1 if prev_line is None else 2) + (1 if ln.indent > 0 else 0)
        if ln.kind != BLANK:
            prev_kind, prev_line = ln.kind, ln
        else:
            prev_kind = BLANK


def _short_line(text: str, ln: Line, width: int) -> bool:
    """A heading-shaped text line that is not a full-width wrapped line."""
    if ln.kind not in (TEXT, ITEM) or not _heading_shaped(text, ln):
        return False
    return width < _MIN_WRAP or ln.indent + ln.end - ln.start <= _WRAP_SHARE * width


def _lead_title(text: str, ln: Line, below: Line, width: int) -> bool:
    """Whether a document's heading-shaped first line is its title: a noun phrase (no finite
    verb or subject pronoun of :data:`_CLAUSE_WORDS`, so "The launch code is alpha" stays text),
    not ending in a clause mark, and not a line the next one continues (it does not fill the
    wrap width with the next line's first word)."""
    if ln.kind != TEXT and not (ln.kind == ITEM and below.kind == TEXT):
        return False  # a numbered first line is a title only above a paragraph
    if text[ln.end - 1] in ",;" or fills(text, ln, below, width):
        return False
    words = (w.strip(_PUNCT).lower() for w in _WORD.findall(text, ln.start, ln.end))
    return not any(w in _CLAUSE_WORDS for w in words)


def _title_like(text: str, ln: Line) -> bool:
    """Whether a line reads as a title, not a short sentence without its period: at least half
    of its cased content words (stop words aside) are capitalised ("Nobel Prize in Physics",
    "DESCRIPTION", "Option styles"; not "The launch code is alpha")."""
    cased = [
        w
        for w in _WORD.findall(text, ln.start, ln.end)
        if w[0].isalpha() and w[0].lower() != w[0].upper() and w.lower() not in STOPWORDS
    ]
    return not cased or 2 * sum(w[0].isupper() for w in cased) >= len(cased)


def _heading_shaped(text: str, ln: Line) -> bool:
    s, e = ln.start, ln.end
    if e - s > _MAX_HEADING_CHARS or _ends_sentence(text, s, e):
        return False
    first = text[s]
    if first.islower() or not (first.isalnum() or first in "\"'“‘("):
        return False
    if text[e - 1] in _HYPHENS:
        return False
    if len(_WORD.findall(text, s, e)) > _MAX_HEADING_WORDS:
        return False
    return not (ln.kind == ITEM and _FIELD.match(text, s, e))


def _mark_boilerplate(text: str, lines: list[Line]) -> None:
    """In a document of at least 8 lines: page-number lines, and short lines repeated three or
    more times (page headers and footers)."""
    if sum(1 for ln in lines if ln.kind != BLANK) < 8:
        return
    counts: Counter[str] = Counter()
    for ln in lines:
        if ln.kind in (TEXT, ITEM) and ln.end - ln.start <= _BOILERPLATE_CHARS:
            counts[text[ln.start : ln.end]] += 1
    repeated = {
        text
        for text, c in counts.items()
        if c >= _BOILERPLATE_REPEATS
        and not text[0].islower()
        and not _ends_sentence(text, 0, len(text))
    }
    for ln in lines:
        if ln.kind in (TEXT, ITEM) and (
            text[ln.start : ln.end] in repeated or _PAGE.fullmatch(text, ln.start, ln.end)
        ):
            ln.kind = BOILERPLATE
