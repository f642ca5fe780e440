"""Concurrency and faults (issue 8): threads and async calls on one compressor and cache give the
sequential results; an encoder failing mid-batch surfaces with context and leaves no partial
cache entries. (100 threads / 100 async calls with the fake encoder are in ``test_cache.py``.)"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from semtoken_rag import FingerprintCache, SemTokenCompressor
from semtoken_rag.encoders import CallableEncoder
from semtoken_rag.testing import GUITAR, PARIS, XRAYS, bag_of_words
from semtoken_rag.warm import warm_cache

DOCS = [
    XRAYS,
    PARIS,
    GUITAR,
    "東京は日本の首都です。人口は多いです。",
]
QUERIES = ["Who discovered X-rays?", "capital of France", "guitar strings", None, "首都"]


def calls(n: int) -> list[tuple[str | None, list[str]]]:
    return [(QUERIES[i % 5], DOCS[i % 3 :] + DOCS[: i % 3]) for i in range(n)]


def summary(r) -> tuple:
    return (
        r.kept_tokens,
        tuple(r.documents()),
        tuple((s.doc_index, s.start, s.end) for s in r.spans),
    )


@pytest.mark.slow
def test_8_threads_on_one_real_compressor_and_cache(compressor: SemTokenCompressor) -> None:
    cs = calls(40)
    seq = SemTokenCompressor(encoder=compressor.encoder, cache=None)
    expected = [summary(seq.compress(q, d, budget=20)) for q, d in cs]
    shared = SemTokenCompressor(encoder=compressor.encoder, cache=FingerprintCache())
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda qd: summary(shared.compress(qd[0], qd[1], budget=20)), cs))
    assert got == expected
    assert len(shared.cache) == len(DOCS)


@pytest.mark.slow
def test_100_concurrent_acompress_with_the_real_model(compressor: SemTokenCompressor) -> None:
    cs = calls(100)
    expected = [summary(compressor.compress(q, d, budget=20)) for q, d in cs]

    async def run() -> list:
        return await asyncio.gather(*(compressor.acompress(q, d, budget=20) for q, d in cs))

    assert [summary(r) for r in asyncio.run(run())] == expected


@pytest.mark.slow
def test_100_concurrent_langchain_acompress_documents(compressor: SemTokenCompressor) -> None:
    from langchain_core.documents import Document
    from langchain_semtoken import SemTokenDocumentCompressor

    lc = SemTokenDocumentCompressor(max_tokens=20, compressor=compressor)
    docs = [Document(t, metadata={"n": i}, id=f"d{i}") for i, t in enumerate(DOCS)]
    qs = [q or "" for q, _ in calls(100)]

    def key(out) -> list:
        return [(d.id, d.page_content, d.metadata["n"]) for d in out]

    expected = [key(lc.compress_documents(docs, q)) for q in qs]

    async def run() -> list:
        return await asyncio.gather(*(lc.acompress_documents(docs, q) for q in qs))

    assert [key(out) for out in asyncio.run(run())] == expected


@pytest.mark.slow
def test_100_concurrent_llama_index_aquery_and_apostprocess(compressor: SemTokenCompressor) -> None:
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.llms import MockLLM
    from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
    from llama_index.postprocessor.semtoken import SemTokenEmbedding, SemTokenNodePostprocessor

    post = SemTokenNodePostprocessor(max_tokens=20, compressor=compressor)
    nodes = [
        NodeWithScore(node=TextNode(id_=f"n{i}", text=t), score=0.5) for i, t in enumerate(DOCS)
    ]
    qs = [q or "" for q, _ in calls(100)]

    def key(out) -> list:
        return [(n.node.node_id, n.node.get_content(), n.score) for n in out]

    expected = [key(post.postprocess_nodes(nodes, QueryBundle(q))) for q in qs]

    async def run_post() -> list:
        return await asyncio.gather(*(post.apostprocess_nodes(nodes, QueryBundle(q)) for q in qs))

    assert [key(out) for out in asyncio.run(run_post())] == expected

    index = VectorStoreIndex.from_documents(
        [Document(text=t, id_=f"doc{i}") for i, t in enumerate(DOCS)],
        embed_model=SemTokenEmbedding(compressor=compressor),
    )
    engine = index.as_query_engine(
        similarity_top_k=4, node_postprocessors=[post], llm=MockLLM(max_tokens=4)
    )
    real_qs = [q for q in qs if q.strip()]
    sync = [key(engine.query(q).source_nodes) for q in real_qs]

    async def run_query() -> list:
        return await asyncio.gather(*(engine.aquery(q) for q in real_qs))

    assert [key(r.source_nodes) for r in asyncio.run(run_query())] == sync


class Flaky:
    """A fake encoder that raises on its ``fail_on``-th call (mid-batch of a warm-up)."""

    def __init__(self, fail_on: int) -> None:
        self.calls, self.fail_on = 0, fail_on

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        if self.calls == self.fail_on:
            raise ConnectionError("embedding service went away")
        return bag_of_words(texts)


def test_encoder_failure_surfaces_with_context_and_leaves_no_partial_entries() -> None:
    cache = FingerprintCache()
    c = SemTokenCompressor(encoder=Flaky(fail_on=1), cache=cache)
    with pytest.raises(RuntimeError, match="encoder") as info:
        c.compress("Who discovered X-rays?", DOCS * 3 + ["Extra one. Two."], budget=10)
    assert isinstance(info.value.__cause__, ConnectionError)
    assert len(cache) == 0  # nothing of the failed call was stored
    # the next call works and matches a compressor that never failed
    reference = SemTokenCompressor(encoder=bag_of_words, cache=None)
    got = c.compress("Who discovered X-rays?", DOCS, budget=10)
    assert summary(got) == summary(reference.compress("Who discovered X-rays?", DOCS, budget=10))


def test_encoder_failure_mid_warm_up_keeps_only_whole_entries() -> None:
    docs = [f"Document {i} talks about topic {i}. It has two sentences." for i in range(40)]
    cache = FingerprintCache()
    flaky = CallableEncoder(Flaky(fail_on=5), name="fake")  # 2 encoder calls per batch
    c = SemTokenCompressor(encoder=flaky, cache=cache)
    with pytest.raises(RuntimeError, match="encoder"):
        warm_cache(c, docs, batch_size=8, progress=False)
    clean = SemTokenCompressor(
        encoder=CallableEncoder(bag_of_words, name="fake"), cache=FingerprintCache()
    )
    warm_cache(clean, docs, batch_size=8, progress=False)
    held = cache.keys()
    assert 0 < len(held) < len(docs)  # the batches before the failure, whole
    for key in held:  # every entry held is complete and equal to a clean computation
        a, b = cache.get(key), clean.cache.get(key)
        assert b is not None
        for name in ("starts", "ends", "sentence", "tokens", "entropies"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        np.testing.assert_allclose(a.vectors, b.vectors, rtol=1e-6)
    assert len(held) % 8 == 0
