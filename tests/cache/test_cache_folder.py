"""What a cache folder holds besides the cache (issue 25): a save never removes a user's files, a
folder of other files is refused, a FIFO planted as the lock is refused instead of hanging, and
loading a cache saved in any LRU order is linear."""

from __future__ import annotations

import gc
import os
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from growth import exponent

from semtoken_rag import FingerprintCache, SemTokenCompressor
from semtoken_rag.cache import folder as cache_folder
from semtoken_rag.cache import store
from semtoken_rag.cli import main
from semtoken_rag.testing import PARIS, XRAYS, bag_of_words
from semtoken_rag.types import DocFingerprints

USERS = ("index-of-papers.md", "meta-analysis.pdf", "manifest.json.bak", "index-2.faiss", "notes")
DOCS = [XRAYS, PARIS]


def _plant(folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {name: f"the user's own {name}".encode() for name in USERS}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return files


def _intact(folder: Path, files: dict[str, bytes]) -> bool:
    return all((folder / n).is_file() and (folder / n).read_bytes() == b for n, b in files.items())


def _fp(k: int, n: int = 3, dim: int = 8) -> DocFingerprints:
    v = np.random.default_rng(k).normal(size=(n, dim)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return DocFingerprints(
        np.arange(n), np.arange(n) + 1, np.arange(n), v, np.ones(n, np.float32), np.ones(n), v[0]
    )


def test_a_folder_of_other_files_is_refused_naming_it(tmp_path: Path) -> None:
    # was: accepted, and the first save deleted index-of-papers.md, meta-analysis.pdf and
    # manifest.json.bak (every name starting "index-", "meta-" or "manifest.json.")
    folder = tmp_path / "papers"
    files = _plant(folder)
    with pytest.raises(ValueError, match="holds no fingerprint cache") as e:
        FingerprintCache(folder)
    assert str(folder) in str(e.value) and "index-of-papers.md" in str(e.value)
    assert _intact(folder, files)
    assert len(FingerprintCache(folder, read_only=True)) == 0  # reading it is harmless


def test_saves_never_remove_files_they_did_not_make(tmp_path: Path) -> None:
    folder = tmp_path / "fp"
    cache = FingerprintCache(folder)
    cache.put("a", _fp(0))
    cache.save()
    files = _plant(folder)  # the user keeps files beside a cache
    (folder / "index-0123456789abcdef.faiss.tmp").write_bytes(b"a killed save's leftover")
    for k in range(3):  # each save writes a new generation and removes the older one
        cache.put(f"d{k}", _fp(k + 1))
        cache.save()
    assert _intact(folder, files)
    left = sorted(n for n in os.listdir(folder) if cache_folder.GENERATION.fullmatch(n))
    assert len(left) == 2 and not any(n.endswith(".tmp") for n in left)  # only the current ones
    assert len(FingerprintCache(folder)) == 4


def test_files_that_appear_before_the_first_save_are_kept_and_the_save_refused(tmp_path):
    folder = tmp_path / "fp"
    cache = FingerprintCache(folder)  # empty: accepted
    cache.put("a", _fp(0))
    files = _plant(folder)
    with pytest.raises(ValueError, match="holds no fingerprint cache"):
        cache.save()
    assert _intact(folder, files) and not (folder / store.MANIFEST).exists()
    cache.save(force=True)  # forced: the cache is written beside them, nothing removed
    assert _intact(folder, files) and len(FingerprintCache(folder)) == 1


def test_cli_warm_refuses_a_folder_of_other_files_and_keeps_them(compressor, tmp_path, capsys):
    doc = tmp_path / "doc.txt"
    doc.write_text(DOCS[0], encoding="utf-8")
    folder = tmp_path / "papers"
    files = _plant(folder)
    assert main(["warm", "--cache", str(folder), "-q", str(doc)], compressor=compressor) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(folder) in err and "holds no" in err
    assert _intact(folder, files)
    cache = tmp_path / "fp"  # a real cache folder the user also keeps files in
    assert main(["warm", "--cache", str(cache), "-q", str(doc)], compressor=compressor) == 0
    files = _plant(cache)
    for _ in range(2):
        args = ["compress", "--cache", str(cache), "--budget", "12", "-q", str(doc)]
        assert main(args, compressor=compressor) == 0
    assert main(["warm", "--cache", str(cache), "-q", str(doc)], compressor=compressor) == 0
    assert _intact(cache, files)


def test_a_fifo_planted_as_the_lock_is_refused_not_waited_on(tmp_path: Path, caplog) -> None:
    # was: open(".lock") without O_NONBLOCK blocked until a writer came: every loader hung
    folder = tmp_path / "fp"
    c = SemTokenCompressor(encoder=bag_of_words, cache=FingerprintCache(folder))
    c.compress("Who discovered X-rays?", DOCS, budget=20)
    c.cache.save()
    lock = folder / cache_folder.LOCK
    lock.unlink()
    os.mkfifo(lock)
    out: dict[str, object] = {}

    def load() -> None:
        try:
            cache = FingerprintCache(folder)
            out["loaded"] = len(cache)
            cache.put("x", _fp(9, dim=32))
            cache.save()
        except Exception as e:  # the save must refuse, naming the lock
            out["error"] = e

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # free the hung loader (a writer unblocks it), then fail
        os.close(os.open(lock, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(20)
        pytest.fail("loading a cache folder whose lock is a FIFO hung")
    assert out["loaded"] == 0  # refused with a warning naming the lock: starts empty
    assert "not a regular file" in caplog.text and str(lock) in caplog.text
    assert isinstance(out.get("error"), ValueError) and str(lock) in str(out["error"])


def _snapshot(n: int, shuffled: bool) -> store.Snapshot:
    """A saved cache of ``n`` one-span documents, in id order or in a shuffled LRU order."""
    firsts = np.arange(n, dtype=np.int64)
    if shuffled:
        np.random.default_rng(0).shuffle(firsts)
    arrays = {name: np.zeros(n, dtype) for name, dtype in store.META}
    arrays.update(
        keys=np.array([f"k{i}" for i in range(n)]),
        first=firsts,
        counts=np.ones(n, np.int64),
        doc_vectors=np.zeros((n, 4), np.float32),
    )
    return store.Snapshot("ns", 4, None, n, arrays)


def test_loading_a_cache_saved_in_lru_order_is_linear() -> None:
    # was: SpanIndex.adopt inserted each document into sorted lists (120k documents restored in
    # 6.1 s shuffled against 1.9 s in id order; exponent here 1.38-1.55, now 1.03-1.13)
    snaps = {n: _snapshot(n, shuffled=True) for n in (8_000, 64_000)}
    gc.collect()
    gc.disable()  # the collector's passes over a full test run's heap are not restore's cost
    try:
        slope = exponent(lambda n: store.restore(snaps[n]), 8_000, 64_000)
    finally:
        gc.enable()
    assert slope < 1.25, f"restoring a shuffled cache grows as n^{slope:.2f}"
    index, docs = store.restore(_snapshot(50, shuffled=True))
    assert isinstance(docs, OrderedDict) and list(docs)[:2] == ["k0", "k1"]  # LRU order kept
    index.remove({int(docs["k7"].first)})  # the index still finds each document by first id
    assert index.spans == 49
