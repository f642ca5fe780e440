"""Documents -> layout: the blocks a reader sees before reading any sentence.

One linear pass over a document's lines (a pure function of the text) finds:

- **paragraphs**, with the hard-wrapped lines inside one joined into one logical line, so a
  sentence is never cut at a wrap (PDF, man page and e-mail text; a hyphenated line end such as
  ``com-\\npression`` or man's ``equiva‐\\nlent`` is a join too). A block is a character range of
  the document, line breaks included: offsets stay exact;
- **headings**: Markdown ATX (``# Title``) and setext (``Title`` over ``=====``), ``Title:``-style
  fields, numbered section heads (``2.1 Results``) and a short line without end punctuation above
  a paragraph (a retriever's ``"Title\\nBody"``, a man page's ``DESCRIPTION``), or a term set
  apart by blank lines above an indented paragraph (an HTML definition list as text). A heading is
  *context* for the blocks under it (the title of what follows), not content;
- **line units** that are never joined: list items (with their wrapped continuation lines),
  code (fenced, or code-like lines), table rows and ``Key: value`` fields; a definition term
  (a man page's ``-k --keep``) is an item that its more indented definition joins;
- **markup** (code fences, rules, setext and reStructuredText underlines, reStructuredText
  directives, table separator rows) and **boilerplate**
  (a short line repeated three or more times, such as a page header, and page-number lines):
  neither content nor context.

When a line break is a wrap: the next line starts in lower case, or its first word would not have
fit on the line before (that line's width is near the document's wrap width, the upper quartile
of the lines that end mid-sentence). A short line followed by a capitalised one is a deliberate
break (an address, a list without bullets), unless it is where an HTML-to-text converter put an
inline element on its own line (a space before the break, mid-sentence). Lines are read by
:mod:`.lines` (each alone) and :mod:`.linemarks` (in context).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from ..types import Document
from .breaks import fills, inline_break, wrap_width, wrapped
from .linemarks import read_lines, under_item
from .lines import (
    BLANK,
    BOILERPLATE,
    CODE,
    CONTENT_KINDS,
    HEADING,
    ITEM,
    MARKUP,
    TABLE,
    TEXT,
    Line,
    ends_terminal,
)

__all__ = ["CODE", "CONTENT_KINDS", "HEADING", "ITEM", "TABLE", "TEXT", "Block", "Layout"]


@dataclass(frozen=True)
class Block:
    """One unit of a document's layout: a character range (line breaks included) and its kind.

    Attributes:
        start: Offset of the first character (no leading white space or heading markup).
        end: Offset after the last character (no trailing white space or markup).
        kind: ``text`` (a paragraph's logical line), ``item`` (a list item or field), ``code``
            (one line), ``table`` (one row) or ``heading``.
        level: Heading level, 1 the highest (0 for content).
        heading: Index in :attr:`Layout.blocks` of the heading this block is under (-1: none).
        body: Where a list item's text starts, after its bullet or number (``start`` otherwise).
    """

    start: int
    end: int
    kind: str
    level: int = 0
    heading: int = -1
    body: int = -1


@dataclass(frozen=True)
class Layout:
    """A document's blocks in reading order, and which heading titles the whole document.

    Attributes:
        blocks: Headings and content blocks (markup and boilerplate are left out).
        title: Index of the heading that titles the whole document (-1: none): the first heading,
            when it comes before any content and no other heading is of a higher level.
        skipped: Character ranges inside a content block that are not its text: boilerplate
            lines (line break included: a page's number and running header where a paragraph
            goes on over a page break) and the quote marks (``> ``) of a quoted paragraph's
            lines after its first. Spans keep them (exact offsets); :func:`shown` leaves them
            out.
    """

    blocks: tuple[Block, ...]
    title: int = -1
    skipped: tuple[tuple[int, int], ...] = ()

    def content(self) -> list[Block]:
        """The blocks that hold content (everything but headings), in order."""
        return [b for b in self.blocks if b.kind in CONTENT_KINDS]

    def context(self, text: str, block: Block) -> str:
        """The headings above ``block`` (outermost first, the document's title included),
        joined by a space: what serves as its title.

        Example:
            >>> doc = "# Guide\\n\\n## Install\\n\\nRun pip."
            >>> lay = read_layout(doc)
            >>> lay.context(doc, lay.content()[0])
            'Guide Install'
        """
        chain: list[str] = []
        i = block.heading
        level = block.level if block.kind == HEADING else 99
        while i >= 0:
            h = self.blocks[i]
            if h.level < level:
                chain.append(text[h.start : h.end])
                level = h.level
            i = _previous_heading(self.blocks, i)
        if self.title >= 0 and (block.heading < 0 or not chain):
            chain.append(text[self.blocks[self.title].start : self.blocks[self.title].end])
        return " ".join(reversed(chain))

    def title_text(self, text: str) -> str:
        """The document's own title ("" for none)."""
        if self.title < 0:
            return ""
        b = self.blocks[self.title]
        return text[b.start : b.end]


def _previous_heading(blocks: tuple[Block, ...], i: int) -> int:
    for j in range(i - 1, -1, -1):
        if blocks[j].kind == HEADING:
            return j
    return -1


def read_layout(text: str) -> Layout:
    """The blocks of one document, in reading order (linear in the text).

    Example:
        >>> doc = ("Röntgen\\nWilhelm Röntgen was a German physicist who received the first\\n"
        ...        "Nobel Prize in Physics. He discovered X-rays.\\n- one")
        >>> lay = read_layout(doc)
        >>> [(b.kind, doc[b.start:b.end]) for b in lay.blocks]  # doctest: +NORMALIZE_WHITESPACE
        [('heading', 'Röntgen'),
         ('text', 'Wilhelm Röntgen was a German physicist who received the first\\nNobel Prize
                   in Physics. He discovered X-rays.'),
         ('item', '- one')]
        >>> lay.title_text(doc)
        'Röntgen'
    """
    if len(text) <= _MEMO_CHARS:
        return _memo_layout(text)
    return _blocks(text, read_lines(text))


_MEMO_CHARS = 200_000  # chunk-sized texts are read once per process (fingerprints and table)


@lru_cache(maxsize=1 << 13)
def _memo_layout(text: str) -> Layout:
    return _blocks(text, read_lines(text))


def _blocks(text: str, lines: list[Line]) -> Layout:
    width = wrap_width(lines, text)
    blocks: list[Block] = []
    heading = -1
    title = -1
    seen_content = False
    cur: list[int] | None = None  # [start, end, body] of the open block
    cur_kind = ""
    cur_line: Line | None = None
    cur_first = True
    cur_indent = 0  # the indent of the open block's first line (an item's bullet)
    skip: list[tuple[int, int]] = []  # boilerplate lines and quote marks inside the open block

    def extend(block: list[int], ln: Line) -> None:  # line ``ln`` goes on the open block
        nonlocal cur_line, cur_first
        block[1] = ln.end
        cur_line = ln
        cur_first = False
        if ln.mark >= 0:  # a quoted line's marks inside the block are not text
            skip.append((ln.mark, ln.start))

    def close() -> None:
        nonlocal cur, seen_content
        if cur is not None:
            blocks.append(Block(cur[0], cur[1], cur_kind, 0, heading, cur[2]))
            seen_content = True
            cur = None

    for ln in lines:
        kind = ln.kind
        if kind in (BLANK, MARKUP, BOILERPLATE):
            if kind != BOILERPLATE:
                close()
            elif cur is not None:  # kept only if the open block goes on below it
                nl = text.find("\n", ln.end)
                skip.append((ln.start, len(text) if nl < 0 else nl + 1))
            continue
        if kind == HEADING:
            close()
            blocks.append(Block(ln.body, ln.end, HEADING, ln.level, -1))
            heading = len(blocks) - 1
            if not seen_content and title < 0:
                title = heading
            continue
        if (
            kind == CODE
            and cur is not None
            and cur_line is not None
            and not ends_terminal(text, cur_line.start, cur_line.end)
            and (
                (
                    cur_kind == TEXT
                    and (fills(text, cur_line, ln, width) or inline_break(text, cur_line, ln))
                    and wrapped(text, cur_line, ln, width, cur_first)
                )
                or under_item(cur_kind, cur_indent, cur_line, ln)
            )
        ):  # a line that looks like code ("return for her second season", "(1986);", '"v"}')
            # right after a full text line that breaks mid-sentence is that sentence's rest, and
            # so is one indented under a list item whose sentence goes on ("`.python-version`
            # file with the [`pyenv local`](https://...)")
            extend(cur, ln)
            continue
        if kind in (CODE, TABLE):
            close()
            blocks.append(Block(ln.start, ln.end, kind, 0, heading))
            seen_content = True
            continue
        if (
            cur is not None
            and cur_line is not None
            and kind == TEXT
            and _joins(text, cur_kind, cur_indent, cur_line, ln, width, cur_first)
        ):
            extend(cur, ln)
            continue
        close()
        cur = [ln.start, ln.end, ln.body if kind == ITEM else ln.start]
        cur_kind = ITEM if kind == ITEM else TEXT
        cur_line = ln
        cur_first = True
        cur_indent = ln.indent
    close()
    if not seen_content and blocks:  # only headings ("# A line of a web page"): they are the text
        return Layout(
            tuple(replace(b, kind=TEXT, level=0, heading=-1, body=b.start) for b in blocks), -1
        )
    if title >= 0:
        top = blocks[title].level
        if any(b.kind == HEADING and b.level < top for b in blocks):
            title = -1
    return Layout(tuple(blocks), title, _inside(skip, blocks))


def _inside(ranges: list[tuple[int, int]], blocks: list[Block]) -> tuple[tuple[int, int], ...]:
    """The ``ranges`` (sorted) that lie inside a block: one pass over both."""
    out = []
    j = 0
    for a, z in ranges:
        while j < len(blocks) and blocks[j].end < z:
            j += 1
        if j < len(blocks) and blocks[j].start < a:
            out.append((a, z))
    return tuple(out)


def shown(text: str, layout: Layout, start: int, end: int) -> str:
    """What a reader is given of the span ``text[start:end]``: :func:`reflow`-ed, with what
    :attr:`Layout.skipped` holds inside it left out (a page's number and running header where
    the paragraph goes on over a page break, a quoted paragraph's marks). A span with neither
    and no line break is given as it is.

    Example:
        >>> doc = "ACME Report\\n" + "A line of text that ends.\\n" * 6 + "It goes on\\n"
        >>> doc += "7\\nACME Report\\nover the page. Then more.\\nACME Report\\n"
        >>> lay = read_layout(doc)
        >>> a = doc.index("It goes"); b = doc.index("page.") + 5
        >>> shown(doc, lay, a, b)
        'It goes on over the page.'
    """
    skipped = layout.skipped
    k = bisect.bisect_left(skipped, (start, -1))  # sorted: the first at or past ``start``
    cut = []
    while k < len(skipped) and skipped[k][1] <= end:
        cut.append(skipped[k])
        k += 1
    if not cut:
        return reflow(text[start:end])
    parts, pos = [], start
    for a, z in cut:
        parts.append(text[pos:a])
        pos = z
    parts.append(text[pos:end])
    return reflow("".join(parts))


def _joins(
    text: str, cur_kind: str, indent: int, a: Line, b: Line, width: int, first: bool
) -> bool:
    """Whether text line ``b`` continues the open block whose last line is ``a`` and whose
    first line has ``indent``."""
    if b.joined or under_item(cur_kind, indent, a, b):
        return True
    return wrapped(text, a, b, width, first) or inline_break(text, a, b)


def _same_title(a: str, b: str) -> bool:
    """Whether two titles say the same (case, punctuation and spacing aside)."""
    na = " ".join(re.sub(r"[^\w]+", " ", a.casefold()).split())
    nb = " ".join(re.sub(r"[^\w]+", " ", b.casefold()).split())
    return bool(na) and na == nb


def as_read(doc: Document, layout: Layout) -> Document:
    """``doc`` as the encoder reads it: titled by its metadata title, else by the heading at its
    top; ``context_end`` past that heading when it titles the document (or repeats the metadata
    title), so the title is read once, as context, and never paid as a span.

    Example:
        >>> d = Document("Röntgen\\nHe discovered X-rays. He won a prize.")
        >>> r = as_read(d, read_layout(d.text))
        >>> r.title, r.context_end
        ('Röntgen', 7)
    """
    own = layout.title_text(doc.text)
    if not own:
        return doc
    end = layout.blocks[layout.title].end
    line_end = doc.text.find("\n", end)
    rest = doc.text[end : len(doc.text) if line_end < 0 else line_end]
    end += len(rest.rstrip())  # the title line's closing markup ("**", "##") is not text either
    if not doc.title:
        return replace(doc, title=own, context_end=end)
    if _same_title(doc.title, own):
        return replace(doc, context_end=end)
    return doc


def contexts(doc: Document, layout: Layout, starts: Sequence[int]) -> list[str]:
    """The title of each span starting at ``starts``: the document's title (metadata, else its
    own top heading) and the headings above the span, outermost first.

    Example:
        >>> d = Document("# Guide\\n\\n## Install\\n\\nRun pip.\\n\\n## Use\\n\\nCall it.")
        >>> contexts(d, read_layout(d.text), [22, 41])
        ['Guide Install', 'Guide Use']
    """
    text = doc.text
    blocks = layout.blocks
    own = layout.title_text(text)
    given = doc.title if doc.title and not _same_title(doc.title, own) else ""
    firsts = [b.start for b in blocks]
    memo: dict[int, str] = {}
    out: list[str] = []
    for a in starts:
        k = bisect.bisect_right(firsts, a) - 1
        if k not in memo:
            ctx = layout.context(text, blocks[k]) if k >= 0 else own
            memo[k] = f"{given} {ctx}".strip() if given else ctx
        out.append(memo[k])
    return out


_WRAP = re.compile(r"([\u2010\u00ad]?)[ \t]*\r?\n[ \t]*")


def reflow(text: str) -> str:
    """``text`` (one span: a paragraph's logical line, never across paragraphs) with each line
    break and its indentation as one space, and a word that a hyphenation mark (U+2010, a soft
    hyphen) splits across the break joined again. An ASCII hyphen at a break is kept (it may be
    a compound's), the break still removed.

    Example:
        >>> reflow("A German\\n   physicist, prin\u2010\\ncipal author of a well-\\nknown paper.")
        'A German physicist, principal author of a well-known paper.'
    """
    if "\n" not in text:
        return text

    def join(m: re.Match[str]) -> str:
        if m.group(1) and m.end() < len(text) and text[m.end()].islower():
            return ""
        if m.start() > 0 and text[m.start() - 1] == "-":
            return ""
        return m.group(1) + " " if m.group(1) else " "

    return _WRAP.sub(join, text)
