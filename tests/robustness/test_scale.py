"""Scale (issue 14): what a large input costs beyond the encoder grows linearly, not with the
square of the spans (similar-pair search partially sorts only the rows with many look-alikes)."""

from __future__ import annotations

import numpy as np
import pytest

from semtoken_rag.pipeline import merge as merge_stage
from semtoken_rag.pipeline.merge import similar_pairs


def reference_pairs(vectors, threshold, guard=None, limit=None) -> list[list[int]]:
    """The previous implementation: a partial sort of every row."""
    n = len(vectors)
    out: list[list[int]] = [[] for _ in range(n)]
    sims = np.round(vectors @ vectors.T, merge_stage.SIMILARITY_DECIMALS)
    np.fill_diagonal(sims, -np.inf)
    if limit is not None and limit < n - 1:
        top = np.argpartition(-sims, limit, axis=1)[:, :limit]
        keep = np.take_along_axis(sims, top, axis=1) > threshold
        rows, cols = np.nonzero(keep)
        pairs = zip(rows.tolist(), top[rows, cols].tolist())
    else:
        rows, cols = np.nonzero(sims > threshold)
        pairs = zip(rows.tolist(), cols.tolist())
    for r, c in sorted(pairs, key=lambda p: (p[0], -sims[p[0], p[1]], p[1])):
        if guard is None or guard(r, c):
            out[r].append(c)
    return out


def clustered(n: int, seed: int, dim: int = 16) -> np.ndarray:
    """Unit vectors in groups of 1-25 near-copies (some rows have more look-alikes than a limit)."""
    rng = np.random.default_rng(seed)
    rows = []
    while len(rows) < n:
        centre = rng.standard_normal(dim)
        for _ in range(int(rng.integers(1, 26))):
            rows.append(centre + 0.15 * rng.standard_normal(dim))
    v = np.array(rows[:n], dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("limit", [None, 3, 10])
def test_similar_pairs_is_unchanged(seed: int, limit: int | None, monkeypatch) -> None:
    v = clustered(300, seed)

    def guard(i: int, j: int) -> bool:
        return (i + j) % 5 != 0

    assert similar_pairs(v, 0.9, limit=limit) == reference_pairs(v, 0.9, limit=limit)
    assert similar_pairs(v, 0.8, guard, limit=limit) == reference_pairs(v, 0.8, guard, limit)
    monkeypatch.setattr(merge_stage, "BLOCK_CELLS", 300 * 7)  # blocks of 7 rows
    assert similar_pairs(v, 0.9, guard, limit=limit) == reference_pairs(v, 0.9, guard, limit)


def test_similar_pairs_sorts_only_crowded_rows(monkeypatch) -> None:
    """Counted, not timed: the elements handed to argpartition. The previous code partially
    sorted every row (n * n elements); now only rows with more than ``limit`` look-alikes."""
    seen: list[int] = []
    real = np.argpartition

    def counting(a, *args, **kw):
        seen.append(int(np.size(a)))
        return real(a, *args, **kw)

    monkeypatch.setattr(np, "argpartition", counting)
    rng = np.random.default_rng(0)
    v = rng.standard_normal((2000, 64)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)  # random: no look-alikes at 0.9
    similar_pairs(v, 0.9, limit=10)
    assert sum(seen) == 0
    crowd = np.vstack([v, np.repeat(v[:1], 20, axis=0)])  # 21 copies of one row
    seen.clear()
    similar_pairs(crowd, 0.9, limit=10)
    assert sum(seen) == 21 * len(crowd)


def test_similar_pairs_holds_a_bounded_block(monkeypatch) -> None:
    shapes: list[tuple[int, int]] = []
    real = np.nonzero

    def spy(a):
        shapes.append(np.shape(a))
        return real(a)

    monkeypatch.setattr(merge_stage, "BLOCK_CELLS", 1000 * 50)
    monkeypatch.setattr(np, "nonzero", spy)
    v = clustered(1000, 0)
    similar_pairs(v, 0.9)
    assert max(s[0] * s[1] for s in shapes if len(s) == 2) <= 1000 * 50


def test_documents_are_fingerprinted_in_bounded_groups(monkeypatch) -> None:
    """Token states of a large input are pooled group by group (their memory stays bounded);
    the fingerprints are the same as in one group."""
    from semtoken_rag import SemTokenCompressor, SemTokenConfig
    from semtoken_rag import compressor as compressor_module
    from semtoken_rag.encoders import CallableEncoder
    from semtoken_rag.testing import bag_of_words

    docs = [f"Document {i} says something. It has a second sentence {i}." for i in range(40)]
    cfg = SemTokenConfig(cache_embeddings=False)
    whole = SemTokenCompressor(cfg, encoder=CallableEncoder(bag_of_words)).fingerprints(docs)
    enc = CallableEncoder(bag_of_words)
    sizes: list[int] = []
    real = enc.span_vectors

    def spy(ds, pieces, window):
        sizes.append(sum(len(d.text) for d in ds))
        return real(ds, pieces, window)

    monkeypatch.setattr(enc, "span_vectors", spy)
    monkeypatch.setattr(compressor_module, "CHUNK_CHARS", 500)
    grouped = SemTokenCompressor(cfg, encoder=enc).fingerprints(docs)
    assert len(sizes) > 1 and max(sizes) < 500 + max(len(d) for d in docs)
    assert sum(sizes) == sum(len(d) for d in docs)
    for a, b in zip(whole, grouped, strict=True):
        np.testing.assert_array_equal(a.vectors, b.vectors)
        np.testing.assert_array_equal(a.starts, b.starts)


def _fp(n: int, seed: int):
    from semtoken_rag.types import DocFingerprints

    v = np.random.default_rng(seed).standard_normal((n, 8)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return DocFingerprints(
        starts=np.arange(n),
        ends=np.arange(n) + 1,
        sentence=np.arange(n),
        vectors=v,
        entropies=np.ones(n, np.float32),
        tokens=np.ones(n, np.int64),
        doc_vector=v[0],
    )


def test_a_saved_cache_is_memory_mapped_and_still_writable(tmp_path) -> None:
    """Loading maps the vectors (a 1M-span cache loaded in 3.6 s instead of 12.7 s); the first
    write copies them (FAISS aborts the process on a write to a mapped index)."""
    import faiss

    from semtoken_rag import FingerprintCache

    cache = FingerprintCache(tmp_path, max_entries=100)
    cache.bind("ns")
    for i in range(5):
        cache.put(f"k{i}", _fp(10, i), "ns")
    cache.save()
    loaded = FingerprintCache(tmp_path, max_entries=100)
    assert loaded._index is not None
    assert loaded._index.mapped == hasattr(faiss, "IO_FLAG_MMAP_IFC")
    np.testing.assert_array_equal(loaded.get("k3").vectors, _fp(10, 3).vectors)
    for i in range(5, 15):  # past max_entries: eviction removes rows too
        loaded.put(f"k{i}", _fp(10, i), "ns")
    assert not loaded._index.mapped and loaded.get("k0") is None
    np.testing.assert_array_equal(loaded.get("k14").vectors, _fp(10, 14).vectors)
    np.testing.assert_array_equal(loaded.get("k6").vectors, _fp(10, 6).vectors)
    loaded.save()
    small = FingerprintCache(tmp_path, max_entries=30)  # evicts while loading a mapped index
    assert len(small) == 3
    np.testing.assert_array_equal(small.get("k14").vectors, _fp(10, 14).vectors)
