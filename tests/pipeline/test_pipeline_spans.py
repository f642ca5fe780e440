"""The span table: offsets index the documents, coarsening joins only adjacent pieces."""

from __future__ import annotations

import numpy as np

from semtoken_rag import SemTokenCompressor, SemTokenConfig
from semtoken_rag.inputs import as_documents
from semtoken_rag.pipeline.spans import build_table
from semtoken_rag.testing import bag_of_words

TEXTS = [
    "Röntgen won the first prize, which was awarded in Stockholm, in 1901; he gave the money "
    "away, and he never patented his discovery, which he called X-rays. He died in 1923.",
    "Paris is the capital of France. It is known for the Louvre.\n- item one\n- item two",
    "",
]


def tables(whole: int):
    config = SemTokenConfig(max_span_tokens=8, granularity="adaptive")
    c = SemTokenCompressor(config, encoder=bag_of_words, cache=None)
    docs = as_documents(TEXTS)
    fps = c.fingerprints(docs)
    count = c.count_tokens
    for adaptive in (True, False):
        yield (
            docs,
            fps,
            build_table(
                docs,
                fps,
                count,
                adaptive=adaptive,
                entropy_threshold=0.5,
                max_span_tokens=8,
                whole_tokens=whole,
            ),
        )


def test_every_span_is_its_document_text_in_order_without_overlap() -> None:
    for whole in (8, 1000):
        for docs, _, t in tables(whole):
            for k in range(len(t)):
                assert t.texts[k] == docs[int(t.doc[k])].text[t.start[k] : t.end[k]]
            for i in range(len(docs)):
                ends = t.end[t.doc == i]
                starts = t.start[t.doc == i]
                assert np.all(starts[1:] >= ends[:-1])
            assert t.vectors.shape == (len(t), 32)
            assert np.allclose(np.linalg.norm(t.vectors, axis=1), 1.0, atol=1e-5)
            assert t.doc_vectors.shape == (3, 32)


def test_coarsening_covers_the_same_text_with_fewer_spans_when_sentences_may_stay_whole() -> None:
    fine = next(tables(8))[2]
    _, fps, whole = next(tables(1000))
    assert len(whole) < len(fine) == sum(len(fp) for fp in fps)
    # whole sentences: one span per sentence of the first document
    first = [whole.texts[k] for k in range(len(whole)) if whole.doc[k] == 0]
    assert first[-1] == "He died in 1923." and len(first) == 2
    assert sum(whole.tokens) >= sum(fine.tokens) - len(fine)  # counts of joined text, not sums
