"""Assembly: kept texts are the spans verbatim, joined by original white space or the separator,
and fit the budget as counted again by the configured (possibly non-additive) counter."""

from __future__ import annotations

import numpy as np
import pytest

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
    spans, texts, kept = assemble(
        SOURCES, t, scores, scores, np.arange(5), [0, 2, 3, 4], budget, chars, separator
    )
    assert sum(kept) == sum(chars(x) for x in texts) <= budget
    assert kept == [chars(x) for x in texts]
    for s in spans:
        assert SOURCES[s.doc_index][s.start : s.end] == s.text
    assert texts == join_spans(spans, SOURCES, separator)
    if budget >= 13:
        assert spans, "a span of 13 characters fits"
    else:
        assert len(spans) == 1 and len(spans[0].text) <= budget  # the best span, cut


def test_adjacent_spans_keep_the_original_gap_and_others_get_the_separator():
    spans, texts, _ = assemble(
        SOURCES, table(), np.ones(5), np.ones(5), np.arange(5), [0, 1, 2], 100, chars, " | "
    )
    assert texts[0] == SOURCES[0]  # all three adjacent: the original text
    _, texts, _ = assemble(
        SOURCES, table(), np.ones(5), np.ones(5), np.arange(5), [0, 2], 100, chars, " | "
    )
    assert texts == ["Ada wrote it. | Cy slept.", ""]


def test_the_lowest_value_span_goes_first_when_the_count_is_over():
    values = np.array([5.0, 1.0, 4.0, 3.0, 2.0])
    spans, _, kept = assemble(
        SOURCES, table(), values, values, np.arange(5), [0, 1, 2, 3, 4], 40, chars, " "
    )
    assert [s.start for s in spans if s.doc_index == 0] == [0, 27] and sum(kept) <= 40
