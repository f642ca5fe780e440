"""Instrumentation events, the event loop kept free, and metadata that cannot be deep-copied."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.callbacks import CallbackManager, CBEventType, LlamaDebugHandler
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import NodeWithScore, TextNode
from llama_index.postprocessor.semtoken import SemTokenEmbedding, SemTokenNodePostprocessor

from semtoken_rag import SemTokenCompressor
from semtoken_rag.testing import bag_of_words

QUERY = "Who discovered X-rays, and when?"
BUDGET = 40


class Recorder(BaseEventHandler):
    """Keeps every instrumentation event it is handed."""

    events: list[BaseEvent] = []

    @classmethod
    def class_name(cls) -> str:
        return "Recorder"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    root = get_dispatcher()
    handler = Recorder(events=[])
    root.add_event_handler(handler)
    try:
        yield handler
    finally:
        root.event_handlers.remove(handler)


# --- instrumentation --------------------------------------------------------------------------


@pytest.mark.slow
def test_query_engine_dispatches_rerank_events(
    documents: list[Document],
    embed_model: SemTokenEmbedding,
    semtoken_compressor: SemTokenCompressor,
    recording_llm: Any,
    recorder: Recorder,
) -> None:
    debug = LlamaDebugHandler()
    post = SemTokenNodePostprocessor(max_tokens=BUDGET, compressor=semtoken_compressor)
    index = VectorStoreIndex.from_documents(documents, embed_model=embed_model)
    engine = RetrieverQueryEngine.from_args(
        index.as_retriever(similarity_top_k=4),
        llm=recording_llm,
        node_postprocessors=[post],
        callback_manager=CallbackManager([debug]),  # handed to the postprocessors too
    )
    for run in (lambda: engine.query(QUERY), lambda: asyncio.run(engine.aquery(QUERY))):
        recorder.events.clear()
        response = run()
        starts = [e for e in recorder.events if isinstance(e, ReRankStartEvent)]
        ends = [e for e in recorder.events if isinstance(e, ReRankEndEvent)]
        assert len(starts) == 1 and len(ends) == 1
        start, end = starts[0], ends[0]
        assert start.model_name == f"semtoken:{post.compressor.encoder.identity}"
        assert len(start.nodes) == 4 and start.query is not None
        assert start.query.query_str == QUERY
        assert recorder.events.index(start) < recorder.events.index(end)
        assert start.span_id and start.span_id == end.span_id  # inside postprocess_nodes' span
        kept = [n.node.metadata["semtoken"]["kept_tokens"] for n in end.nodes]
        assert kept and sum(kept) <= BUDGET
        assert [n.node.node_id for n in end.nodes] == [
            n.node.node_id for n in response.source_nodes
        ]
    assert len(debug.get_event_pairs(CBEventType.RERANKING)) == 2  # the legacy callbacks too


# --- the event loop stays free ----------------------------------------------------------------


def worst_loop_gap(call: Any) -> tuple[float, float]:
    """Run ``await call()`` beside a ticker; return (the ticker's worst gap, the call's time)."""

    async def main() -> tuple[float, float]:
        gaps: list[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            last = time.perf_counter()
            while not done.is_set():
                await asyncio.sleep(0.002)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0.01)
        t0 = time.perf_counter()
        await call()
        took = time.perf_counter() - t0
        done.set()
        await task
        return max(gaps), took

    return asyncio.run(main())


def heavy_nodes(n: int = 120) -> list[NodeWithScore]:
    """Nodes whose copies cost real work: big metadata lists and an embedding each."""
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]
    return [
        NodeWithScore(
            node=TextNode(
                text=" ".join(
                    f"Line {j} of node {i} names {words[(i + j) % 10]}." for j in range(5)
                ),
                metadata={"title": f"node {i}", "history": list(range(20_000))},
                embedding=[0.5] * 1536,
            ),
            score=0.5,
        )
        for i in range(n)
    ]


def test_apostprocess_nodes_never_blocks_the_event_loop() -> None:
    """The worst pause of a ticker on the loop stays a small share of the call: model, scoring
    and node copies run in a worker thread. (Before the fix the copies ran on the loop: the
    worst gap was most of the call.) A ratio within one run, not a wall-clock limit."""
    post = SemTokenNodePostprocessor(ratio=0.3, compressor=SemTokenCompressor(encoder=bag_of_words))
    nodes = heavy_nodes()
    post.postprocess_nodes(nodes[:2], query_str="gamma")  # first-use costs out of the way
    gap, took = worst_loop_gap(lambda: post.apostprocess_nodes(nodes, query_str="gamma delta"))
    assert took > 0.05, "the call must be long enough to measure"
    assert gap < 0.25 * took, f"the loop stalled {gap:.3f} s of a {took:.3f} s call"


@pytest.mark.parametrize(
    "method", ["aget_text_embedding", "aget_query_embedding", "aget_text_embedding_batch"]
)
def test_async_embeddings_run_the_encoder_off_the_loop(method: str) -> None:
    """The encoder returns only once the loop has ticked: on the loop it would wait for ever."""
    ticked = threading.Event()

    def encoder(texts: list[str]) -> np.ndarray:
        if not ticked.wait(timeout=20):
            raise AssertionError("the event loop did not run while the encoder worked")
        return np.ones((len(texts), 4))

    ticked.set()
    embed = SemTokenEmbedding(encoder=encoder)  # its identity probe runs here, on no loop
    ticked.clear()

    async def main() -> Any:
        async def ticker() -> None:
            for _ in range(3):
                await asyncio.sleep(0.001)
            ticked.set()

        task = asyncio.create_task(ticker())
        arg: Any = ["a", "b"] if method.endswith("batch") else "a"
        out = await getattr(embed, method)(arg)
        await task
        return out

    out = asyncio.run(main())
    assert np.asarray(out).shape[-1] == 4


# --- metadata that cannot be deep-copied --------------------------------------------------------


class Client:
    """Stands for an open client kept in node metadata: it refuses to be copied."""

    def __deepcopy__(self, memo: dict[int, Any]) -> Client:
        raise TypeError("cannot pickle '_thread.lock' object")


def test_metadata_that_cannot_be_deep_copied_is_shared_not_a_crash() -> None:
    lock, client = threading.Lock(), Client()
    text = (
        "Wilhelm Röntgen discovered X-rays in 1895. He received the first Nobel Prize in 1901. "
        "Paris is the capital of France. The Eiffel Tower was completed in 1889."
    )
    meta = {"lock": lock, "nested": {"client": client, "tags": ["a"]}, "tags": ["x"]}
    node = TextNode(text=text, metadata=meta)
    post = SemTokenNodePostprocessor(
        max_tokens=14, compressor=SemTokenCompressor(encoder=bag_of_words)
    )
    for out in (
        post.postprocess_nodes([NodeWithScore(node=node, score=0.4)], query_str="X-rays"),
        asyncio.run(
            post.apostprocess_nodes([NodeWithScore(node=node, score=0.4)], query_str="X-rays")
        ),
    ):
        (item,) = out
        got = item.node.metadata
        assert got["lock"] is lock and got["nested"]["client"] is client  # shared
        assert got["tags"] == ["x"] and got["tags"] is not meta["tags"]  # the rest is copied
        assert got["nested"] is not meta["nested"]
        assert got["nested"]["tags"] is not meta["nested"]["tags"]
        assert item.node.get_content() != text
    assert node.metadata == meta and set(meta) == {"lock", "nested", "tags"}  # input untouched
    assert node.get_content() == text
