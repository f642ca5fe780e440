"""The LangChain and LlamaIndex runs of :mod:`benchmarks.e2e`: ingestion (embed only, two passes,
one pass) timed over the corpus, then the query paths per question on stores reloaded from disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from semtoken_rag import FingerprintCache, SemTokenCompressor, SemTokenConfig
from semtoken_rag.config import UNBOUNDED

from .corpus import Chunk, Question
from .measuring import cache_numbers, hit_rate, query_loop, timed


def langchain_run(
    enc: Any, chunks: list[Chunk], questions: list[Question], args: Any, tmp: Path
) -> dict[str, Any]:
    from langchain_core.documents import Document
    from langchain_core.vectorstores import InMemoryVectorStore
    from langchain_semtoken import SemTokenEmbeddings, SemTokenFingerprinter

    def docs() -> list[Document]:
        return [
            Document(c.text, id=c.id, metadata={"title": c.title, "source": c.source})
            for c in chunks
        ]

    n = len(chunks)
    two = SemTokenCompressor(encoder=enc, cache=FingerprintCache(max_entries=UNBOUNDED))
    d = docs()
    _, t_fp = timed(lambda: SemTokenFingerprinter(compressor=two).transform_documents(d))
    plain = InMemoryVectorStore(SemTokenEmbeddings(compressor=two))
    _, t_embed = timed(lambda: plain.add_documents(d))
    one = SemTokenCompressor(
        encoder=enc, cache=FingerprintCache(tmp / "lc-fp", max_entries=UNBOUNDED)
    )
    store = InMemoryVectorStore(SemTokenEmbeddings(compressor=one))
    d = docs()
    _, t_one = timed(lambda: SemTokenFingerprinter(compressor=one).add_documents(store, d))
    _, t_save = timed(one.cache.save)  # type: ignore[union-attr]
    store.dump(str(tmp / "lc-store.json"))
    ingestion = {
        "embed_only_s": t_embed,
        "fingerprint_only_s": t_fp,
        "two_passes_s": t_fp + t_embed,
        "one_pass_s": t_one,
        "chunks_per_s": {
            "embed_only": n / t_embed,
            "two_passes": n / (t_fp + t_embed),
            "one_pass": n / t_one,
        },
        "one_pass_over_embed_only": t_one / t_embed,
        "two_passes_over_embed_only": (t_fp + t_embed) / t_embed,
    }
    vectors = _compare_vectors(plain, store, chunks)

    # Query time, as a query process: the store and a read-only cache from disk.
    ro, t_load = timed(
        lambda: FingerprintCache(tmp / "lc-fp", read_only=True, max_entries=UNBOUNDED)
    )
    q_core = SemTokenCompressor(encoder=enc, cache=ro)
    cold_core = SemTokenCompressor(SemTokenConfig(cache_embeddings=False), encoder=enc)
    loaded = InMemoryVectorStore.load(
        str(tmp / "lc-store.json"), SemTokenEmbeddings(compressor=q_core)
    )
    results = {"InMemoryVectorStore": _lc_paths(loaded, q_core, cold_core, questions, args)}
    results["InMemoryVectorStore"]["hit_rate_st_pooling"] = hit_rate(
        questions,
        [[x.id for x in plain.similarity_search(q.text, k=args.k)] for q in questions],
    )
    try:
        from langchain_community.vectorstores import FAISS
    except ImportError:
        results["FAISS"] = {"skipped": "langchain-community or faiss not installed"}
    else:
        pairs = [(i, v["text"], v["vector"], v["metadata"]) for i, v in store.store.items()]
        faiss_store = FAISS.from_embeddings(
            [(t, v) for _, t, v, _ in pairs],
            SemTokenEmbeddings(compressor=q_core),
            metadatas=[m for *_, m in pairs],
            ids=[i for i, *_ in pairs],
        )
        results["FAISS"] = _lc_paths(faiss_store, q_core, cold_core, questions, args)
    cache = cache_numbers(ro, t_save, t_load)
    return {"ingestion": ingestion, "vectors": vectors, "query": results, "cache": cache}


def _lc_paths(
    store: Any, q_core: Any, cold_core: Any, questions: list[Question], args: Any
) -> dict[str, Any]:
    from langchain_classic.retrievers import ContextualCompressionRetriever
    from langchain_semtoken import SemTokenDocumentCompressor

    retriever = store.as_retriever(search_kwargs={"k": args.k})

    def compressing(core: Any) -> Any:
        return SemTokenDocumentCompressor(compressor=core, max_tokens=args.budget)

    def retriever_of(compressor: Any) -> Any:
        return ContextualCompressionRetriever(base_compressor=compressor, base_retriever=retriever)

    warm, cold = retriever_of(compressing(q_core)), retriever_of(compressing(cold_core))
    alone = compressing(q_core)
    held: dict[str, Any] = {}

    def retrieve(q: str) -> Any:
        held["docs"] = retriever.invoke(q)
        return held["docs"]

    def compress(q: str) -> None:
        alone.compress_documents(held["docs"], q)

    before = (q_core.cache.hits, q_core.cache.misses)
    lat, got, texts = query_loop(
        questions,
        {
            "retrieve": retrieve,
            "encode": lambda q: q_core.encoder.encode_query([q]),
            "compress": compress,
            "warm": warm.invoke,
            "cold": cold.invoke,
        },
        lambda out: [x.id for x in out],
    )
    return _query_summary(lat, got, texts, questions, q_core.cache, before)


def _query_summary(
    lat: dict[str, dict[str, float]],
    got: dict[str, list[list[str]]],
    texts: dict[str, list[str]],
    questions: list[Question],
    cache: Any,
    before: tuple[int, int],
) -> dict[str, Any]:
    p50 = {k: v["p50_ms"] for k, v in lat.items()}
    return {
        "latency": lat,
        "cache_hits": cache.hits - before[0],
        "cache_misses": cache.misses - before[1],
        "warm_equals_cold": sum(a == b for a, b in zip(texts["warm"], texts["cold"], strict=True))
        / max(1, len(questions)),
        "hit_rate": hit_rate(questions, got["retrieve"]),
        "warm_over_cold": p50["warm"] / p50["cold"],
        "warm_over_retrieve_plus_encode": p50["warm"] / (p50["retrieve"] + p50["encode"]),
    }


def llamaindex_run(
    enc: Any, chunks: list[Chunk], questions: list[Question], args: Any, tmp: Path
) -> dict[str, Any]:
    from llama_index.core import StorageContext, VectorStoreIndex, load_index_from_storage
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.schema import TextNode
    from llama_index.postprocessor.semtoken import (
        SemTokenEmbedding,
        SemTokenFingerprinter,
        SemTokenNodePostprocessor,
    )

    def nodes() -> list[TextNode]:
        return [
            TextNode(
                id_=c.id,
                text=c.text,
                metadata={"title": c.title, "source": c.source}
                if c.title
                else {"source": c.source},
                excluded_embed_metadata_keys=["source"],
                excluded_llm_metadata_keys=["source"],
            )
            for c in chunks
        ]

    n = len(chunks)
    base = SemTokenCompressor(encoder=enc, cache=None)
    embed = SemTokenEmbedding(compressor=base, embed_batch_size=64)
    plain_pipe = IngestionPipeline(transformations=[embed], disable_cache=True)
    _, t_embed = timed(lambda: VectorStoreIndex(plain_pipe.run(nodes=nodes()), embed_model=embed))
    one = SemTokenCompressor(
        encoder=enc, cache=FingerprintCache(tmp / "li-fp", max_entries=UNBOUNDED)
    )
    pipe = IngestionPipeline(
        transformations=[SemTokenFingerprinter(one, embed=True)], disable_cache=True
    )
    index, t_one = timed(
        lambda: VectorStoreIndex(
            pipe.run(nodes=nodes()), embed_model=SemTokenEmbedding(compressor=one)
        )
    )
    _, t_save = timed(one.cache.save)  # type: ignore[union-attr]
    index.storage_context.persist(persist_dir=str(tmp / "li-index"))
    ingestion = {
        "embed_only_s": t_embed,
        "one_pass_s": t_one,
        "chunks_per_s": {"embed_only": n / t_embed, "one_pass": n / t_one},
        "one_pass_over_embed_only": t_one / t_embed,
    }

    ro, t_load = timed(
        lambda: FingerprintCache(tmp / "li-fp", read_only=True, max_entries=UNBOUNDED)
    )
    q_core = SemTokenCompressor(encoder=enc, cache=ro)
    cold_core = SemTokenCompressor(SemTokenConfig(cache_embeddings=False), encoder=enc)
    loaded = load_index_from_storage(
        StorageContext.from_defaults(persist_dir=str(tmp / "li-index")),
        embed_model=SemTokenEmbedding(compressor=q_core),
    )
    retriever = loaded.as_retriever(similarity_top_k=args.k)
    warm = SemTokenNodePostprocessor(max_tokens=args.budget, compressor=q_core)
    cold = SemTokenNodePostprocessor(max_tokens=args.budget, compressor=cold_core)
    held: dict[str, Any] = {}

    def retrieve(q: str) -> Any:
        held["nodes"] = retriever.retrieve(q)
        return held["nodes"]

    def compress(q: str) -> None:
        warm.postprocess_nodes(held["nodes"], query_str=q)

    before = (ro.hits, ro.misses)
    lat, got, texts = query_loop(
        questions,
        {
            "retrieve": retrieve,
            "encode": lambda q: enc.encode_query([q]),
            "compress": compress,
            "warm": lambda q: warm.postprocess_nodes(retriever.retrieve(q), query_str=q),
            "cold": lambda q: cold.postprocess_nodes(retriever.retrieve(q), query_str=q),
        },
        lambda out: [x.node.node_id for x in out],
    )
    query = {"VectorStoreIndex": _query_summary(lat, got, texts, questions, ro, before)}
    return {"ingestion": ingestion, "query": query, "cache": cache_numbers(ro, t_save, t_load)}


def _compare_vectors(plain: Any, one: Any, chunks: list[Chunk]) -> dict[str, Any]:
    """Cosine between each chunk's sentence-transformers embedding and its one-pass vector."""
    cos = np.array(
        [float(np.dot(plain.store[c.id]["vector"], one.store[c.id]["vector"])) for c in chunks]
    )
    titled = np.array([bool(c.title) for c in chunks])

    def pct(a: np.ndarray) -> dict[str, float]:
        if not len(a):
            return {}
        return {f"p{p}": float(np.percentile(a, p)) for p in (5, 50)} | {"min": float(a.min())}

    return {
        "cosine_all": pct(cos),
        "cosine_titled": pct(cos[titled]),
        "cosine_untitled": pct(cos[~titled]),
    }
