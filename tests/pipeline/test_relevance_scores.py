"""Calibrated scores and ``min_relevance`` (issue 24): scores mean the same on every input, an
off-topic document scores low even when everything fits, and a threshold keeps only what is
relevant, up to the budget (the budget stays a ceiling)."""

from __future__ import annotations

import pytest

from semtoken_rag import SemTokenCompressor

QUERY = "Who discovered X-rays?"
NOBEL = (
    "The first Nobel Prize in Physics was awarded in 1901 to Wilhelm Conrad Röntgen, of Germany. "
    "He received it for his discovery of X-rays in 1895. He gave the prize money to his university."
)
PARIS = (
    "Paris is the capital of France. The Eiffel Tower was completed in 1889 for the World's Fair."
)


def test_off_topic_document_scores_low_even_when_everything_fits(
    compressor: SemTokenCompressor,
) -> None:
    r = compressor.compress(QUERY, [NOBEL, PARIS], budget=10_000)
    assert r.documents() == [NOBEL, PARIS]  # everything fits: kept whole
    nobel, paris = r.doc_scores
    assert nobel > 0.4 and paris < 0.1
    assert nobel > 5 * paris
    assert [s.score for s in r.spans] == [nobel, paris]


def test_scores_depend_on_the_rest_of_the_input_little_and_through_its_document_count(
    compressor: SemTokenCompressor,
) -> None:
    alone = compressor.compress(QUERY, [PARIS], budget=10_000).doc_scores[0]
    beside = compressor.compress(QUERY, [NOBEL, PARIS], budget=10_000).doc_scores[1]
    assert alone < 0.2 and beside < 0.1  # the top span of an input is not 1.0 by construction
    assert abs(alone - beside) < 0.1
    # the prior: evidence sits in about one document, so a document among ten is less likely
    # to hold it than a lone one, and still far above the nine off-topic documents beside it
    others = [f"Document {i} is about the history of bread baking in region {i}." for i in range(9)]
    lone = compressor.compress(QUERY, [NOBEL], budget=10_000).doc_scores[0]
    among = compressor.compress(QUERY, [NOBEL, *others], budget=10_000).doc_scores
    assert 0.3 < among[0] < lone and max(among[1:]) < among[0] / 5


def test_min_relevance_keeps_only_relevant_spans_up_to_the_budget(
    compressor: SemTokenCompressor,
) -> None:
    free = compressor.compress(QUERY, [NOBEL, PARIS], budget=10_000, min_relevance=0.0)
    assert free.documents() != ["", ""]
    r = compressor.compress(QUERY, [NOBEL, PARIS], budget=10_000, min_relevance=0.3)
    assert r.spans and all(s.score >= 0.3 for s in r.spans)
    assert r.documents()[1] == ""  # Paris holds nothing above the threshold
    assert r.kept_tokens < r.budget  # a ceiling, not a target
    tight = compressor.compress(QUERY, [NOBEL, PARIS], budget=12, min_relevance=0.3)
    assert tight.kept_tokens <= 12 and all(s.score >= 0.3 for s in tight.spans)
    none = compressor.compress(QUERY, [PARIS], budget=10_000, min_relevance=0.3)
    assert none.spans == () and none.kept_tokens == 0


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"min_relevance": 1.5}, ValueError),
        ({"min_relevance": -0.1}, ValueError),
        ({"min_relevance": float("nan")}, ValueError),
        ({"min_relevance": "0.5"}, TypeError),
    ],
)
def test_bad_min_relevance(compressor: SemTokenCompressor, kwargs: dict, error: type) -> None:
    with pytest.raises(error, match="min_relevance"):
        compressor.compress(QUERY, [NOBEL], budget=10, **kwargs)


def test_min_relevance_needs_a_query(compressor: SemTokenCompressor) -> None:
    with pytest.raises(ValueError, match="min_relevance needs a query"):
        compressor.compress(None, [NOBEL], budget=10, min_relevance=0.3)
