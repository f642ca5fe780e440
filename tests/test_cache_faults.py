"""Fingerprint cache faults: damaged files, foreign encoders, unwritable paths, kills mid-save."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from fakes import bow

from semtoken_rag import FingerprintCache, SemTokenCompressor
from semtoken_rag.cache import store as cache_store
from semtoken_rag.encoder import CallableEncoder

DOCS = [
    "Wilhelm Röntgen discovered X-rays in 1895. He received the first Nobel Prize in Physics.",
    "Paris is the capital of France. It is known for the Louvre and the Eiffel Tower.",
    "Python was created by Guido van Rossum. It was first released in 1991.",
]
QUERY = "Who discovered X-rays?"


def bow16(texts: list[str]) -> np.ndarray:
    return bow(texts, 16)


def result(r) -> tuple:
    return r.kept_tokens, tuple((s.doc_index, s.start, s.end) for s in r.spans)


def uncached(encoder=bow) -> tuple:
    return result(SemTokenCompressor(encoder=encoder, cache=None).compress(QUERY, DOCS, budget=30))


@pytest.fixture
def saved(tmp_path):
    """A folder holding a valid saved cache of DOCS (bow encoder)."""
    path = tmp_path / "fp"
    c = SemTokenCompressor(encoder=bow, cache=FingerprintCache(path))
    c.compress(QUERY, DOCS, budget=30)
    c.cache.save()
    return path


def manifest(path) -> dict:
    return json.loads((path / "manifest.json").read_text())


def data_file(path, role: str):
    return path / manifest(path)["files"][role]["name"]


def reseal(path, body: dict) -> None:
    """Rewrite the manifest with a valid checksum (to reach the checks behind it)."""
    body["files"]["index"]["bytes"] = os.path.getsize(path / body["files"]["index"]["name"])
    body["files"]["index"]["blake2b"] = cache_store._digest(
        str(path / body["files"]["index"]["name"])
    )
    body["checksum"] = cache_store._checksum(body)
    (path / "manifest.json").write_text(json.dumps(body))


def opens_empty_and_keeps_working(path, caplog, reason: str) -> None:
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        cache = FingerprintCache(path)
    assert len(cache) == 0
    assert str(path) in caplog.text and reason in caplog.text
    c = SemTokenCompressor(encoder=bow, cache=cache)
    assert result(c.compress(QUERY, DOCS, budget=30)) == uncached()
    cache.save()  # a damaged folder is replaced by the next save
    again = FingerprintCache(path)
    assert len(again) == len(DOCS)


def test_truncated_index_file(saved, caplog):
    f = data_file(saved, "index")
    f.write_bytes(f.read_bytes()[:100])
    opens_empty_and_keeps_working(saved, caplog, "truncated or altered")


def test_garbage_index_file_behind_a_valid_manifest(saved, caplog):
    data_file(saved, "index").write_bytes(os.urandom(4096))
    reseal(saved, manifest(saved))
    opens_empty_and_keeps_working(saved, caplog, "not a readable FAISS index")


def test_garbage_meta_file(saved, caplog):
    data_file(saved, "meta").write_bytes(b"\x93NUMPY garbage")
    opens_empty_and_keeps_working(saved, caplog, "truncated or altered")


def test_missing_data_file(saved, caplog):
    data_file(saved, "index").unlink()
    opens_empty_and_keeps_working(saved, caplog, "is missing")


def test_missing_sidecar(saved, caplog):
    (saved / "manifest.json").unlink()
    opens_empty_and_keeps_working(saved, caplog, "no manifest.json")


def test_edited_sidecar(saved, caplog):
    body = manifest(saved)
    body["dim"] = 64
    (saved / "manifest.json").write_text(json.dumps(body))
    opens_empty_and_keeps_working(saved, caplog, "edited or damaged")


def test_garbage_sidecar(saved, caplog):
    (saved / "manifest.json").write_bytes(b"{not json")
    opens_empty_and_keeps_working(saved, caplog, "not valid JSON")


def test_sidecar_whose_dimension_disagrees_with_the_index(saved, caplog):
    body = manifest(saved)
    body["dim"] = 64
    reseal(saved, body)
    opens_empty_and_keeps_working(saved, caplog, "dimension")


def test_sidecar_is_json_and_records_what_the_fingerprints_depend_on(saved):
    body = manifest(saved)
    assert body["version"] == cache_store.VERSION and body["dim"] == 32
    assert body["encoder"].startswith("callable:") and body["settings"]["counter"]
    assert body["documents"] == len(DOCS) and body["index"] == "flat"


def test_cache_of_another_encoder_is_not_used_nor_overwritten(saved, caplog):
    cache = FingerprintCache(saved)
    other = SemTokenCompressor(encoder=bow16, cache=cache)
    with caplog.at_level(logging.WARNING):
        got = result(other.compress(QUERY, DOCS, budget=30))
    assert got == uncached(bow16) and "other settings" in caplog.text
    assert cache.stats()["dim"] == 16
    with pytest.raises(ValueError, match=str(saved)):
        cache.save()
    assert manifest(saved)["dim"] == 32  # untouched
    cache.save(force=True)
    assert manifest(saved)["dim"] == 16
    original = SemTokenCompressor(encoder=bow, cache=FingerprintCache(saved))
    assert result(original.compress(QUERY, DOCS, budget=30)) == uncached()


def test_another_dimension_under_the_same_identity_is_never_mixed(tmp_path, caplog):
    path = tmp_path / "fp"
    a = SemTokenCompressor(encoder=CallableEncoder(bow, name="enc"), cache=FingerprintCache(path))
    a.compress(QUERY, DOCS, budget=30)
    a.cache.save()
    cache = FingerprintCache(path)
    b = SemTokenCompressor(encoder=CallableEncoder(bow16, name="enc"), cache=cache)
    assert b.namespace != a.namespace  # same name: the probe vector tells them apart
    with caplog.at_level(logging.WARNING):
        got = result(b.compress(QUERY, DOCS, budget=30))  # no fingerprint of `a` is served
    assert got == uncached(bow16) and "other settings" in caplog.text
    assert cache.stats()["dim"] == 16
    with pytest.raises(ValueError, match="dim 32"):
        cache.save()
    # Two such encoders sharing one in-memory cache, alternately: never mixed, never a crash.
    shared = FingerprintCache()
    x = SemTokenCompressor(encoder=CallableEncoder(bow, name="e"), cache=shared)
    y = SemTokenCompressor(encoder=CallableEncoder(bow16, name="e"), cache=shared)
    for _ in range(2):
        assert result(x.compress(QUERY, DOCS, budget=30)) == uncached()
        assert result(y.compress(QUERY, DOCS, budget=30)) == uncached(bow16)


def test_unwritable_path_is_refused_up_front(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="not writable") as e:
        FingerprintCache(blocker / "cache")
    assert str(blocker / "cache") in str(e.value)
    with pytest.raises(ValueError, match="not a folder"):
        FingerprintCache(blocker)
    ro = FingerprintCache(tmp_path / "absent", read_only=True)  # read-only: empty, never written
    ro.put("k", _fp())
    with pytest.raises(ValueError, match="read_only"):
        ro.save()
    assert not (tmp_path / "absent").exists()


def test_path_that_becomes_unwritable_fails_on_save_naming_it(tmp_path):
    path = tmp_path / "fp"
    cache = FingerprintCache(path)
    cache.put("k", _fp())
    os.rmdir(path)
    path.write_text("now a file")
    with pytest.raises(OSError, match=str(path)):
        cache.save()
    assert cache.get("k") is not None  # the cache itself keeps working


def test_failure_before_the_commit_point_keeps_the_old_cache(saved, monkeypatch):
    cache = FingerprintCache(saved)
    cache.put("extra", _fp(dim=32))
    real = os.replace

    def fail_on_manifest(src, dst):
        if str(dst).endswith("manifest.json"):
            raise OSError("disk full")
        return real(src, dst)

    monkeypatch.setattr(cache_store.os, "replace", fail_on_manifest)
    with pytest.raises(OSError, match="disk full"):
        cache.save()
    monkeypatch.undo()
    old = FingerprintCache(saved)
    assert len(old) == len(DOCS) and old.get("extra") is None
    cache.save()  # the next save cleans the leftovers of the failed one
    names = os.listdir(saved)
    assert len([n for n in names if n.endswith(".faiss")]) == 1 and not any(
        n.endswith(".tmp") for n in names
    )
    assert len(FingerprintCache(saved)) == len(DOCS) + 1


def _fp(n: int = 3, dim: int = 8):
    from semtoken_rag.types import DocFingerprints

    v = np.eye(max(n, dim), dtype=np.float32)[:n, :dim]
    return DocFingerprints(
        np.arange(n),
        np.arange(n) + 1,
        np.arange(n),
        v,
        np.ones(n, np.float32),
        np.ones(n),
        np.ones(dim, np.float32),
    )


CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    from semtoken_rag.cache import FingerprintCache
    from semtoken_rag.types import DocFingerprints

    def fp(k, n=50, dim=64):
        v = np.random.default_rng(k).normal(size=(n, dim)).astype(np.float32)
        return DocFingerprints(np.arange(n), np.arange(n) + 1, np.arange(n), v,
                               np.full(n, k, np.float32), np.ones(n), v[0])

    cache = FingerprintCache(sys.argv[1], max_entries=10**7)
    cache.bind("ns")
    start = len(cache)
    for k in range(start, start + 800):
        cache.put(f"d{k}", fp(k))
    cache.save()
    print("saved", flush=True)
    k = start + 800
    while True:
        for _ in range(50):
            cache.put(f"d{k}", fp(k))
            k += 1
        cache.save()
    """
)


def check_consistent(path) -> int:
    cache = FingerprintCache(path)
    assert len(cache) >= 800
    for key in (list(cache._docs)[0], list(cache._docs)[-1]):
        k = int(key[1:])
        got = cache.get(key)
        want = np.random.default_rng(k).normal(size=(50, 64)).astype(np.float32)
        assert np.array_equal(got.vectors, want) and float(got.entropies[0]) == k
    return len(cache)


def test_kill_during_save_leaves_a_readable_cache(tmp_path, caplog):
    path = tmp_path / "fp"
    sizes, mid_save = [], []
    for delay in (0.05, 0.2, 0.45):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout.readline().strip() == "saved"
        time.sleep(delay)  # the child now saves a ~10 MB cache in a loop
        child.send_signal(signal.SIGKILL)
        child.wait()
        committed = {f["name"] for f in manifest(path)["files"].values()}
        mid_save.append(
            any(n not in committed | {"manifest.json", ".lock"} for n in os.listdir(path))
        )  # leftovers of an unfinished save
        with caplog.at_level(logging.WARNING):
            sizes.append(check_consistent(path))
        assert "unreadable" not in caplog.text
    assert sizes == sorted(sizes)
    assert any(mid_save)  # at least one kill landed inside a save


def test_two_processes_saving_one_folder_never_corrupt_it(tmp_path, caplog):
    path = tmp_path / "fp"
    kids = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    for kid in kids:
        kid.stdout.readline()
    time.sleep(0.5)
    for kid in kids:
        kid.send_signal(signal.SIGKILL)
        kid.wait()
    with caplog.at_level(logging.WARNING):
        check_consistent(path)
    assert "unreadable" not in caplog.text
