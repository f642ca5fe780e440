"""Line breaks: whether the break between two lines is a wrap (the writer's tool ran out of width)
or the writer's own (a list without bullets, an address, a new paragraph in PDF text).

A document's wrap width is read from its own lines (:func:`wrap_width`); a break is a wrap when
the next line's first word would not have fitted on the line before (:func:`fills`), when the
next line starts in lower case, or when the line before leaves a clause, a bracket or a phrase
open (:func:`wrapped`); an HTML-to-text converter's break around an inline element is read back
into its sentence (:func:`inline_break`).
"""

from __future__ import annotations

import re

from .lines import _HYPHENS, _WORD, ITEM, TEXT, Line, ends_sentence, ends_terminal

# fmt: off
#: Last words of a line that leads into what follows it ("Please submit bug reports at", "To cite
#: SymPy in publications use"): such a line is not a section
#: head, and it goes on into the next line (a wrap, however short).
_GOES_ON = frozenset((
    "a", "an", "the", "and", "or", "nor", "but", "of", "to", "in", "on", "at", "by", "for", "from",
    "with", "into", "onto", "via", "as", "than", "like", "where", "which", "that", "whose", "when",
    "if", "use", "run", "see", "type", "call", "enter", "following", "below",
))
# fmt: on
_LAST_WORD = re.compile(r"(?<![^ \t])[a-z]+$")
_WRAP_SHARE = 0.85  # a line this close to the wrap width (with the next word) was wrapped
_MIN_WRAP = 30  # below this width, lines are not wrapped prose (a list of short lines)


def wrap_width(lines: list[Line], text: str) -> int:
    """The document's wrap width: the upper quartile of the widths of the text lines that end
    mid-sentence (wrapped lines end anywhere in a sentence, near the width), or the median of
    those a line in lower case goes on from (wrapped prose, at least :data:`_MIN_WRAP` wide)
    when wider: short code lines end mid-sentence too, and a manual's page can hold more of them
    than of prose. The longest text line when fewer than two lines end mid-sentence."""
    cols, lower = [], []
    longest = 0
    for k, ln in enumerate(lines):
        if ln.kind in (TEXT, ITEM):
            w = ln.indent + ln.end - ln.start
            longest = max(longest, w)
            if not ends_sentence(text, ln.start, ln.end):
                cols.append(w)
                b = lines[k + 1] if k + 1 < len(lines) else None
                if b is not None and b.kind == TEXT and text[b.start].islower() and w >= _MIN_WRAP:
                    lower.append(w)
    if len(cols) < 2:
        return longest
    cols.sort()
    lower.sort()
    return max(cols[(3 * len(cols)) // 4], lower[len(lower) // 2] if len(lower) > 1 else 0)


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
    if b.indent > a.indent + 1 or a.quote != b.quote:  # a nested block, a quote's edge
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
    opened = text.count("(", a.start, a.end) > text.count(")", a.start, a.end)  # "(and later"
    word = _LAST_WORD.search(text, a.start, a.end)
    leads = word is not None and word.group() in _GOES_ON  # "For details, see"
    if (last in ",;" and b.kind == TEXT) or opened or leads:  # a clause, a bracket left open
        return True
    return full or nxt.islower() or (nxt in ".,;:!?)" and (b.end == b.start + 1 or _opens(text, b)))


def inline_break(text: str, a: Line, b: Line) -> bool:
    """Whether the break between ``a`` and ``b`` is where an HTML-to-text converter put an inline
    element on its own line (BeautifulSoup's ``get_text("\\n")``: "using the \\nrustdoc\\n
    search"): ``a`` ends mid-sentence in a space before the break, or ``b`` opens with the space
    that followed the element (not a nested block's indent)."""
    if b.indent > a.indent + 1 or a.quote != b.quote or ends_terminal(text, a.start, a.end):
        return False  # a nested block, a quote's edge, a sentence's end
    return text[a.end : a.end + 1] in (" ", "\t") or (b.indent == a.indent + 1 == 1)


def _opens(text: str, b: Line) -> bool:  # b's first mark is followed by white space
    return text[b.start + 1] in " \t"
