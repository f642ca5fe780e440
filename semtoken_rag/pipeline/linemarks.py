"""The second pass of the layout stage: each line read in context. Short lines without end
punctuation above a paragraph are headings, short lines repeated three times (page headers) and
page numbers are boilerplate, a term above its indented definition opens an item. Linear in the
text: each line is read a bounded number of times.
"""

from __future__ import annotations

import re
from collections import Counter

from .breaks import _GOES_ON, _MIN_WRAP, _WRAP_SHARE, fills, wrap_width, wrapped
from .lines import (
    _NUMBERED_HEAD,
    _WORD,
    BLANK,
    BOILERPLATE,
    CONTENT_KINDS,
    HEADING,
    ITEM,
    MARKUP,
    TEXT,
    Line,
    classify,
    ends_sentence,
    ends_terminal,
    heading_shaped,
    short_phrase,
    split_lines,
)
from .score import STOPWORDS

_PAGE = re.compile(r"[ \t]*(?:page[ \t]+)?\d{1,4}(?:[ \t]*(?:/|of)[ \t]*\d{1,4})?[ \t]*$", re.I)
#: A table of contents' or an index's entry: dot leaders ("Porting . . . . . 1", "Intro......iv")
#: up to the line's end or a page number.
_LEADERS = re.compile(r"[^.\s][ \t]*(?:\.[ \t]?){5,}[ \t]*(?:\d{1,4}|[ivxlcIVXLC]{1,7})?[ \t]*$")
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
_BOILERPLATE_REPEATS = 3
_BOILERPLATE_CHARS = 60


def read_lines(text: str) -> list[Line]:
    """Every line of ``text`` with its kind, in order (linear in the text).

    Example:
        >>> [ln.kind for ln in read_lines("Title\\nA body line.\\n- an item\\n\\n| a | b |")]
        ['heading', 'text', 'item', 'blank', 'table']
    """
    lines = classify(text, split_lines(text))
    _mark_boilerplate(text, lines)
    _mark_headings(text, lines)
    _mark_terms(text, lines)
    return lines


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
        if prev_line is None and nxt[k] >= 0 and _restated_field(text, ln, lines[nxt[k]]):
            ln.kind, ln.body, ln.level = HEADING, ln.start, 1
        if (
            ln.kind == TEXT
            and prev_kind == BLANK
            and nxt[k] > k + 1
            and _apart_term(text, ln, lines[nxt[k]])
        ):
            ln.kind, ln.body = HEADING, ln.start
            ln.level = (1 if prev_line is None else 2) + (1 if ln.indent > 0 else 0)
        elif ln.kind in (TEXT, ITEM) and heading_shaped(text, ln):
            after = nxt[k]
            below = lines[after] if after >= 0 else None
            numbered = _NUMBERED_HEAD.match(text, ln.start, ln.end)
            starts_block = prev_kind in (BLANK, MARKUP, HEADING, BOILERPLATE) or (
                prev_line is not None
                and prev_kind in (TEXT, ITEM)
                and (
                    ends_terminal(text, prev_line.start, prev_line.end)
                    # "1.1. Version" under "1. Introduction": a numbered head the line above
                    # does not run into (PDF text, no blank lines)
                    or (numbered and not wrapped(text, prev_line, ln, width, False))
                )
            )
            nested = below is not None and below.indent > ln.indent + 1
            # "3.2 Invoking asn1Coding" above "asn1Coding generates ...": a deliberate break
            titled = (
                below is not None
                and _numbered_title(text, ln, numbered)
                and _short_line(text, ln, width)
                and not fills(text, ln, below, width)
            )
            # the document's first line above a line that does not continue it: a chunk's
            # title line, even in sentence case ("Sensory nervous system") or above a chunk
            # that starts mid-sentence ("Henry Moseley" / "him), and he was ...")
            lead = prev_line is None and below is not None and _lead_title(text, ln, below, width)
            # inside the document, a line set apart by blank lines above a paragraph, even in
            # sentence case ("Endemic plant species", "How to get there"): a section head as
            # PDF and web text has it
            apart = (
                prev_kind == BLANK
                and prev_line is not None
                and below is not None
                and after > k + 1
                and below.kind == TEXT
                and not _short_line(text, below, width)
                and _section_head(text, ln, below)
            )
            if (
                starts_block
                and below is not None
                and below.kind in CONTENT_KINDS
                and (
                    nested
                    or not _short_line(text, below, width)
                    or _fills_next(k=after)
                    or _section_over_subsection(text, ln, below)
                )
                and (nested or lead or after > k + 1 or not text[below.start].islower() or titled)
                and (lead or titled or after > k + 1 or not wrapped(text, ln, below, width, True))
                and (ln.kind == TEXT or numbered)
                and (lead or apart or _title_like(text, ln) or _sub_numbered(numbered))
            ):
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


def _mark_terms(text: str, lines: list[Line]) -> None:
    """Definition terms: a short text line (no end punctuation) right above a more indented
    text line, as a man page's options ("-k --keep" over "Keep (don't delete) input files ...")
    or a reStructuredText definition list, opens an item that its definition joins, so the term
    is read and kept with it. Terms stacked at one indent over one definition ("-L port:host" /
    "-L socket") are one item. Lines that are headings already stay headings."""
    n = len(lines)
    width = -1  # the wrap width, read when a term is first found
    k = 0
    while k < n - 1:
        ln, below = lines[k], lines[k + 1]
        if not (below.kind == TEXT and below.indent > ln.indent + 1 and _term(text, ln)):
            k += 1
            continue
        if width < 0:
            width = wrap_width(lines, text)
        top = k
        while (
            top > 0
            and _term(text, lines[top - 1])
            and lines[top - 1].indent == ln.indent
            and not wrapped(text, lines[top - 1], lines[top], width, True)
        ):
            top -= 1
        prev = lines[top - 1] if top > 0 else None
        if (
            prev is None
            or prev.kind not in (TEXT, ITEM)
            or prev.indent != ln.indent
            or ends_terminal(text, prev.start, prev.end)
        ):  # the term opens its block (not a paragraph's last line above an indented example)
            lines[top].kind, lines[top].body = ITEM, lines[top].start
            for j in range(top + 1, k + 1):
                lines[j].joined = True
        k += 1


def _apart_term(text: str, ln: Line, below: Line) -> bool:
    """Whether a short line set apart by blank lines heads a more indented paragraph below it: an
    HTML definition list's term as text ("sync" / (blank) / "    The shell of user sync is
    /bin/sync. ..."), the title of what follows rather than a one-word paragraph. The term is one
    word in any case, or a capitalised, title-like noun phrase; a line that leads on ("You may
    obtain a copy of the License at" above an indented address) is a sentence."""
    if not (below.kind == TEXT and below.indent > ln.indent + 1 and text[ln.start].isalnum()):
        return False
    one_word = _WORD.fullmatch(text, ln.start, ln.end) is not None
    return (
        short_phrase(text, ln)
        and _closed_phrase(text, ln)
        and (one_word or (text[ln.start].isupper() and _title_like(text, ln)))
    )


def _term(text: str, ln: Line) -> bool:
    return ln.kind == TEXT and short_phrase(text, ln)


def _sub_numbered(numbered: re.Match[str] | None) -> bool:
    """A multi-level section number ("1.3.", "2.1.4"): a section head in sentence case
    ("1.3. Language used in this specification"), never a list item."""
    return numbered is not None and "." in numbered.group().strip().rstrip(".")


def _numbered_title(text: str, ln: Line, numbered: re.Match[str] | None) -> bool:
    """A multi-level section number before a noun phrase that does not lead on ("3.2 Invoking
    asn1Coding"): when the line is short and the next line's first word would have fitted on it,
    a section head even above a line that starts in lower case (an identifier, as a manual's PDF
    text has it); "3.2 of this manual and" goes on."""
    return _sub_numbered(numbered) and _closed_phrase(text, ln)


def _section_over_subsection(text: str, ln: Line, below: Line) -> bool:
    """A numbered section head right above a numbered head ("1. Introduction" / "1.1. Version",
    as PDF text has them, without blank lines)."""
    return bool(
        _NUMBERED_HEAD.match(text, ln.start, ln.end)
        and _NUMBERED_HEAD.match(text, below.start, below.end)
        and heading_shaped(text, below)
    )


def _short_line(text: str, ln: Line, width: int) -> bool:
    """A heading-shaped text line that is not a full-width wrapped line."""
    if ln.kind not in (TEXT, ITEM) or not heading_shaped(text, ln):
        return False
    return width < _MIN_WRAP or ln.indent + ln.end - ln.start <= _WRAP_SHARE * width


def _restated_field(text: str, ln: Line, below: Line) -> bool:
    """Whether a first line read as a ``Key: value`` field is the title the next line restates
    ("My Little Pony: The Movie (2017 film)" above "My Little Pony: The Movie is a 2017 ...")."""
    s, e = ln.start, ln.end
    if ln.kind != ITEM or ln.body != s or ln.indent or ends_sentence(text, s, e):
        return False
    name = text[s:e].rstrip()
    if name.endswith(")") and " (" in name:  # a disambiguation: "(2017 film)"
        name = name[: name.rindex(" (")]
    if not short_phrase(text, ln) or not text.startswith(name, below.start):
        return False
    after = below.start + len(name)  # the name goes on as a sentence's subject, not "Yeah, so"
    return after < below.end and text[after] in " \t"


def _lead_title(text: str, ln: Line, below: Line, width: int) -> bool:
    """Whether a document's heading-shaped first line is its title: a noun phrase (no finite
    verb or subject pronoun of :data:`_CLAUSE_WORDS`, so "The launch code is alpha" stays text),
    not ending in a clause mark, and not a line the next one continues (it does not fill the
    wrap width with the next line's first word)."""
    if ln.kind != TEXT and not (ln.kind == ITEM and below.kind == TEXT):
        return False  # a numbered first line is a title only above a paragraph
    return not fills(text, ln, below, width) and _noun_phrase(text, ln)


def _section_head(text: str, ln: Line, below: Line) -> bool:
    """Whether a text line set apart inside a document heads the paragraph below it: it starts
    with a capital, the paragraph with a capital or a digit, and it is a noun phrase without a
    comma or tab that does not end in a word that leads on ("Please submit bug reports at" above a
    paragraph goes on into it; a line with tabs is a table row)."""
    line = text[ln.start : ln.end]
    return (
        line[0].isupper()
        and (text[below.start].isupper() or text[below.start].isdigit())
        and "," not in line
        and "\t" not in line
        and _closed_phrase(text, ln)
    )


def _closed_phrase(text: str, ln: Line) -> bool:
    """Whether a line is a noun phrase (:func:`_noun_phrase`) whose last word does not lead on
    into what follows (:data:`~.breaks._GOES_ON`: "Please submit bug reports at")."""
    words = _WORD.findall(text, ln.start, ln.end)
    return (
        bool(words) and words[-1].strip(_PUNCT).lower() not in _GOES_ON and _noun_phrase(text, ln)
    )


def _noun_phrase(text: str, ln: Line) -> bool:
    """Whether a line reads as a noun phrase: no finite verb or subject pronoun of
    :data:`_CLAUSE_WORDS` and no clause mark at its end."""
    if text[ln.end - 1] in ",;":
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


def _mark_boilerplate(text: str, lines: list[Line]) -> None:
    """In a document of at least 8 lines: page-number lines, and short lines repeated three or
    more times (page headers and footers); in any document, the dot-leader lines of a table of
    contents or an index (a PDF's text: "2.4 Library Notes . . . . . . 4"), which lead to a page,
    not to content."""
    for ln in lines:
        if ln.kind in (TEXT, ITEM) and _LEADERS.search(text, ln.start, ln.end):
            ln.kind = BOILERPLATE
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
        and not ends_sentence(text, 0, len(text))
    }
    page = False  # the line before was a page number
    for k, ln in enumerate(lines):
        if ln.kind in (TEXT, ITEM) and (
            text[ln.start : ln.end] in repeated or _PAGE.fullmatch(text, ln.start, ln.end)
        ):
            page = page or bool(_PAGE.fullmatch(text, ln.start, ln.end))
            ln.kind = BOILERPLATE
            continue
        if page and _running_header(text, lines, k):
            ln.kind = BOILERPLATE
        page = False


def _running_header(text: str, lines: list[Line], k: int) -> bool:
    """Line ``k``, right after a page number, is the next page's running header when it is a
    short line without end punctuation and the line after it goes on with a sentence (in lower
    case): a chunk of a PDF holds one header too few to be seen as repeated."""
    ln = lines[k]
    nxt = lines[k + 1] if k + 1 < len(lines) else None
    return (
        ln.kind == TEXT
        and ln.end - ln.start <= _BOILERPLATE_CHARS
        and not ends_sentence(text, ln.start, ln.end)
        and nxt is not None
        and nxt.kind == TEXT
        and text[nxt.start].islower()
    )


def under_item(cur_kind: str, indent: int, a: Line, b: Line) -> bool:
    """Whether ``b`` is indented under the open list item (bullet line indent ``indent``, last
    line ``a``): the item's text goes on there, after a full stop too, as in Markdown
    ("* `cwd` {string} Current working directory." / "    **Default:** `process.cwd()`.")."""
    return cur_kind == ITEM and b.indent > indent and a.quote == b.quote
