"""Many queries (issue 14): the LRU of query vectors and ``compress_many`` (one batched query
encode, shared fingerprints, the same results as ``compress`` one by one)."""

from __future__ import annotations

import pytest

from semtoken_rag import FingerprintCache, SemTokenCompressor, SemTokenConfig
from semtoken_rag.encoders import CallableEncoder
from semtoken_rag.testing import CURIE, GUITAR, PARIS, XRAYS, bag_of_words

CORPUS = [XRAYS, PARIS, GUITAR, CURIE]
QUERIES = ["Who discovered X-rays?", "capital of France", None, "Who discovered X-rays?", "Curie"]
DOCS = [CORPUS, CORPUS[1:], CORPUS, CORPUS[:2] + ["A new document. Only here."], CORPUS]


def summary(r) -> tuple:
    spans = tuple((s.doc_index, s.start, s.end, s.text, s.score) for s in r.spans)
    return spans, r.doc_scores, r.kept_tokens, tuple(r.documents())


class Counting:
    """``bow`` that records each batch it embeds."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def __call__(self, texts: list[str]) -> object:
        self.batches.append(list(texts))
        return bag_of_words(texts)


def test_a_repeated_query_is_encoded_once() -> None:
    c = SemTokenCompressor(encoder=CallableEncoder(bag_of_words))
    first = c.compress("Who discovered X-rays?", CORPUS, budget=15)
    misses = c._queries.misses
    again = c.compress("Who discovered X-rays?", CORPUS, budget=15)
    assert c._queries.misses == misses
    assert summary(again) == summary(first)
    c.compress("Another question?", CORPUS, budget=15)
    assert c._queries.misses == misses + 1


def test_the_query_cache_is_bounded_and_can_be_off() -> None:
    c = SemTokenCompressor(
        SemTokenConfig(query_cache_size=2), encoder=CallableEncoder(bag_of_words)
    )
    c.query_vectors(["a", "b", "c"])
    assert len(c._queries) == 2
    off = SemTokenCompressor(
        SemTokenConfig(query_cache_size=0), encoder=CallableEncoder(bag_of_words)
    )
    off.query_vectors(["a"])
    off.query_vectors(["a"])
    assert len(off._queries) == 0 and off._queries.misses == 2
    with pytest.raises(ValueError, match="query_cache_size"):
        SemTokenConfig(query_cache_size=-1)


@pytest.mark.parametrize("cached", [True, False])
@pytest.mark.parametrize("limit", [{"budget": 15}, {"ratio": 0.4}])
def test_compress_many_equals_compress_one_by_one(cached: bool, limit: dict) -> None:
    cfg = SemTokenConfig(cache_embeddings=cached)
    one = SemTokenCompressor(cfg, encoder=CallableEncoder(bag_of_words))
    expected = [summary(one.compress(q, d, **limit)) for q, d in zip(QUERIES, DOCS)]
    many = SemTokenCompressor(cfg, encoder=CallableEncoder(bag_of_words))
    assert [summary(r) for r in many.compress_many(QUERIES, DOCS, **limit)] == expected


def test_compress_many_encodes_the_queries_in_one_batch_and_each_document_once() -> None:
    fn = Counting()
    c = SemTokenCompressor(SemTokenConfig(cache_embeddings=False), encoder=CallableEncoder(fn))
    c.encoder.identity  # noqa: B018 (the probe, out of the count)
    fn.batches.clear()
    c.compress_many(QUERIES, DOCS, budget=15)
    distinct = ["Who discovered X-rays?", "capital of France", "Curie"]
    assert fn.batches[0] == distinct  # one batch, each distinct query once
    assert not any(b == [q] for b in fn.batches[1:] for q in distinct)
    whole = {d for docs in DOCS for d in docs}
    doc_batches = [b for b in fn.batches[1:] if set(b) <= whole]  # document vectors
    assert sorted(t for b in doc_batches for t in b) == sorted(whole)  # each document once


def test_compress_many_checks_its_arguments() -> None:
    c = SemTokenCompressor(encoder=CallableEncoder(bag_of_words))
    with pytest.raises(ValueError, match="documents_per_query"):
        c.compress_many(["a", "b"], [CORPUS], budget=10)
    with pytest.raises(ValueError, match="queries"):
        c.compress_many("ab", [CORPUS, CORPUS], budget=10)  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.parametrize("fixture", ["compressor", "torch_compressor"])
def test_compress_many_equals_compress_one_by_one_with_the_real_model(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    compressor = request.getfixturevalue(fixture)
    one = SemTokenCompressor(encoder=compressor.encoder, cache=FingerprintCache())
    expected = [summary(one.compress(q, d, budget=20)) for q, d in zip(QUERIES, DOCS)]
    many = SemTokenCompressor(encoder=compressor.encoder, cache=FingerprintCache())
    assert [summary(r) for r in many.compress_many(QUERIES, DOCS, budget=20)] == expected
