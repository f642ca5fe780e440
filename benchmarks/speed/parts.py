"""The parts of :mod:`benchmarks.speed`, each run in a process of its own: ``backend``,
``threads``, ``scale``, ``cache`` (and ``cache-load``, the fresh process that loads the cache
``cache`` built)."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from semtoken_rag.config import UNBOUNDED

BENCHMARKS = Path(__file__).resolve().parents[1]
ROOT = BENCHMARKS.parent
RESULTS = BENCHMARKS / "results"
BACKENDS = ("torch", "onnx", "openvino")
RATIOS = (4, 8, 16)
SETS = {"nq": 20, "hotpotqa": 60, "kv": 30}  # sets with answer strings; limits (nq: x3 positions)
QUICK_SETS = {"nq": 4, "hotpotqa": 10, "kv": 6}
SIZES = (1_000, 4_000, 16_000, 64_000, 256_000, 1_000_000)
CACHE_SPANS = 1_000_000


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "n/a"


def peak_rss_mb() -> float:
    from ..measure import peak_rss_mb as own_peak

    return own_peak()


def _compressor(backend: str, encoder: Any = None, cache: Any = None, **kw: Any) -> Any:
    """A compressor on ``backend`` (sharing ``encoder`` when given); ``cache=None``: the
    default in-memory cache unless ``cache_embeddings=False``."""
    from semtoken_rag import SemTokenCompressor, SemTokenConfig

    cfg = SemTokenConfig(backend=backend, **kw)  # type: ignore[arg-type]
    if cache is None:
        return SemTokenCompressor(cfg, encoder=encoder)
    return SemTokenCompressor(cfg, encoder=encoder, cache=cache)


def _texts(item: dict[str, Any]) -> list[Any]:
    return [(t, m) for t, m in item["documents"]]


def part_backend(backend: str, quick: bool) -> dict[str, Any]:
    from semtoken_rag import FingerprintCache

    from .. import datasets as D
    from .. import metrics as X
    from ..methods import Tokens, clip

    t0 = time.perf_counter()
    base = _compressor(backend, cache_embeddings=False)
    base.encoder.encode_query(["load the model"])
    load_s = time.perf_counter() - t0
    tok = Tokens()
    nq = D.load_nq(3 if quick else 10, positions=("middle",))
    # encoder throughput: every NQ-20 document of the items, one pass, no cache
    docs = [d for it in nq for d in _texts(it)]
    m = base.encoder.load()
    n_tokens = sum(len(m.tokenizer(t, add_special_tokens=False)["input_ids"]) for t, _ in docs)
    t = time.perf_counter()
    base.fingerprints(docs)
    pass_s = time.perf_counter() - t
    cold, warm, warm_stages = [], [], []
    for it in nq:
        c = _compressor(backend, base.encoder, FingerprintCache())
        t = time.perf_counter()
        c.compress(it["query"], _texts(it), ratio=0.25)
        cold.append(time.perf_counter() - t)
        for k in range(3):  # a query never seen, every fingerprint cached
            t = time.perf_counter()
            r = c.compress(f"{it['query']} ({k})", _texts(it), ratio=0.25)
            warm.append(time.perf_counter() - t)
            warm_stages.append(r.timings)
    quality: dict[str, dict[str, float]] = {}
    q = _compressor(backend, base.encoder)
    for name, limit in (QUICK_SETS if quick else SETS).items():
        items = D.load(name, limit)
        scores: dict[str, list[float]] = {f"{r}x": [] for r in RATIOS}
        for it in items:
            texts = [t for t, _ in it["documents"]]
            original = sum(tok.count(x) for x in texts)
            answers = X.scorable_answers(it["answers"], it["query"], "\n".join(texts))
            for r in RATIOS:
                kept = q.compress(it["query"], list(it["documents"]), budget=max(1, original // r))
                clipped, _, _ = clip(kept.documents(), max(1, original // r), tok)
                s = X.answer_recall(clipped, answers)
                if s is not None:
                    scores[f"{r}x"].append(s)
        quality[name] = {k: 100 * statistics.mean(v) for k, v in scores.items() if v}
        quality[name]["items"] = len(items)
    return {
        "backend": backend,
        "identity": base.encoder.identity,
        "load_s": load_s,
        "encoder_tokens": n_tokens,
        "pass_s": pass_s,
        "tokens_per_s": n_tokens / pass_s,
        "cold_ms_p50": 1e3 * statistics.median(cold),
        "warm_ms_p50": 1e3 * statistics.median(warm),
        "warm_ms_p95": 1e3 * sorted(warm)[int(0.95 * (len(warm) - 1))],
        "warm_stage_ms_p50": {
            s: 1e3 * statistics.median([w.get(s, 0.0) for w in warm_stages]) for s in warm_stages[0]
        },
        "nq_items": len(nq),
        "answer_recall": quality,
        "peak_rss_mb": peak_rss_mb(),
    }


def part_threads(backend: str, quick: bool) -> dict[str, Any]:
    from semtoken_rag.encoders import threads

    from .. import datasets as D

    items = D.load_nq(2 if quick else 8, positions=("first", "last"))
    calls = [(it["query"], _texts(it)) for it in items]

    def key(r: Any) -> tuple:
        return tuple((s.doc_index, s.start, s.end, s.score) for s in r.spans)

    out: dict[str, Any] = {"backend": backend, "calls": len(calls), "cores": threads.cores()}
    base = _compressor(backend, cache_embeddings=False)
    base.compress("warm up", ["Load the model once. Then time it."], ratio=0.5)
    for label, fixed in (("auto", None), ("fixed_cores", threads.cores())):
        c = _compressor(backend, base.encoder, cache_embeddings=False, threads=fixed)
        t = time.perf_counter()
        seq = [key(c.compress(q, d, ratio=0.25)) for q, d in calls]
        one = time.perf_counter() - t
        t = time.perf_counter()
        with ThreadPoolExecutor(max_workers=16) as pool:
            par = list(pool.map(lambda qd, c=c: key(c.compress(qd[0], qd[1], ratio=0.25)), calls))
        many = time.perf_counter() - t
        out[label] = {
            "one_thread_s": one,
            "sixteen_threads_s": many,
            "throughput_ratio": one / many,
            "same_results": par == seq,
        }
    return out


def part_scale(backend: str, sizes: list[int]) -> dict[str, Any]:
    rows = []
    for size in sizes:
        env = {**os.environ, "SEMTOKEN_BENCH_BACKEND": backend}
        res = subprocess.run(
            [sys.executable, "-m", "benchmarks.measure", "--no-encoder-pass", str(size)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        if res.returncode != 0:
            rows.append({"target_tokens": size, "error": res.stderr[-1500:]})
            break
        rows.extend(json.loads(res.stdout.strip().splitlines()[-1])["rows"])
    import numpy as np

    ok = [r for r in rows if "seconds" in r]
    slope = None
    if len(ok) >= 2:
        x = np.log([r["input_tokens"] for r in ok])
        slope = float(np.polyfit(x, np.log([r["seconds"] for r in ok]), 1)[0])
    return {"backend": backend, "rows": rows, "slope": slope}


def part_cache(backend: str, spans: int, folder: str | None = None) -> dict[str, Any]:
    """Build (this process) then load (a fresh process) a cache of ``spans`` spans."""
    import numpy as np

    from semtoken_rag import FingerprintCache
    from semtoken_rag.cache.fingerprint_cache import document_key
    from semtoken_rag.types import DocFingerprints, Document

    from .. import datasets as D

    folder = folder or tempfile.mkdtemp(prefix="semtoken-1m-")
    items = D.load_nq(5, positions=("middle",))
    c = _compressor(
        backend, None, FingerprintCache(os.path.join(folder, "fp"), max_entries=UNBOUNDED)
    )
    for it in items:
        c.warm(_texts(it))
    rng = np.random.default_rng(0)
    dim, per_doc = 384, 40
    t = time.perf_counter()
    held = c.cache.stats()["entries"]
    d = 0
    while held < spans:
        n = min(per_doc, spans - held)
        v = rng.standard_normal((n, dim)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        fp = DocFingerprints(
            starts=np.arange(n, dtype=np.int64) * 50,
            ends=np.arange(n, dtype=np.int64) * 50 + 49,
            sentence=np.arange(n, dtype=np.int64),
            vectors=v,
            entropies=np.ones(n, np.float32),
            tokens=np.full(n, 12, np.int64),
            doc_vector=v[0],
        )
        c.cache.put(document_key(c.namespace, Document(f"synthetic {d}")), fp, c.namespace)
        held += n
        d += 1
    fill_s = time.perf_counter() - t
    t = time.perf_counter()
    written = c.cache.save()
    save_s = time.perf_counter() - t
    try:
        res = subprocess.run(
            [sys.executable, "-m", "benchmarks.speed", "cache-load", backend, folder],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if res.returncode != 0:
        return {"error": res.stderr[-1500:]}
    loaded = json.loads(res.stdout.strip().splitlines()[-1])
    return {
        "spans": held,
        "fill_s": fill_s,
        "save_s": save_s,
        "disk_mb": written / 2**20,
        "build_peak_rss_mb": peak_rss_mb(),
        **loaded,
    }


def part_cache_load(backend: str, folder: str) -> dict[str, Any]:
    from semtoken_rag import FingerprintCache

    from .. import datasets as D

    items = D.load_nq(5, positions=("middle",))
    rss0 = peak_rss_mb()
    t = time.perf_counter()
    cache = FingerprintCache(os.path.join(folder, "fp"), max_entries=UNBOUNDED, read_only=True)
    load_s = time.perf_counter() - t
    rss_loaded = peak_rss_mb()
    big = _compressor(backend, None, cache)
    small = _compressor(backend, big.encoder, FingerprintCache())
    for it in items:
        small.warm(_texts(it))
    big.compress("load the model", _texts(items[0]), ratio=0.25)
    keys = cache.keys()[:1000]
    t = time.perf_counter()
    for k in keys:
        cache.get(k)
    lookup_us = 1e6 * (time.perf_counter() - t) / max(len(keys), 1)
    times: dict[str, list[float]] = {"big": [], "small": []}
    for rep in range(3):
        for it in items:
            for name, comp in (("big", big), ("small", small)):
                t = time.perf_counter()
                comp.compress(f"{it['query']} [{rep}{name}]", _texts(it), ratio=0.25)
                times[name].append(time.perf_counter() - t)
    return {
        "load_s": load_s,
        "rss_before_load_mb": rss0,
        "rss_after_load_mb": rss_loaded,
        "lookup_us": lookup_us,
        "warm_ms_p50_1m_cache": 1e3 * statistics.median(times["big"]),
        "warm_ms_p50_small_cache": 1e3 * statistics.median(times["small"]),
        "misses": cache.misses,
        "peak_rss_mb": peak_rss_mb(),
    }
