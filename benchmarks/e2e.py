"""End to end: ingest real chunks with the fingerprinter, then retrieve (k = 10) and compress per
question, with and without ingested fingerprints (issue 18).

Corpus and questions: :mod:`benchmarks.e2e_corpus` (NQ passages, HotpotQA paragraphs, CLAPNQ
passages, QMSum turns, TriviaQA lines; questions from the first four). One loaded MiniLM serves
every compressor, embedding model and store.

Ingestion, per framework, timed over the whole corpus:
- LangChain ``InMemoryVectorStore``: *embed only* (``add_documents`` with ``SemTokenEmbeddings``,
  sentence-transformers pooling); *two passes* (``SemTokenFingerprinter.transform_documents``,
  then that ``add_documents``); *one pass* (``SemTokenFingerprinter.add_documents``: the
  embeddings come from the fingerprinting pass).
- LlamaIndex ``VectorStoreIndex``: *embed only* (``IngestionPipeline([SemTokenEmbedding])``, then
  the index); *one pass* (``IngestionPipeline([SemTokenFingerprinter(embed=True)])``, then the
  index). Pipelines run with ``disable_cache=True``, so both time the encoder work, not
  LlamaIndex's node cache.

Query time, per question and store: *retrieve* (k chunks), *encode* (one query encode alone),
*warm* (retrieve + compress to ``--budget`` with the cache written at ingestion, saved, and loaded
read-only in place of a query process), *cold* (the same with no cache: one encoder pass over the
retrieved chunks per question), *compress* (the warm compression alone, on the retrieved chunks).
The stores and caches are reloaded from disk first (``InMemoryVectorStore.dump/load``,
``StorageContext.persist`` / ``load_index_from_storage``). FAISS (``langchain-community``), when
installed, is built from the one-pass vectors and queried the same way.

Run (HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1):
    python -m benchmarks.e2e                              # 10,000 chunks, 200 questions (~30 min)
    python -m benchmarks.e2e --chunks 2000 --questions 200
    python -m benchmarks.e2e --quick                      # a smoke run: 24 chunks, 4 questions
Writes ``benchmarks/results/e2e.json`` and ``e2e.md`` (the section for BENCHMARKS.md); ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == HERE:  # run as a script: don't let
    sys.path.pop(0)  # benchmarks/datasets.py shadow the `datasets` package transformers imports

import numpy as np  # noqa: E402

from semtoken_rag import FingerprintCache, SemTokenCompressor, SemTokenConfig  # noqa: E402

from .e2e_corpus import Chunk, Question, build  # noqa: E402
from .e2e_report import markdown  # noqa: E402

BIG = 10**8  # max_entries: every span of the corpus stays (never evicts)
Timed = dict[str, list[float]]


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def machine() -> dict[str, Any]:
    import torch

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
    }


def set_threads(n: int) -> None:
    """Torch's and faiss's OpenMP threads (in this thread, where everything runs)."""
    import torch

    torch.set_num_threads(n)
    try:
        import faiss
    except ImportError:  # pragma: no cover - faiss-cpu is a core dependency
        return
    faiss.omp_set_num_threads(n)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def stats(xs: list[float]) -> dict[str, float]:
    a = np.array(xs, dtype=np.float64) * 1e3
    return {"p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95))}


def query_loop(
    questions: list[Question], paths: dict[str, Callable[[str], Any]], ids: Callable[[Any], list]
) -> tuple[dict[str, dict[str, float]], dict[str, list[list[str]]], dict[str, list[str]]]:
    """Each path once per question, interleaved (load drifts hit them alike); after one untimed
    warm-up call each. Returns percentiles, the ids each returned, and their kept texts."""
    for fn in paths.values():
        fn("warm up the model and the store")
    times: Timed = {name: [] for name in paths}
    got: dict[str, list[list[str]]] = {name: [] for name in paths}
    texts: dict[str, list[str]] = {name: [] for name in paths}
    for q in questions:
        for name, fn in paths.items():
            out, dt = timed(lambda fn=fn, text=q.text: fn(text))  # type: ignore[misc]
            times[name].append(dt)
            if isinstance(out, list):
                got[name].append(ids(out))
                texts[name].append("\n".join(_text(x) for x in out))
    return {n: stats(v) for n, v in times.items()}, got, texts


def _text(x: Any) -> str:
    node = getattr(x, "node", None)
    return node.get_content() if node is not None else str(getattr(x, "page_content", x))


def hit_rate(questions: list[Question], retrieved: list[list[str]]) -> float | None:
    """Share of questions (with a gold chunk in the corpus) with one among the retrieved."""
    pairs = [(set(q.gold), set(r)) for q, r in zip(questions, retrieved, strict=True) if q.gold]
    return sum(1 for g, r in pairs if g & r) / len(pairs) if pairs else None


def cache_numbers(cache: FingerprintCache, saved: float, loaded: float) -> dict[str, Any]:
    s = cache.stats()
    return {
        "documents": int(s["documents"]),
        "spans": int(s["entries"]),
        "disk_bytes": int(s["disk_bytes"]),
        "disk_bytes_per_chunk": s["disk_bytes"] / max(1, s["documents"]),
        "spans_per_chunk": s["entries"] / max(1, s["documents"]),
        "save_s": saved,
        "load_s": loaded,
    }


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
    two = SemTokenCompressor(encoder=enc, cache=FingerprintCache(max_entries=BIG))
    d = docs()
    _, t_fp = timed(lambda: SemTokenFingerprinter(compressor=two).transform_documents(d))
    plain = InMemoryVectorStore(SemTokenEmbeddings(compressor=two))
    _, t_embed = timed(lambda: plain.add_documents(d))
    one = SemTokenCompressor(encoder=enc, cache=FingerprintCache(tmp / "lc-fp", max_entries=BIG))
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
    ro, t_load = timed(lambda: FingerprintCache(tmp / "lc-fp", read_only=True, max_entries=BIG))
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
    one = SemTokenCompressor(encoder=enc, cache=FingerprintCache(tmp / "li-fp", max_entries=BIG))
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

    ro, t_load = timed(lambda: FingerprintCache(tmp / "li-fp", read_only=True, max_entries=BIG))
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


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with its measured value and whether it is met."""
    rows = []
    for fw in ("langchain", "llamaindex"):
        for store, q in result[fw]["query"].items():
            if "latency" not in q:
                continue
            rows += [
                {
                    "target": f"{store}: warm p50 <= 10 % of cold p50",
                    "value": q["warm_over_cold"],
                    "met": q["warm_over_cold"] <= 0.10,
                },
                {
                    "target": f"{store}: warm p50 <= 2x (retrieve + one query encode) p50",
                    "value": q["warm_over_retrieve_plus_encode"],
                    "met": q["warm_over_retrieve_plus_encode"] <= 2.0,
                },
                {
                    "target": f"{store}: 0 cache misses at query time",
                    "value": q["cache_misses"],
                    "met": q["cache_misses"] == 0,
                },
            ]
        ratio = result[fw]["ingestion"]["one_pass_over_embed_only"]
        rows.append(
            {
                "target": f"{fw}: ingestion with fingerprints <= 1.2x embedding only",
                "value": ratio,
                "met": ratio <= 1.2,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--chunks", type=int, default=10_000, help="corpus size (<= 10,840)")
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--k", type=int, default=10, help="chunks retrieved per question")
    ap.add_argument("--budget", type=int, default=256, help="tokens kept per question")
    ap.add_argument("--chunk-tokens", type=int, default=120)
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch and faiss threads (1: on a shared 2-core machine a second thread contends "
        "with the other load; one query encode took 484 ms at 2 threads, 14 ms at 1, loadavg 4)",
    )
    ap.add_argument("--quick", action="store_true", help="24 chunks, 4 questions: a smoke run")
    ap.add_argument("--out", default=str(HERE / "results"), help="folder for e2e.json / e2e.md")
    ap.add_argument("--name", default="e2e")
    args = ap.parse_args(argv)
    if args.quick:
        args.chunks, args.questions = 24, 4
    set_threads(args.threads)
    load_before = loadavg()
    enc = SemTokenCompressor(cache=None).encoder
    enc.encode_query(["load the model"])
    count = SemTokenCompressor(encoder=enc, cache=None).token_counter
    chunks, questions = build(args.chunks, args.questions, count, args.chunk_tokens)
    tokens = [count(c.text) for c in chunks]
    result: dict[str, Any] = {
        "command": "python -m benchmarks.e2e "
        + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])),
        "machine": machine(),
        "loadavg_before": load_before,
        "corpus": {
            "chunks": len(chunks),
            "tokens": int(sum(tokens)),
            "tokens_per_chunk_p50": float(np.median(tokens)),
            "by_source": {
                s: sum(c.source == s for c in chunks) for s in sorted({c.source for c in chunks})
            },
        },
        "questions": {
            "n": len(questions),
            "by_source": {
                s: sum(q.source == s for q in questions)
                for s in sorted({q.source for q in questions})
            },
            "with_gold_in_corpus": sum(bool(q.gold) for q in questions),
        },
        "k": args.k,
        "budget": args.budget,
    }
    with tempfile.TemporaryDirectory() as tmp:
        result["langchain"] = langchain_run(enc, chunks, questions, args, Path(tmp))
        result["loadavg_mid"] = loadavg()
        result["llamaindex"] = llamaindex_run(enc, chunks, questions, args, Path(tmp))
    result["loadavg_after"] = loadavg()
    result["targets"] = targets(result)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    text = markdown(result)
    (out / f"{args.name}.md").write_text(text, encoding="utf-8")
    print(text)
    return result


if __name__ == "__main__":
    main()
