"""Relevance: invariants of the signals and their fusion, on hand-built span tables."""

from __future__ import annotations

import numpy as np
import pytest

from semtoken_rag.config import Tuning
from semtoken_rag.pipeline.relevance import bridges, lexical_weight, relevance
from semtoken_rag.pipeline.spans import doc_texts_with_titles
from semtoken_rag.types import SpanTable


def table(docs: list[list[str]], vectors: np.ndarray, titles: list[str] | None = None) -> SpanTable:
    """A span table over documents given as lists of sentences, with the given span vectors."""
    titles = titles or [""] * len(docs)
    doc, start, end, texts = [], [], [], []
    for i, sentences in enumerate(docs):
        pos = 0
        for s in sentences:
            doc.append(i)
            start.append(pos)
            end.append(pos + len(s))
            texts.append(s)
            pos += len(s) + 1
    v = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    doc_arr = np.array(doc)
    dv = np.stack([v[doc_arr == i].mean(axis=0) for i in range(len(docs))])
    return SpanTable(
        doc=doc_arr,
        start=np.array(start),
        end=np.array(end),
        texts=texts,
        tokens=np.array([len(t.split()) for t in texts]),
        vectors=v.astype(np.float32),
        entropy=np.linspace(0.1, 1.0, len(texts)),
        titles=titles,
        doc_texts=doc_texts_with_titles([" ".join(d) for d in docs], titles),
        doc_vectors=(dv / np.linalg.norm(dv, axis=1, keepdims=True)).astype(np.float32),
    )


DOCS = [
    ["The key a54e-e625-4f1b-9c7d maps to the value 77.", "Nothing else here."],
    ["Keys are like values.", "The value of a key matters a great deal."],
    ["Paris is the capital of France.", "It has museums."],
]


def identifier_query() -> tuple[SpanTable, np.ndarray]:
    rng = np.random.default_rng(0)
    v = rng.normal(size=(6, 8))
    q = v[3] / np.linalg.norm(v[3])  # the dense winner is another span entirely
    r = relevance(
        'What is the value of key "a54e-e625-4f1b-9c7d"?',
        q,
        table(DOCS, v),
        fusion="adaptive",
        feedback=True,
        use_entropy=True,
        tuning=Tuning(),
    )
    return table(DOCS, v), r.span


def test_an_exact_identifier_match_puts_its_document_above_all_others() -> None:
    t, span = identifier_query()
    assert span[t.doc == 0].min() > span[t.doc != 0].max()
    assert span.min() >= 0.0 and span.max() == pytest.approx(1.0)


@pytest.mark.xfail(
    strict=True,
    reason="issue 13: the exact-match bonus goes to every span of the matching document, so a "
    "neighbour of the identifier's span can outrank it",
)
def test_the_span_holding_the_identifier_ranks_first() -> None:
    _, span = identifier_query()
    assert int(np.argmax(span)) == 0


@pytest.mark.parametrize("fusion", ["adaptive", "dense", "lexical", "document"])
def test_every_fusion_gives_scores_in_unit_range_per_span_and_document(fusion: str) -> None:
    rng = np.random.default_rng(1)
    t = table(DOCS, rng.normal(size=(6, 8)))
    q = rng.normal(size=8)
    r = relevance(
        "capital of France",
        q / np.linalg.norm(q),
        t,
        fusion=fusion,
        feedback=True,
        use_entropy=True,
        tuning=Tuning(),
    )
    assert r.span.shape == (6,) and r.doc.shape == (3,)
    assert np.all((r.span >= 0) & (r.span <= 1)) and np.all((r.doc >= 0) & (r.doc <= 1))


def test_query_free_scores_are_information_density_from_the_floor_to_one() -> None:
    t = table(DOCS, np.eye(6, 8))
    r = relevance(
        None, None, t, fusion="adaptive", feedback=True, use_entropy=True, tuning=Tuning()
    )
    assert r.span.min() == pytest.approx(0.5) and r.span.max() == pytest.approx(1.0)
    assert np.all(np.diff(r.span) > 0)  # entropy rises along the table: so does the score
    flat = relevance(None, None, t, fusion="adaptive", feedback=True, use_entropy=False,
                     tuning=Tuning(density_floor=0.2))  # fmt: skip
    assert np.allclose(flat.span, 1.0)


def test_bridges_link_documents_by_title_mention_either_way() -> None:
    t = table(
        [["Ada Lovelace worked with Babbage."], ["Charles Babbage built engines."], ["Paris."]],
        np.eye(3, 4),
        titles=["Ada Lovelace", "Charles Babbage (engineer)", "Paris"],
    )
    fused = np.array([2.0, 0.0, 0.5])
    assert bridges(fused, t).tolist() == [0.0, 0.0, 0.0]  # "charles babbage" is not in doc 0
    t2 = table(
        [["Ada Lovelace worked with Charles Babbage."], ["He built engines."], ["Paris."]],
        np.eye(3, 4),
        titles=["Ada Lovelace", "Charles Babbage (engineer)", "Paris"],
    )
    assert bridges(fused, t2).tolist() == [0.0, 1.0, 0.0]


def test_lexical_weight_grows_with_query_specificity_between_the_tuned_bounds() -> None:
    tuning = Tuning(generic_terms=2, specific_terms=4)
    assert lexical_weight("who wrote hamlet", tuning) == 0.0
    assert lexical_weight("hamlet danish prince elsinore", tuning) == 1.0
    assert 0.0 < lexical_weight("hamlet danish prince", tuning) < 1.0
