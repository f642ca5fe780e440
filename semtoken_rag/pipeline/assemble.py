"""Kept spans -> :class:`~semtoken_rag.types.Span` objects and per-document texts, within budget.

A document's kept spans are joined in order; the original gap is kept when it is only white space
(or the clause mark a clause piece left out), else the separator stands for what was dropped. The
budget holds for every text handed out, as counted again by the configured counter (which need not
be additive): the sum of the per-document texts and :data:`~semtoken_rag.types.DOC_JOINER`-joined
text of all of them (:attr:`CompressionResult.text`). When they are over, the weakest spans are
dropped, in a fixed order (lowest value first): the smallest number dropped is found by a galloping
then binary search over that order, each step one recount, so the cost is ``O(text x log spans)``
whatever the separator costs. If nothing fits, the best span is cut at a token boundary.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..tokens import truncate_to_tokens
from ..types import DOC_JOINER, CompressionResult, MeasuredInput, Span, SpanTable
from .layout import Layout, read_layout, shown
from .score import STOPWORDS, terms
from .select import has_word

_KEEP_GAP = re.compile(r"\s*(?:[,;:]|[-–—]{1,2})?\s*")  # white space, or a clause mark with it
#: A word: a run of non-space characters, across a hyphenated line break ("Re-\n   ston").
_WORDS = re.compile(r"(?:\S*[-\u2010\u00ad][ \t]*\r?\n[ \t]*(?=[^\W\d_]))*\S+")
_DANGLING = ",;:-–—("
_PARTIAL = re.compile(r"[^\W_]+\Z")  # a run of letters or digits at the end


def piece(
    text: str, max_tokens: int, count: Callable[[str], int], query: str | None = None
) -> tuple[int, int]:
    """The best piece of ``text`` costing at most ``max_tokens``, as ``(start, end)`` offsets into
    it, cut at word boundaries: its beginning, where the subject is; with ``query``, the window
    that says the most the query does not already say (distinct content terms that are not query
    terms) next to what it asks about (at least one query term, when ``text`` has one); ties go
    to more query terms, then to the earliest. ``(0, 0)`` when not one word fits, when the
    beginning that fits holds no letter or digit (a list item's "*" without its text), and with
    ``query`` when no piece that fits says anything the query does not ("**Default:**" of
    "**Default:** `1024 * 1024`." asked for the default: a reader learns nothing from it). No
    piece ends on a clause mark it would leave dangling.

    Example:
        >>> n = lambda s: len(s.split())
        >>> text = "The first prize in physics went in 1901 to Wilhelm Röntgen, of Germany."
        >>> a, b = piece(text, 7, n); text[a:b]
        'first prize in physics went'
        >>> a, b = piece(text, 7, n, "Who got the first prize in physics?"); text[a:b]
        'physics went in 1901 to Wilhelm Röntgen'
        >>> piece("Default: 1024 * 1024 bytes.", 1, n, "What is the default?")
        (0, 0)
        >>> piece("* Not-so-recent rewrite of git am", 1, n)
        (0, 0)
    """
    words = [(m.start(), m.end()) for m in _WORDS.finditer(text)]
    if not words or count(text[words[0][0] : words[0][1]]) > max_tokens:
        return (0, 0)
    if not query:
        lo, hi = 1, len(words)  # count(first lo words) fits
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count(text[words[0][0] : words[mid - 1][1]]) <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        a, b = _undangle(text, words[0][0], words[lo - 1][1])
        return (a, b) if has_word(text[a:b]) else (0, 0)
    wanted = set(terms(query))
    held = [set(terms(text[a:b])) for a, b in words]
    anchored = any(h & wanted for h in held)
    best: tuple[int, int] = (-1, -1)
    best_span, j = (0, 0), 0
    for i in range(len(words)):
        j = max(j, i)
        while j + 1 < len(words) and count(text[words[i][0] : words[j + 1][1]]) <= max_tokens:
            j += 1
        if count(text[words[i][0] : words[j][1]]) > max_tokens:
            continue
        found: set[str] = set().union(*held[i : j + 1])
        asked = len(found & wanted)
        if anchored and not asked:
            continue
        key = (len(found - wanted), asked)
        if key > best:
            best, best_span = key, (words[i][0], words[j][1])
    if best[0] <= 0:  # only what the query already says (or no term at all)
        return (0, 0)
    return _undangle(text, *best_span)


def _undangle(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` without leading or trailing function words ("in", "of", "the") and
    without a trailing clause mark or opening bracket it would leave alone."""
    while True:
        while end > start and (text[end - 1] in _DANGLING or text[end - 1].isspace()):
            end -= 1
        last = text.rfind(" ", start, end) + 1 or start
        if last > start and text[last:end].lower() in STOPWORDS:
            end = last
            continue
        break
    while start < end:
        first = _WORDS.match(text, start, end)
        if first is None or first.end() >= end or first.group().lower() not in STOPWORDS:
            break
        start = first.end()
        while start < end and text[start].isspace():
            start += 1
    return (start, end) if end > start else (start, start)


def join_spans(
    spans: Sequence[Span], sources: Sequence[str], separator: str, reflowed: bool = False
) -> list[str]:
    """Each document's kept text: its spans in order, joined by the original gap where they were
    adjacent (white space, or a clause mark with white space), else by ``separator``; with
    ``reflowed``, each span's text as a reader is given it (:func:`~.layout.shown`: reflowed,
    the page headers and numbers inside it left out).

    Example:
        >>> src = ["Ada wrote it, Bob read it. Cy slept."]
        >>> join_spans([Span(0, 0, 12, "Ada wrote it", 4, 1.0, 0.0, 0),
        ...             Span(0, 14, 26, "Bob read it.", 4, 1.0, 0.0, 1),
        ...             Span(0, 27, 36, "Cy slept.", 3, 1.0, 0.0, 2)], src[:1], " ... ")
        ['Ada wrote it, Bob read it. Cy slept.']
        >>> join_spans([Span(0, 0, 12, "Ada wrote it", 4, 1.0, 0.0, 0),
        ...             Span(0, 27, 36, "Cy slept.", 3, 1.0, 0.0, 2)], src, " ... ")
        ['Ada wrote it ... Cy slept.']
    """
    parts: list[list[str]] = [[] for _ in sources]
    last_end: list[int | None] = [None] * len(sources)
    layouts: dict[int, Layout] = {}
    for s in sorted(spans, key=lambda s: (s.doc_index, s.start)):
        prev = last_end[s.doc_index]
        if prev is not None:
            gap = sources[s.doc_index][prev : s.start]
            parts[s.doc_index].append(gap if _KEEP_GAP.fullmatch(gap) else separator)
        if reflowed:
            src = sources[s.doc_index]
            if s.doc_index not in layouts:
                layouts[s.doc_index] = read_layout(src)
            parts[s.doc_index].append(shown(src, layouts[s.doc_index], s.start, s.end))
        else:
            parts[s.doc_index].append(s.text)
        last_end[s.doc_index] = s.end
    return ["".join(p) for p in parts]


def joined_tokens(texts: Sequence[str], tokens: Sequence[int], count: Callable[[str], int]) -> int:
    """Tokens of the non-empty ``texts`` joined by :data:`~semtoken_rag.types.DOC_JOINER` (what
    :attr:`CompressionResult.text` holds), given each text's own count in ``tokens``.

    Example:
        >>> joined_tokens(["a b", "", "c"], [2, 0, 1], lambda s: len(s.split()) + s.count("\\n"))
        5
    """
    full = [(x, n) for x, n in zip(texts, tokens) if x]
    if len(full) <= 1:
        return int(full[0][1]) if full else 0
    return count(DOC_JOINER.join(x for x, _ in full))


@dataclass(frozen=True)
class Assembled:
    """What :func:`assemble` returns.

    Attributes:
        spans: The kept spans, in document order.
        texts: Each document's kept text ("" for none).
        tokens: Each document's kept text's token count.
        text_tokens: Tokens of the texts joined by a blank line (:attr:`CompressionResult.text`).
    """

    spans: list[Span]
    texts: list[str]
    tokens: list[int]
    text_tokens: int

    @property
    def total(self) -> int:
        """What the budget must hold: the larger of the two counts."""
        return max(sum(self.tokens), self.text_tokens)


def assemble(
    sources: Sequence[str],
    table: SpanTable,
    scores: np.ndarray,
    values: np.ndarray,
    labels: np.ndarray,
    chosen: list[int],
    budget: int,
    count: Callable[[str], int],
    separator: str,
    cut: tuple[int, tuple[int, int]] | None = None,
    *,
    fallback: bool = True,
    reflowed: bool = False,
) -> Assembled:
    """The kept spans, each document's kept text and the token counts, within ``budget``.

    Args:
        sources: The documents' texts.
        table: The spans.
        scores: Relevance per span (reported on each :class:`Span`).
        values: Selection value per span (the lowest is dropped first when over budget).
        labels: Redundancy cluster per span.
        chosen: Indices of the selected spans.
        budget: Most tokens of all kept texts together, and of their joined text.
        count: The token counter.
        separator: Text between two kept spans of one document that were not adjacent.
        cut: A span kept in part: its index and the ``(start, end)`` of the piece kept, offsets
            into the span's text (see :func:`piece`).
        fallback: When nothing fits, keep the best span's beginning that fits (:func:`_head`),
            off when the caller filtered the candidates, e.g. by a relevance threshold.
        reflowed: Give each kept text with its spans as :func:`~.layout.shown` gives them (spans
            keep their exact text and offsets; the budget counts the texts as given).
    """
    pieces: dict[int, Span] = {}
    if cut is not None and cut[1][1] > cut[1][0]:
        k, (a, b) = cut
        s = _span(table, scores, labels, k)
        text = s.text[a:b]
        pieces[k] = Span(s.doc_index, s.start + a, s.start + b, text, count(text), s.score,
                         s.entropy, s.cluster)  # fmt: skip
    chosen = sorted({*chosen, *pieces})
    drop_order = sorted(chosen, key=lambda k: (values[k], -k))  # the weakest first

    def build(dropped: int) -> Assembled:
        gone = set(drop_order[:dropped])
        spans = [pieces.get(k) or _span(table, scores, labels, k) for k in chosen if k not in gone]
        texts = join_spans(spans, sources, separator, reflowed)
        tokens = [count(x) if x else 0 for x in texts]
        return Assembled(spans, texts, tokens, joined_tokens(texts, tokens, count))

    best = _fewest_drops(
        build, drop_order, table.tokens, budget, count(separator) if separator else 0
    )
    if fallback and not best.spans and budget > 0 and len(table):
        k = int(np.argmax(scores))
        head = _head(table.texts[k], budget, count)
        if head and count(head) <= budget:
            s = _span(table, scores, labels, k)
            spans = [Span(s.doc_index, s.start, s.start + len(head), head, count(head), s.score,
                          s.entropy, s.cluster)]  # fmt: skip
            texts = join_spans(spans, sources, separator, reflowed)
            tokens = [count(x) if x else 0 for x in texts]
            best = Assembled(spans, texts, tokens, sum(tokens))
    return best


def _head(text: str, budget: int, count: Callable[[str], int]) -> str:
    """The beginning of ``text`` that fits ``budget``, not ending inside a run of letters or
    digits ("rew" of "rewrite") unless that run is all it holds (text without spaces, as
    Japanese or Chinese is written); "" when it holds no letter or digit (a bullet's "*"). A cut
    at punctuation stays: a key-value line's value keeps its last character, not its quote.

    Example:
        >>> n = lambda s: len(s)
        >>> _head("* A rewrite of it", 7, n), _head("* A rewrite", 2, n), _head('"k": "v1"}', 8, n)
        ('* A', '', '"k": "v1')
        >>> _head("東京は日本の首都です", 3, n), _head("首都です。大阪は", 7, n)
        ('東京は', '首都です。')
    """
    head = truncate_to_tokens(text, budget, count)
    if head and len(head) < len(text) and head[-1].isalnum() and text[len(head)].isalnum():
        whole = _PARTIAL.sub("", head).rstrip()
        head = whole if has_word(whole) else head
    return head if has_word(head) else ""


def _fewest_drops(
    build: Callable[[int], Assembled],
    order: Sequence[int],
    span_tokens: np.ndarray,
    budget: int,
    separator_tokens: int,
) -> Assembled:
    """``build(r)`` for the smallest ``r`` (spans dropped in ``order``) whose texts fit.

    Galloping: each step drops at least the estimated overrun (span tokens plus a separator
    each) and at least twice the previous step; then a binary search between the last count
    that was over and the first that fits. Exact when fitting is monotone in ``r`` (dropping a
    span never makes the text longer); otherwise still within budget.
    """
    first = build(0)
    if first.total <= budget or not order:
        return first
    cost = np.cumsum([int(span_tokens[k]) + separator_tokens for k in order])
    over, low, step = first, 0, 1  # build(low) is over budget
    while True:
        need = over.total - budget  # tokens still to drop, estimated
        r = int(np.searchsorted(cost, cost[low - 1] + need if low else need)) + 1
        r = min(len(order), max(r, low + step))
        fit = build(r)
        if fit.total <= budget or r == len(order):
            break
        over, step, low = fit, 2 * (r - low), r
    high = r  # build(high) fits (or drops everything)
    while high - low > 1:
        mid = (low + high) // 2
        trial = build(mid)
        if trial.total <= budget:
            high, fit = mid, trial
        else:
            low = mid
    return fit


def _span(table: SpanTable, scores: np.ndarray, labels: np.ndarray, k: int) -> Span:
    return Span(
        doc_index=int(table.doc[k]),
        start=int(table.start[k]),
        end=int(table.end[k]),
        text=table.texts[k],
        tokens=int(table.tokens[k]),
        score=float(scores[k]),
        entropy=float(table.entropy[k]),
        cluster=int(labels[k]),
    )


def keep_all(
    call: MeasuredInput,
    timings: dict[str, float],
    separator: str,
    doc_scores: Sequence[float] | None = None,
) -> CompressionResult:
    """The result when the whole input fits the budget: every non-empty document, untouched;
    scored by ``doc_scores`` (each document's best span) when given, else 1.0 (query-free).

    Example:
        >>> from semtoken_rag.types import Document
        >>> call = MeasuredInput(None, None, [Document("Ada.")], [2], 2, 2, 10)
        >>> keep_all(call, {}, " ").documents()
        ['Ada.']
    """
    docs, doc_tokens = call.docs, call.doc_tokens
    scores = [1.0 if d.text else 0.0 for d in docs] if doc_scores is None else doc_scores
    spans = tuple(
        Span(i, 0, len(d.text), d.text, n, float(scores[i]), 0.0, i)
        for i, (d, n) in enumerate(zip(docs, doc_tokens))
        if d.text
    )
    return CompressionResult(
        query=call.query,
        spans=spans,
        source_texts=tuple(d.text for d in docs),
        doc_scores=tuple(float(x) for x in scores),
        original_tokens=sum(doc_tokens),
        kept_tokens=sum(doc_tokens),
        budget=call.budget,
        timings=timings,
        separator=separator,
        doc_tokens=tuple(doc_tokens),
        kept_doc_tokens=tuple(doc_tokens),
        text_tokens=call.whole,
        _texts=tuple(d.text for d in docs),
    )


def compression_result(
    call: MeasuredInput,
    kept: Assembled,
    doc_scores: Sequence[float],
    timings: dict[str, float],
    separator: str,
) -> CompressionResult:
    """The :class:`~semtoken_rag.types.CompressionResult` of a call from what :func:`assemble`
    kept (``doc_scores``: each document's best span score)."""
    return CompressionResult(
        query=call.query,
        spans=tuple(kept.spans),
        source_texts=tuple(d.text for d in call.docs),
        doc_scores=tuple(float(x) for x in doc_scores),
        original_tokens=call.original,
        kept_tokens=int(sum(kept.tokens)),
        budget=call.budget,
        timings=timings,
        separator=separator,
        doc_tokens=tuple(call.doc_tokens),
        kept_doc_tokens=tuple(kept.tokens),
        text_tokens=kept.text_tokens,
        _texts=tuple(kept.texts),
    )
