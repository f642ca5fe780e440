"""Chunk overlap: the text a splitter repeats at the head of the next chunk is said once.

A character splitter with an overlap (LangChain's ``RecursiveCharacterTextSplitter(chunk_size=1000,
chunk_overlap=100)``) starts each chunk with the end of the one before, cut at a word. When both
chunks are retrieved, the repeated words sit in two documents, in different contexts and often
cut into different pieces ("A node that is not found returns" at one chunk's end, "function
create_element before it is filled. A node that is not found returns" at the next one's head), so
neither the cosine nor the lexical guard of :mod:`.merge` links them, and a budget paid for them
twice. Here a document whose first words are the last words of another document of the input
(at least ``tuning.overlap_words`` of them, white space aside, case kept) and that goes on past
them has that head already said: its spans that lie inside the head are no candidates; the other
document's spans, which hold the same words, stay candidates.
"""

from __future__ import annotations

import bisect
import itertools
import re

import numpy as np

from ..types import SpanTable

TAIL_WORDS = 400
"""Most words at a document's end searched for the start of another's head, within its last
``16 x TAIL_WORDS`` characters: an overlap is a share of a chunk (a bound on the cost, not a
weight)."""
TAIL_CHARS = 16 * TAIL_WORDS
_WORD = re.compile(r"\S+")


def _tail(text: str) -> list[str]:
    """The last words of ``text`` (at most :data:`TAIL_WORDS`), read from its end only."""
    pos = max(0, len(text) - TAIL_CHARS)
    words = text[pos:].split()
    if pos and words and not text[pos - 1].isspace() and not text[pos].isspace():
        words = words[1:]  # a word the window cut
    return words[-TAIL_WORDS:]


def repeated_heads(doc_texts: list[str], min_words: int) -> dict[int, tuple[int, int, int]]:
    """Document ``b`` -> ``(end, a, start)``: ``b``'s head up to offset ``end`` repeats the end of
    document ``a`` from offset ``start``, in ``min_words`` words or more (0: none), the longest
    such head. Linear: only a tail word that opens some document is looked at further.

    Example:
        >>> a = "The tree is built first. A node that is not found returns"
        >>> b = "A node that is not found returns the code NOT_FOUND. Then more."
        >>> heads = repeated_heads([a, b, "Something else entirely, of its own."], 4)
        >>> heads, b[: heads[1][0]], a[heads[1][2] :]
        ({1: (32, 0, 25)}, 'A node that is not found returns', 'A node that is not found returns')
    """
    if min_words < 1:
        return {}
    heads: dict[tuple[str, ...], list[int]] = {}
    for b, t in enumerate(doc_texts):
        ws = t.split(None, min_words)
        if len(ws) > min_words:  # it goes on past its first min_words words
            heads.setdefault(tuple(ws[:min_words]), []).append(b)
    starts = {k[0] for k in heads}
    found: dict[int, tuple[int, int]] = {}  # b -> (words repeated, a)
    for a, t in enumerate(doc_texts if heads else ()):
        tail = _tail(t)
        for p in range(len(tail) - min_words + 1):
            if tail[p] not in starts:
                continue
            for b in heads.get(tuple(tail[p : p + min_words]), ()):
                k = len(tail) - p
                if b == a or k <= found.get(b, (0, 0))[0]:
                    continue
                ws = doc_texts[b].split(None, k)
                if len(ws) > k and ws[:k] == tail[p:]:
                    found[b] = (k, a)
    out: dict[int, tuple[int, int, int]] = {}
    for b, (k, a) in sorted(found.items()):
        end = next(itertools.islice(_WORD.finditer(doc_texts[b]), k - 1, None)).end()
        t = doc_texts[a]
        at = [m.start() for m in _WORD.finditer(t, max(0, len(t) - TAIL_CHARS))]
        out[b] = (end, a, at[len(at) - k])  # the k-th word from a's end
    return out


def keep_whole(table: SpanTable, keep: np.ndarray, min_words: int) -> np.ndarray:
    """``keep`` (changed in place, and returned) with, for each repeated head
    (:func:`repeated_heads`), the spans inside the head no candidates, nor the other document's
    spans inside its repeated end from where a span of the head's document that runs past the
    head begins (that span holds their words, and the rest of their sentence)."""
    heads = repeated_heads(table.doc_texts, min_words)
    if not heads:
        return keep
    end = np.array([heads[d][0] if d in heads else -1 for d in table.doc.tolist()])
    inside = table.end <= end
    for b, (head, a, start) in heads.items():
        mine = np.nonzero((table.doc == b) & (table.start < head) & (table.end > head))[0]
        if not len(mine):
            continue
        a_words = [m.start() for m in _WORD.finditer(table.doc_texts[a], start)]
        b_words = [
            m.start() for m in itertools.islice(_WORD.finditer(table.doc_texts[b]), len(a_words))
        ]
        whole = int(table.start[mine].min())  # where the span that runs past the head begins
        for i in np.nonzero((table.doc == a) & (table.start >= start))[0].tolist():
            w = bisect.bisect_right(a_words, int(table.start[i])) - 1  # its first word, in b
            if 0 <= w < len(b_words) and b_words[w] >= whole:
                inside[i] = True
    keep &= ~inside
    return keep
