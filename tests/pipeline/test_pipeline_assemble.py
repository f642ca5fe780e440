"""Assembly: kept texts are the spans verbatim, joined by original white space or the separator,
and fit the budget as counted again by the configured (possibly non-additive) counter."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from growth import exponent

from semtoken_rag.pipeline.assemble import assemble, join_spans
from semtoken_rag.types import SpanTable

SOURCES = ["Ada wrote it. Bob read it. Cy slept.", "Paris is big. Lyon is old."]
PIECES = [(0, 0, 13), (0, 14, 26), (0, 27, 36), (1, 0, 13), (1, 14, 26)]


def table() -> SpanTable:
    texts = [SOURCES[d][a:b] for d, a, b in PIECES]
    return SpanTable(
        doc=np.array([d for d, _, _ in PIECES]),
        start=np.array([a for _, a, _ in PIECES]),
        end=np.array([b for _, _, b in PIECES]),
        texts=texts,
        tokens=np.array([len(t) for t in texts]),
        vectors=np.eye(5, 4, dtype=np.float32),
        entropy=np.ones(5),
        titles=["", ""],
        doc_texts=SOURCES,
        doc_vectors=np.eye(2, 4, dtype=np.float32),
    )


def chars(text: str) -> int:
    return len(text)


@pytest.mark.parametrize("separator", [" ", " ... ", "\n[...]\n", ""])
@pytest.mark.parametrize("budget", [5, 13, 20, 30, 40, 80])
def test_assembled_text_fits_the_counted_budget_and_is_verbatim(separator: str, budget: int):
    t = table()
    scores = np.array([0.9, 0.1, 0.8, 0.7, 0.2])
    out = assemble(SOURCES, t, scores, scores, np.arange(5), [0, 2, 3, 4], budget, chars, separator)
    spans, texts, kept = out.spans, out.texts, out.tokens
    assert sum(kept) == sum(chars(x) for x in texts) <= budget
    assert out.text_tokens == chars("\n\n".join(x for x in texts if x)) <= budget
    assert kept == [chars(x) for x in texts]
    for s in spans:
        assert SOURCES[s.doc_index][s.start : s.end] == s.text
    assert texts == join_spans(spans, SOURCES, separator)
    if budget >= 13:
        assert spans, "a span of 13 characters fits"
    else:
        assert len(spans) == 1 and len(spans[0].text) <= budget  # the best span, cut


def test_adjacent_spans_keep_the_original_gap_and_others_get_the_separator():
    out = assemble(
        SOURCES, table(), np.ones(5), np.ones(5), np.arange(5), [0, 1, 2], 100, chars, " | "
    )
    assert out.texts[0] == SOURCES[0]  # all three adjacent: the original text
    texts = assemble(
        SOURCES, table(), np.ones(5), np.ones(5), np.arange(5), [0, 2], 100, chars, " | "
    ).texts
    assert texts == ["Ada wrote it. | Cy slept.", ""]


def test_the_lowest_value_span_goes_first_when_the_count_is_over():
    values = np.array([5.0, 1.0, 4.0, 3.0, 2.0])
    out = assemble(SOURCES, table(), values, values, np.arange(5), [0, 1, 2, 3, 4], 40, chars, " ")
    assert [s.start for s in out.spans if s.doc_index == 0] == [0, 27] and sum(out.tokens) <= 40


# --- issue 16, item 3: the joined text (CompressionResult.text) fits the budget too ------------


def test_the_blank_line_between_documents_is_paid_for() -> None:
    # 13 + 13 characters fit 27 per document, but "Ada wrote it.\n\nParis is big." is 28
    out = assemble(SOURCES, table(), np.ones(5), np.ones(5), np.arange(5), [0, 3], 27, chars, " ")
    assert sum(out.tokens) <= 27 and out.text_tokens <= 27
    assert out.text_tokens == chars("\n\n".join(x for x in out.texts if x))
    assert len(out.spans) == 1


def newline_heavy(text: str) -> int:
    """A non-additive counter: a newline costs 5 (as some tokenizers split them apart)."""
    return len(text.split()) + 5 * text.count("\n")


@pytest.mark.parametrize("counter", [chars, newline_heavy])
@pytest.mark.parametrize("budget", range(4, 60, 3))
def test_every_text_handed_out_fits(counter, budget: int) -> None:
    t = table()
    scores = np.array([0.9, 0.1, 0.8, 0.7, 0.2])
    out = assemble(SOURCES, t, scores, scores, np.arange(5), [0, 1, 2, 3, 4], budget, counter, " ")
    joined = "\n\n".join(x for x in out.texts if x)
    assert sum(counter(x) for x in out.texts if x) <= budget
    assert counter(joined) == out.text_tokens <= budget


def test_fewest_spans_are_dropped_in_value_order() -> None:
    # the search over the drop order gives what dropping one at a time gave
    values = np.array([5.0, 1.0, 4.0, 3.0, 2.0])
    for budget in range(5, 80):
        out = assemble(
            SOURCES, table(), values, values, np.arange(5), list(range(5)), budget, chars, " "
        )
        kept = {s.start + 100 * s.doc_index for s in out.spans}
        order = [1, 4, 3, 2, 0]  # lowest value first
        for r in range(6):
            left = [k for k in range(5) if k not in order[:r]]
            texts = join_spans([_span_of(k) for k in left], SOURCES, " ")
            total = max(sum(chars(x) for x in texts), chars("\n\n".join(x for x in texts if x)))
            if total <= budget:
                break
        if left:
            assert kept == {PIECES[k][1] + 100 * PIECES[k][0] for k in left}, budget


def _span_of(k: int):
    from semtoken_rag.types import Span

    d, a, b = PIECES[k]
    return Span(d, a, b, SOURCES[d][a:b], b - a, 1.0, 0.0, k)


# --- issue 16, item 4: assembly near-linear with a separator longer than one token -------------


@functools.lru_cache(maxsize=4)
def long_document(n: int) -> tuple[str, SpanTable]:
    """One document of ``n`` sentences, one span each."""
    texts = [f"Sentence {i} is here." for i in range(n)]
    starts = np.cumsum([0] + [len(x) + 1 for x in texts[:-1]])
    doc = " ".join(texts)
    t = SpanTable(
        doc=np.zeros(n, dtype=np.int64),
        start=starts,
        end=starts + np.array([len(x) for x in texts]),
        texts=texts,
        tokens=np.array([len(x.split()) for x in texts]),
        vectors=np.zeros((n, 2), dtype=np.float32),
        entropy=np.ones(n),
        titles=[""],
        doc_texts=[doc],
        doc_vectors=np.zeros((1, 2), dtype=np.float32),
    )
    return doc, t


def test_assembly_grows_near_linearly_with_a_long_separator() -> None:
    # was quadratic: one span dropped per round, every round re-joining and re-counting all
    # texts (0.7 -> 2.5 -> 10.6 s as sentences doubled)
    def words(x: str) -> int:
        return len(x.split())

    def run(n: int) -> None:
        doc, t = long_document(n)
        value = np.arange(n, dtype=np.float64)
        chosen = list(range(0, n, 2))  # never adjacent: every join costs the separator
        budget = int(t.tokens[chosen].sum()) // 2
        out = assemble([doc], t, value, value, np.arange(n), chosen, budget, words, " [...] ")
        assert 0 < sum(out.tokens) <= budget

    slope = exponent(run, 2000, 8000)
    assert slope < 1.4, f"assembly time grows as n^{slope:.2f}"
