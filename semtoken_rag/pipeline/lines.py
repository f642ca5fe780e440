"""Lines -> what each line of a document shows by itself: the first pass of the layout stage.

Each line is classified by what it shows (a heading's markup, a bullet, a code fence, a table
row, a field, code); :mod:`.linemarks` then reads the lines in context (headings, boilerplate,
definition terms), and :mod:`.breaks` whether a line break is a wrap. Linear in the text: each
line is read a bounded number of times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TEXT, ITEM, CODE, TABLE, HEADING = "text", "item", "code", "table", "heading"
BLANK, MARKUP, BOILERPLATE = "blank", "markup", "boilerplate"
CONTENT_KINDS = frozenset({TEXT, ITEM, CODE, TABLE})

_FENCE = re.compile(r"[ \t]{0,3}(?:```|~~~)[`~]*")
_COMMENT = re.compile(r"[ \t]{0,3}<!--")  # an HTML comment in Markdown ("<!-- YAML", badges)
_ATX = re.compile(r"[ \t]{0,3}(#{1,6})(?:[ \t]+|$)")
#: A MediaWiki section heading ("== History ==", Wikipedia's wikitext): its level is the "=" count.
_WIKI = re.compile(r"[ \t]{0,3}(={2,6})[ \t]*([^=\s](?:.*[^=\s])?)[ \t]*\1[ \t]*$")
#: A setext underline, or reStructuredText's with "~" or "^" (at least as long as its title).
_SETEXT = re.compile(r"[ \t]{0,3}(={2,}|-{2,}|~{2,}|\^{2,})[ \t]*$")
_RULE = re.compile(r"[ \t]{0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
#: A reStructuredText adornment line ("=====" above or below a title).
_ADORNMENT = re.compile(r"[ \t]{0,3}([=~^])\1{2,}[ \t]*$")
#: A reStructuredText directive, link target or substitution (".. code:: python", ".. _install:").
_DIRECTIVE = re.compile(r"[ \t]*\.\.[ \t]+(?:[\w:+-]+::|_[^:]*:|\|[^|]+\|)")
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
#: An item that ends in one brace group ("- foo: {" opens a block, "* `x` {Object}" is a type).
_TYPED = re.compile(r"[^{}]*\{[^{}]*\}")
#: Quote marks ("> ", "> > "): the last one followed by white space or the line's end, so
#: ">>Read More" (a web page's link) stays text.
_QUOTE = re.compile(r"(?:>[ \t]?)*>(?:[ \t]|$)", re.M)
_INDENT = re.compile(r"[ \t]*")
_HYPHENS = "-‐\u00ad"
_TERMINAL = frozenset(".!?…。！？")
_CLOSERS = frozenset("\"'”’)]」』）")
_MAX_HEADING_WORDS = 12
_MAX_HEADING_CHARS = 100


@dataclass
class Line:
    start: int  # first non-space character
    end: int  # after the last non-space character
    indent: int  # leading columns (a tab counts 4)
    kind: str = TEXT  # text, item, code, table, heading, markup, blank, boilerplate
    level: int = 0
    body: int = -1  # where a heading's or item's text starts (after its markup)
    joined: bool = False  # continues the item above (a definition term stacked under another)
    quote: int = 0  # e-mail / Markdown quote depth (the number of ">" before the text)
    mark: int = -1  # where the quote marks start (-1: not quoted)


def split_lines(text: str) -> list[Line]:
    out: list[Line] = []
    pos = 0
    for raw in text.splitlines(keepends=True):
        a, b = pos, pos + len(raw)
        pos = b
        s = _INDENT.match(text, a, b).end()  # type: ignore[union-attr]
        indent = s - a + 3 * text.count("\t", a, s)
        q = None if text.startswith(">>>", s) else _QUOTE.match(text, s, b)  # not a REPL prompt
        mark, depth = (s, q.group().count(">")) if q else (-1, 0)
        if q:  # read the quoted text: its indent is what follows the marks' own space
            s = _INDENT.match(text, q.end(), b).end()  # type: ignore[union-attr]
            indent = s - q.end()
        e = b
        while e > s and text[e - 1].isspace():
            e -= 1
        out.append(Line(s, e, indent, BLANK if e <= s else TEXT, quote=depth, mark=mark))
    return out


def classify(text: str, lines: list[Line]) -> list[Line]:
    """Kinds that a line shows by itself (and code fences, which hold their lines)."""
    fenced = starts_in_code(text, lines)
    comment = _starts_in_comment(text, lines)  # inside an HTML comment: nothing a reader sees
    seen = False  # a non-blank line came before
    for k, ln in enumerate(lines):
        if ln.kind == BLANK:
            continue
        s, e = ln.start, ln.end
        opens = None if fenced or comment else _COMMENT.match(text, s, e)
        if comment or opens:
            ln.kind = MARKUP
            comment = text.find("-->", opens.end() if opens else s, e) < 0
            continue
        first, seen = not seen, True
        prev = lines[k - 1] if k else None
        c = text[s]
        if (
            c in "=-~^"
            and not fenced
            and prev is not None
            and prev.kind == TEXT
            and _underline(text, ln, prev)
            and not _continues(lines, k - 1)
        ):
            prev.kind, prev.level, prev.body = HEADING, 1 if c == "=" else 2, prev.start
            ln.kind = MARKUP
            continue
        if _FENCE.match(text, s, e):
            ln.kind = MARKUP
            fenced = not fenced
            continue
        if fenced:
            ln.kind = CODE
            continue
        m = _WIKI.match(text, s, e) if c == "=" else None
        if m:
            ln.kind, ln.level, ln.body, ln.end = HEADING, len(m.group(1)), m.start(2), m.end(2)
            continue
        m = _ATX.match(text, s, e)
        if m and ln.indent > 3:  # "    # a comment" in indented code
            ln.kind = CODE
            continue
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
        if (
            _RULE.match(text, s, e)
            or _TABLE_SEP.match(text, s, e)
            or _ADORNMENT.match(text, s, e)
            or (c == "." and _DIRECTIVE.match(text, s, e))
        ):
            ln.kind = MARKUP
            continue
        m = _BOLD.match(text, s, e)
        if m and heading_shaped(text, Line(m.start(2), m.end(2), 0)):
            ln.kind, ln.level, ln.body, ln.end = HEADING, 1 if first else 3, m.start(2), m.end(2)
            continue
        spaced = text.find("    ", s, e) >= 0 or text.find("\t", s, e) >= 0
        if _TABLE_ROW.match(text, s, e) or (spaced and _COLUMNS.search(text, s, e)):
            ln.kind = TABLE
            continue
        m = _TITLE_FIELD.match(text, s, e)
        if m and e - m.end() <= _MAX_HEADING_CHARS and not ends_sentence(text, s, e):
            word = m.group(1).lower()
            ln.kind, ln.level, ln.body = HEADING, 1 if word in ("title", "subject") else 2, m.end()
            continue
        m = _BULLET.match(text, s, e)
        typed = _TYPED.fullmatch(text, m.end(), e) if m else None  # "* `opts` {Object}": a type
        if _is_code(text, s, e) and not (typed and not _is_code(text, typed.pos, e - 1)):
            ln.kind = CODE
            continue
        numbered = m and text[s] not in "-*+•‣◦▪●∙"
        if (
            numbered
            and prev
            and prev.kind == TEXT
            and not ends_sentence(text, prev.start, prev.end)
        ):
            continue  # "... exits with code\n0.  When": a wrapped line, not a numbered item
        if m or _FIELD.match(text, s, e):
            ln.kind, ln.body = ITEM, m.end() if m else s
    return lines


def starts_in_code(text: str, lines: list[Line]) -> bool:
    """Whether the document begins inside a fenced code block: a splitter cut the block in two
    and the chunk holds its second half, so its first fence closes a block instead of opening
    one, and every fence after it is read the wrong way round (prose as code, code as prose).

    Read from the fences themselves: a fence with an info string ("```js") opens a block and
    never closes one (CommonMark), so the reading that makes fewer of them close wins; when the
    fences do not tell (all bare), the reading whose code blocks hold code and whose text holds
    prose wins, and the document starts outside a block when neither does. One pass.

    Example:
        >>> doc = "f(x)\\n```\\n\\nThe result goes to the caller.\\n\\n```python\\ng(y)\\n```"
        >>> starts_in_code(doc, split_lines(doc))
        True
        >>> doc = "Run this:\\n```\\nf(x)\\n```\\nIt returns the value of x."
        >>> starts_in_code(doc, split_lines(doc))
        False
    """
    inside = False  # as read from outside a block
    wrong = [0, 0]  # info-string fences that close a block: reading from outside, from inside
    lean = 0  # prose lines outside and code lines inside (reading from outside), minus the rest
    fences = 0
    above: Line | None = None
    for ln in lines:
        if ln.kind == BLANK:
            above = None
            continue
        m = _FENCE.match(text, ln.start, ln.end)
        if (
            m
            and not inside
            and above is not None
            and any(ch.isalnum() for ch in text[above.start : above.end])
            and _underline(text, ln, above)
        ):  # a title's underline (reStructuredText), as classify reads it
            m = None
        above = ln
        if m:
            fences += 1
            if text[m.end() : ln.end].strip():  # an info string: it opens
                wrong[0 if inside else 1] += 1
            inside = not inside
            continue
        if fences:  # lines above the first fence read the same way in both readings
            shows = _prose(text, ln.start, ln.end) - _is_code(text, ln.start, ln.end)
            lean += -shows if inside else shows
    if not fences:
        return False
    if wrong[0] != wrong[1]:
        return wrong[1] < wrong[0]
    return lean < 0


def _underline(text: str, ln: Line, above: Line) -> bool:
    """Whether ``ln`` has the shape of a setext or reStructuredText underline of ``above``: a
    ``~`` or ``^`` one at least as long as its title (not "Example" over "~~~", a fence)."""
    return bool(_SETEXT.match(text, ln.start, ln.end)) and (
        text[ln.start] in "=-" or ln.end - ln.start >= above.end - above.start
    )


def _starts_in_comment(text: str, lines: list[Line]) -> bool:
    """Whether the document begins inside an HTML comment (a splitter cut a Markdown file's
    ``<!-- YAML ... -->`` block in two): a line that is only ``-->`` comes before any line that
    opens a comment or a code fence.

    Example:
        >>> doc = "added: v0.1.90\\n-->\\n\\nReturns the value."
        >>> _starts_in_comment(doc, split_lines(doc))
        True
    """
    for ln in lines:
        if ln.kind == BLANK:
            continue
        if _COMMENT.match(text, ln.start, ln.end) or _FENCE.match(text, ln.start, ln.end):
            return False
        if text[ln.start : ln.end] == "-->":
            return True
    return False


_PROSE_WORD = re.compile(r"[^\W\d_]{2,}[.,;:!?]?(?=\s|$)")


def _prose(text: str, s: int, e: int) -> bool:
    """A line of running prose: at least five words, most of its tokens plain words, opening
    with a capital or ending a sentence (not a shell command, "apt install gcc make ...")."""
    words = text[s:e].split()
    plain = len(_PROSE_WORD.findall(text, s, e))
    return (
        plain >= 5
        and 2 * plain >= len(words) + 1
        and (text[s].isupper() or ends_sentence(text, s, e))
    )


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


def ends_sentence(text: str, s: int, e: int) -> bool:
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


def short_phrase(text: str, ln: Line) -> bool:
    """A line short enough to be a heading or a definition term, without end punctuation."""
    s, e = ln.start, ln.end
    return (
        e - s <= _MAX_HEADING_CHARS
        and not ends_sentence(text, s, e)
        and len(_WORD.findall(text, s, e)) <= _MAX_HEADING_WORDS
    )


def heading_shaped(text: str, ln: Line) -> bool:
    s, e = ln.start, ln.end
    first = text[s]
    if first.islower() or not (first.isalnum() or first in "\"'“‘("):
        return False
    if text[e - 1] in _HYPHENS or not short_phrase(text, ln):
        return False
    return not (ln.kind == ITEM and _FIELD.match(text, s, e))
