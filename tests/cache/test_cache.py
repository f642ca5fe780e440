"""The fingerprint cache: get_or_compute, persistence round-trip, eviction, stats, merging,
concurrency."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from semtoken_rag import FingerprintCache, SemTokenCompressor, SemTokenConfig
from semtoken_rag.testing import PARIS, PYTHON, XRAYS, bag_of_words
from semtoken_rag.types import DocFingerprints
from semtoken_rag.warm import warm_cache

DOCS = [
    XRAYS,
    PARIS,
    "The mitochondria is the powerhouse of the cell. It produces ATP through respiration.",
    PYTHON,
    "Mount Everest is the highest mountain on Earth. It lies in the Himalayas.",
    "The Great Wall of China is thousands of kilometres long. It was built over centuries.",
    "Marie Curie won two Nobel Prizes. She worked on radioactivity in Paris.",
    "The Amazon is the largest rainforest. It spans several countries in South America.",
]
QUERIES = ["Who discovered X-rays?", "capital of France", "who created Python", "Nobel Prize"]


def calls(n: int = 100) -> list[tuple[str, list[str]]]:
    """``n`` compress calls over overlapping document subsets."""
    rng = np.random.default_rng(0)
    out = []
    for k in range(n):
        idx = rng.choice(len(DOCS), size=4, replace=False)
        out.append((QUERIES[k % len(QUERIES)], [DOCS[i] for i in idx]))
    return out


def summary(r) -> tuple:
    return r.kept_tokens, tuple((s.doc_index, s.start, s.end, round(s.score, 5)) for s in r.spans)


def fake_fp(n: int, dim: int = 8, seed: int = 0) -> DocFingerprints:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, dim)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return DocFingerprints(
        starts=np.arange(n) * 10,
        ends=np.arange(n) * 10 + 9,
        sentence=np.arange(n),
        vectors=v,
        entropies=rng.random(n).astype(np.float32),
        tokens=np.full(n, 5),
        doc_vector=v.mean(axis=0) if n else np.ones(dim, np.float32),
    )


def same(a: DocFingerprints, b: DocFingerprints) -> bool:
    names = ("starts", "ends", "sentence", "vectors", "entropies", "tokens", "doc_vector")
    return all(np.array_equal(getattr(a, n), getattr(b, n)) for n in names)


def test_put_get_exact_and_read_only():
    cache = FingerprintCache()
    fp = fake_fp(5)
    cache.put("k", fp)
    got = cache.get("k")
    assert same(got, fp)
    assert not got.starts.flags.writeable
    assert cache.get("other") is None
    assert (cache.hits, cache.misses) == (1, 1)
    cache.put("k", fake_fp(5, seed=9))  # a key already held keeps its first fingerprints
    assert same(cache.get("k"), fp)


def test_persistence_round_trip_same_results(tmp_path):
    path = tmp_path / "fp"
    cache = FingerprintCache(path)
    c = SemTokenCompressor(encoder=bag_of_words, cache=cache)
    before = [summary(c.compress(q, DOCS, budget=40)) for q in QUERIES]
    assert cache.save() > 0
    assert sorted(os.listdir(path))[:1] == [".lock"]
    loaded = FingerprintCache(path)
    assert loaded.stats()["documents"] == len(DOCS)
    assert loaded.namespace == cache.namespace
    for key in list(cache._docs):
        assert same(loaded.get(key), cache.get(key))
    c2 = SemTokenCompressor(encoder=bag_of_words, cache=loaded)
    after = [summary(c2.compress(q, DOCS, budget=40)) for q in QUERIES]
    assert after == before
    assert loaded.misses == 0  # every document came from the file
    assert (
        summary(
            SemTokenCompressor(encoder=bag_of_words, cache=None).compress(
                QUERIES[0], DOCS, budget=40
            )
        )
        == before[0]
    )


def test_round_trip_with_the_real_model(compressor, tmp_path):
    cache = FingerprintCache(tmp_path / "fp")
    c = SemTokenCompressor(encoder=compressor.encoder, cache=cache)
    r1 = c.compress("Who discovered X-rays?", DOCS[:3], budget=30)
    cache.save()
    c2 = SemTokenCompressor(encoder=compressor.encoder, cache=FingerprintCache(tmp_path / "fp"))
    r2 = c2.compress("Who discovered X-rays?", DOCS[:3], budget=30)
    assert summary(r2) == summary(r1)
    assert c2.cache.stats()["hits"] == 3 and c2.cache.stats()["dim"] == 384


def test_eviction_keeps_the_bound_and_recent_documents():
    cache = FingerprintCache(max_entries=50)
    for k in range(20):
        cache.put(f"d{k}", fake_fp(7, seed=k))
        cache.get("d0")  # keep d0 recently used
        assert cache.stats()["entries"] <= 50
    s = cache.stats()
    assert s["evictions"] > 0 and s["documents"] == len(cache) < 20
    assert cache.get("d0") is not None and cache.get("d1") is None
    assert same(cache.get("d19"), fake_fp(7, seed=19))
    cache.put("huge", fake_fp(60))  # larger than the whole cache: not stored
    assert cache.get("huge") is None


def test_get_or_compute_computes_only_what_is_missing_in_one_call():
    from semtoken_rag.types import Document

    cache = FingerprintCache()
    asked: list[list[str]] = []

    def compute(docs):
        asked.append([d.text for d in docs])
        return [fake_fp(2, seed=len(d.text)) for d in docs]

    docs = [Document("alpha beta."), Document(""), Document("gamma.")]
    first = cache.get_or_compute(docs, "ns", compute)
    assert asked == [["alpha beta.", "", "gamma."]] and len(first) == 3
    again = cache.get_or_compute([docs[2], Document("delta."), docs[0]], "ns", compute)
    assert asked[1] == ["delta."]  # one call for the one miss; empty text never stored
    assert same(again[0], first[2]) and same(again[2], first[0])
    assert cache.namespace == "ns" and len(cache) == 3


def test_merge_adds_missing_documents_of_the_same_namespace_only():
    a, b = FingerprintCache(), FingerprintCache()
    a.bind("ns")
    b.bind("ns")
    a.put("x", fake_fp(3, seed=1))
    b.put("x", fake_fp(3, seed=9))
    b.put("y", fake_fp(2, seed=2))
    assert a.merge(b) == 1 and same(a.get("x"), fake_fp(3, seed=1))  # first copy wins
    assert same(a.get("y"), fake_fp(2, seed=2))
    other = FingerprintCache()
    other.bind("other")
    other.put("z", fake_fp(2))
    with pytest.raises(ValueError, match="namespace"):
        a.merge(other)


def test_stats_numbers(tmp_path):
    cache = FingerprintCache(tmp_path / "s")
    assert cache.stats()["bytes"] == 0
    for k in range(10):
        cache.put(f"d{k}", fake_fp(10, dim=64, seed=k))
    cache.get("d1")
    cache.get("nope")
    s = cache.stats()
    assert (s["hits"], s["misses"], s["documents"], s["entries"], s["dim"]) == (1, 1, 10, 100, 64)
    assert s["hit_rate"] == 0.5 and s["disk_bytes"] == 0
    assert 100 * 64 * 4 < s["bytes"] < 3 * 100 * 64 * 4
    assert all(isinstance(v, (int, float)) for v in s.values())
    written = cache.save()
    assert cache.stats()["disk_bytes"] == written > 100 * 64 * 4


def test_bind_other_namespace_starts_empty(caplog):
    cache = FingerprintCache()
    cache.bind("A")
    cache.put("k", fake_fp(3))
    cache.bind("A")
    assert len(cache) == 1
    cache.bind("B")
    assert len(cache) == 0 and "other settings" in caplog.text
    cache.put("k", fake_fp(3), namespace="A")  # refused: not the bound namespace
    assert cache.get("k") is None


def test_arguments_are_validated():
    with pytest.raises(ValueError, match="max_entries"):
        FingerprintCache(max_entries=0)
    with pytest.raises(TypeError, match="path"):
        FingerprintCache(path=3)
    with pytest.raises(TypeError, match="fp"):
        FingerprintCache().put("k", {"vectors": []})
    bad = fake_fp(3)
    with pytest.raises(ValueError, match="fp.vectors"):
        FingerprintCache().put("k", DocFingerprints(**{**bad.__dict__, "vectors": bad.vectors[:2]}))
    with pytest.raises(ValueError, match="path"):
        FingerprintCache().save()


def reference(encoder=bag_of_words) -> list[tuple]:
    c = SemTokenCompressor(encoder=encoder, cache=FingerprintCache())
    return [summary(c.compress(q, d, budget=30)) for q, d in calls()]


def test_100_threads_match_sequential():
    expected = reference()
    cache = FingerprintCache()
    c = SemTokenCompressor(encoder=bag_of_words, cache=cache)
    workers = 8
    with ThreadPoolExecutor(max_workers=workers) as pool:
        got = list(pool.map(lambda qd: summary(c.compress(qd[0], qd[1], budget=30)), calls()))
    assert got == expected
    # A document is missed at most once per worker: a call that misses it stores it before
    # returning, so each worker misses it only while its first store is still in flight.
    assert cache.stats()["documents"] == len(DOCS) and cache.hits + cache.misses == 100 * 4
    assert cache.misses <= workers * len(DOCS)


def test_100_async_calls_match_sequential():
    expected = reference()
    shared = SemTokenCompressor(encoder=bag_of_words, cache=FingerprintCache())

    async def run() -> list:
        return await asyncio.gather(*(shared.acompress(q, d, budget=30) for q, d in calls()))

    assert [summary(r) for r in asyncio.run(run())] == expected


def test_concurrent_calls_with_the_real_model_match_sequential(compressor):
    cs = calls(16)
    seq = SemTokenCompressor(encoder=compressor.encoder, cache=FingerprintCache())
    expected = [summary(seq.compress(q, d, budget=30)) for q, d in cs]
    shared = SemTokenCompressor(encoder=compressor.encoder, cache=FingerprintCache())
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda qd: summary(shared.compress(qd[0], qd[1], budget=30)), cs))
    assert got == expected


def test_warm_cache_counts_progress_and_save(tmp_path, capsys):
    c = SemTokenCompressor(encoder=bag_of_words, cache=FingerprintCache(tmp_path / "w"))
    counts = warm_cache(c, DOCS + ["", DOCS[0]], batch_size=3, progress=True)
    assert counts["documents"] == len(DOCS) + 1 and counts["computed"] >= len(DOCS)
    assert counts["spans"] == c.cache.stats()["entries"] > 0
    assert "fingerprints" in capsys.readouterr().err
    again = warm_cache(c, DOCS, progress=False)
    assert again["computed"] == 0 and again["cached"] == len(DOCS)
    assert FingerprintCache(tmp_path / "w").stats()["documents"] == len(DOCS)
    with pytest.raises(ValueError, match="batch_size"):
        warm_cache(c, DOCS, batch_size=0)
    no_cache = SemTokenCompressor(SemTokenConfig(cache_embeddings=False), encoder=bag_of_words)
    with pytest.raises(ValueError, match="cache"):
        warm_cache(no_cache, DOCS)


def test_importing_the_package_stays_light():
    code = "import sys, semtoken_rag; print('faiss' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_autosave_on_leaving_a_with_block(tmp_path):
    with FingerprintCache(tmp_path / "a", autosave=True) as cache:
        cache.put("k", fake_fp(4))
        assert cache.dirty
    assert not cache.dirty
    assert same(FingerprintCache(tmp_path / "a").get("k"), fake_fp(4))
    with FingerprintCache(tmp_path / "b") as cache:  # autosave off: nothing written
        cache.put("k", fake_fp(4))
    assert len(FingerprintCache(tmp_path / "b")) == 0
