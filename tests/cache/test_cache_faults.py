"""Fingerprint cache faults: damaged files, foreign encoders, unwritable paths, kills mid-save."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from semtoken_rag import FingerprintCache, SemTokenCompressor
from semtoken_rag.cache import store as cache_store
from semtoken_rag.encoders import CallableEncoder
from semtoken_rag.testing import PARIS, PYTHON, SAMPLE_QUERY, XRAYS, bag_of_words

DOCS = [XRAYS, PARIS, PYTHON]
QUERY = SAMPLE_QUERY


def bow16(texts: list[str]) -> np.ndarray:
    return bag_of_words(texts, 16)


def result(r) -> tuple:
    return r.kept_tokens, tuple((s.doc_index, s.start, s.end) for s in r.spans)


def uncached(encoder=bag_of_words) -> tuple:
    return result(SemTokenCompressor(encoder=encoder, cache=None).compress(QUERY, DOCS, budget=30))


@pytest.fixture
def saved(tmp_path):
    """A folder holding a valid saved cache of DOCS (bow encoder)."""
    path = tmp_path / "fp"
    c = SemTokenCompressor(encoder=bag_of_words, cache=FingerprintCache(path))
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
    body["files"]["index"]["blake2b"] = cache_store.file_digest(
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
    c = SemTokenCompressor(encoder=bag_of_words, cache=cache)
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
    assert body["version"] == cache_store.CACHE_FILE_VERSION and body["dim"] == 32
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
    original = SemTokenCompressor(encoder=bag_of_words, cache=FingerprintCache(saved))
    assert result(original.compress(QUERY, DOCS, budget=30)) == uncached()


def test_another_dimension_under_the_same_identity_is_never_mixed(tmp_path, caplog):
    path = tmp_path / "fp"
    a = SemTokenCompressor(
        encoder=CallableEncoder(bag_of_words, name="enc"), cache=FingerprintCache(path)
    )
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
    x = SemTokenCompressor(encoder=CallableEncoder(bag_of_words, name="e"), cache=shared)
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


# --- issue 16, item 5: a full disk --------------------------------------------------------------


class _FullDisk:
    """Files opened by the store whose name ends in ``suffix`` raise ENOSPC on write."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix

    def __call__(self, path, mode="r", *args, **kwargs):
        f = open(path, mode, *args, **kwargs)  # noqa: SIM115
        if "w" in mode and str(path).endswith(self.suffix):

            def write(_data):
                raise OSError(errno.ENOSPC, "No space left on device")

            f.write = write  # type: ignore[method-assign]
        return f


def _fail_once(target, name: str, when):
    real = getattr(target, name)

    def failing(*args, **kwargs):
        if when(*args):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    return failing


@pytest.mark.parametrize(
    "step",
    ["index file", "array file", "fsync", "rename of a data file", "manifest", "commit rename"],
)
def test_a_full_disk_at_any_step_raises_oserror_naming_the_folder(saved, monkeypatch, step):
    # was: faiss's RuntimeError (not an OSError), and each failed save left its .tmp files
    before = sorted(os.listdir(saved))
    cache = FingerprintCache(saved)
    for k in range(5):
        cache.put(f"extra{k}", _fp(dim=32))
    if step == "index file":
        monkeypatch.setattr(cache_store, "open", _FullDisk(".faiss.tmp"), raising=False)
    elif step == "array file":
        monkeypatch.setattr(cache_store, "open", _FullDisk(".npz.tmp"), raising=False)
    elif step == "manifest":
        monkeypatch.setattr(cache_store, "open", _FullDisk(".tmp"), raising=False)
        monkeypatch.setattr(
            cache_store, "_write_index", lambda index, path: open(path, "wb").close()
        )
    elif step == "fsync":
        monkeypatch.setattr(
            cache_store, "_fsync", _fail_once(cache_store, "_fsync", lambda p: True)
        )
    else:

        def when(src, dst):
            return str(dst).endswith("manifest.json") == (step == "commit rename")

        monkeypatch.setattr(cache_store.os, "replace", _fail_once(cache_store.os, "replace", when))
    with pytest.raises(OSError) as e:
        cache.save()
    assert not isinstance(e.value, RuntimeError)
    assert e.value.errno == errno.ENOSPC and str(saved) in str(e.value)
    assert sorted(os.listdir(saved)) == before  # nothing of the failed save is left
    monkeypatch.undo()
    old = FingerprintCache(saved)  # the previous cache, intact
    assert len(old) == len(DOCS) and old.get("extra0") is None
    assert cache.get("extra0") is not None  # nothing lost in memory: the next save works
    cache.save()
    assert len(FingerprintCache(saved)) == len(DOCS) + 5


FULL_DISK_CHILD = textwrap.dedent(
    """
    import json, os, resource, signal, sys
    import numpy as np
    from semtoken_rag.cache import FingerprintCache
    from semtoken_rag.types import DocFingerprints

    def fp(k, n):
        v = np.random.default_rng(k).normal(size=(n, 64)).astype(np.float32)
        return DocFingerprints(np.arange(n), np.arange(n) + 1, np.arange(n), v,
                               np.ones(n, np.float32), np.ones(n), v[0])

    path, limit = sys.argv[1], sys.argv[2]
    cache = FingerprintCache(path, max_entries=10**7)
    for k in range(3):
        cache.put(f"d{k}", fp(k, 5))
    cache.save()
    before = sorted(os.listdir(path))
    for k in range(3, 300):
        cache.put(f"d{k}", fp(k, 50))  # ~4 MB: more than the disk holds
    if limit == "rlimit":  # files may not grow past 64 KB: writes fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, resource.RLIM_INFINITY))
    out = {"before": before, "errors": [], "after": []}
    for attempt in range(2):  # a second save fails the same way: nothing left blocks it
        try:
            cache.save()
        except BaseException as e:
            out["errors"].append([type(e).__name__, isinstance(e, OSError),
                                  getattr(e, "errno", None), str(e)])
        out["after"].append(sorted(os.listdir(path)))
    out["docs"] = len(FingerprintCache(path, read_only=True))
    print(json.dumps(out))
    """
)


def _check_full_disk_child(path, out: dict, code: int) -> None:
    assert len(out["errors"]) == 2, out
    for name, is_oserror, err, message in out["errors"]:
        assert is_oserror and name != "RuntimeError", out["errors"]
        assert err == code and str(path) in message
    assert out["after"] == [out["before"], out["before"]]  # no temporary files left
    assert out["docs"] == 3  # the previous cache, intact


def test_a_real_file_size_limit_during_save(tmp_path):
    # the OS refuses to grow a file past RLIMIT_FSIZE (EFBIG), as a full disk refuses (ENOSPC)
    path = tmp_path / "fp"
    run = subprocess.run(
        [sys.executable, "-c", FULL_DISK_CHILD, str(path), "rlimit"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    _check_full_disk_child(path, json.loads(run.stdout.splitlines()[-1]), errno.EFBIG)


def test_a_real_full_tmpfs_during_save(tmp_path):
    # a 256 KB tmpfs in a private mount namespace (skipped where unshare/mount are not allowed)
    if shutil.which("unshare") is None:
        pytest.skip("no unshare")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = tmp_path / "child.py"
    script.write_text(FULL_DISK_CHILD)
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=256k tmpfs {mnt}"],
        capture_output=True, text=True,
    )  # fmt: skip
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {probe.stderr.strip()}")
    cmd = f"mount -t tmpfs -o size=256k tmpfs {mnt} && exec {sys.executable} {script} {mnt}/fp disk"
    run = subprocess.run(
        ["unshare", "-rm", "sh", "-c", cmd], capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    _check_full_disk_child(f"{mnt}/fp", json.loads(run.stdout.splitlines()[-1]), errno.ENOSPC)


def test_warm_on_a_full_disk_exits_2_with_one_line(tmp_path, monkeypatch, capsys):
    # was: a traceback and exit 1 (the README promises exit 2 and one line)
    from semtoken_rag.cli import main

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n\n".join(DOCS), encoding="utf-8")
    folder = tmp_path / "fp"
    monkeypatch.setattr(cache_store, "open", _FullDisk(".npz.tmp"), raising=False)
    base = SemTokenCompressor(encoder=bag_of_words, cache=None)
    code = main(["warm", "--cache", str(folder), "-q", str(corpus)], compressor=base)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and str(folder) in err and "No space left" in err
    assert not [n for n in os.listdir(folder) if n.endswith((".tmp", ".faiss", ".npz"))]


# --- issue 16, item 7: a newer on-disk format is never overwritten silently ---------------------


def _seal(path, body: dict) -> None:
    """Rewrite the manifest as given, with a valid checksum (a careful hand edit)."""
    body["checksum"] = cache_store._checksum(body)
    (path / "manifest.json").write_text(json.dumps(body))


def test_a_newer_format_version_is_not_replaced_without_force(tmp_path, caplog):
    # was: the folder was replaced silently (20 documents -> 1)
    path = tmp_path / "fp"
    cache = FingerprintCache(path)
    for k in range(20):
        cache.put(f"d{k}", _fp())
    cache.save()
    body = manifest(path)
    body["version"] = cache_store.CACHE_FILE_VERSION + 1
    _seal(path, body)
    with caplog.at_level(logging.WARNING):
        newer = FingerprintCache(path)
    assert len(newer) == 0 and "newer" in caplog.text
    newer.put("mine", _fp())
    with pytest.raises(ValueError, match="newer format version") as e:
        newer.save()
    assert str(path) in str(e.value) and "force=True" in str(e.value)
    assert manifest(path) == body  # untouched: 20 documents of the newer version
    newer.save(force=True)
    assert len(FingerprintCache(path)) == 1


def test_a_foreign_manifest_is_not_replaced_without_force(tmp_path, caplog):
    path = tmp_path / "fp"
    path.mkdir()
    (path / "manifest.json").write_text(json.dumps({"format": "someone-else", "items": 3}))
    with caplog.at_level(logging.WARNING):
        cache = FingerprintCache(path)
    assert len(cache) == 0
    cache.put("mine", _fp())
    with pytest.raises(ValueError, match="not a semtoken-rag cache"):
        cache.save()
    assert json.loads((path / "manifest.json").read_text())["format"] == "someone-else"
    cache.save(force=True)
    assert len(FingerprintCache(path)) == 1


# --- issue 16, item 8: every manifest field is validated ----------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("dim", "abc", "'dim'"),
        ("dim", True, "'dim'"),
        ("dim", -1, "'dim'"),
        ("dim", 10**9, "'dim'"),
        ("next_id", 0, "next_id"),  # was: silently handed out ids of other documents
        ("next_id", -3, "'next_id'"),
        ("next_id", "7", "'next_id'"),
        ("documents", -1, "'documents'"),
        ("documents", 2, "documents"),
        ("spans", -5, "'spans'"),
        ("spans", 999, "next_id"),
        ("namespace", 5, "'namespace'"),
        ("index", "hnsw", "flat indexes only"),
        ("files", {}, "'files'"),
        ("files", None, "'files'"),
    ],
)
def test_a_hand_edited_manifest_field_is_refused_clearly(saved, caplog, field, value, reason):
    # was: dim="abc" crashed the constructor with a bare ValueError
    body = manifest(saved)
    body[field] = value
    _seal(saved, body)
    opens_empty_and_keeps_working(saved, caplog, reason)


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("bytes", "12", "bytes must be an int"),
        ("bytes", -1, "bytes must be an int"),
        ("blake2b", 7, "blake2b"),
        ("name", "../index.faiss", "not a file in the folder"),
        ("name", 3, "not a file in the folder"),
    ],
)
def test_a_hand_edited_file_entry_is_refused_clearly(saved, caplog, key, value, reason):
    body = manifest(saved)
    body["files"]["index"][key] = value
    _seal(saved, body)
    opens_empty_and_keeps_working(saved, caplog, reason)


def _edit_arrays(path, edit) -> None:
    """Rewrite the meta file with ``edit(arrays)`` applied and reseal the manifest."""
    body = manifest(path)
    meta = path / body["files"]["meta"]["name"]
    with np.load(meta, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    edit(arrays)
    with open(meta, "wb") as f:
        np.savez(f, **arrays)
    body["files"]["meta"]["bytes"] = os.path.getsize(meta)
    body["files"]["meta"]["blake2b"] = cache_store.file_digest(str(meta))
    _seal(path, body)


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda a: a["counts"].__setitem__(0, -a["counts"][0]), "span counts"),
        (lambda a: a["first"].__setitem__(1, a["first"][0]), "overlap"),
        (lambda a: a["first"].__setitem__(slice(None), a["first"] + 10_000), "next_id"),
        (lambda a: a["keys"].__setitem__(1, a["keys"][0]), "appears twice"),
        (lambda a: a["starts"].__setitem__(0, -4), "offsets"),
        (lambda a: a["tokens"].__setitem__(0, -1), "token counts"),
        (lambda a: a.__setitem__("doc_vectors", a["doc_vectors"][:, :5]), "shape"),
        (lambda a: a.__setitem__("counts", a["counts"].astype(np.float64)), "integers"),
    ],
)
def test_arrays_that_disagree_with_the_manifest_are_refused(saved, caplog, edit, reason):
    _edit_arrays(saved, edit)
    opens_empty_and_keeps_working(saved, caplog, reason)


def test_index_ids_that_are_not_the_documents_are_refused(saved, caplog):
    # shift both the id ranges and next_id: only the index's own ids can tell
    body = manifest(saved)
    _edit_arrays(saved, lambda a: a["first"].__setitem__(slice(None), a["first"] + 1))
    body = manifest(saved)
    body["next_id"] += 1
    _seal(saved, body)
    opens_empty_and_keeps_working(saved, caplog, "index's ids")


# --- issue 16, item 11: processes warming one cache keep each other's work ----------------------

WARM_CHILD = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[4])
    from semtoken_rag.testing import bag_of_words as bow
    from semtoken_rag import FingerprintCache, SemTokenCompressor

    path, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    c = SemTokenCompressor(encoder=bow, cache=FingerprintCache(path))
    c.warm([f"Document {k} counts {7 * k} apples. It is number {k}." for k in range(lo, hi)])
    print("warmed", len(c.cache), flush=True)
    sys.stdin.readline()  # both processes hold their work, neither has saved
    c.cache.save()
    print("saved", len(c.cache), flush=True)
    """
)


def test_two_processes_warming_one_cache_keep_all_documents(tmp_path):
    # was: 40 of 80 documents survived (the last save won)
    path = tmp_path / "fp"
    here = os.path.dirname(__file__)
    kids = [
        subprocess.Popen(
            [sys.executable, "-c", WARM_CHILD, str(path), str(lo), str(lo + 40), here],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for lo in (0, 40)
    ]
    assert [kid.stdout.readline().split() for kid in kids] == [["warmed", "40"]] * 2
    for kid in kids:
        kid.stdin.write("go\n")
        kid.stdin.flush()
    saved_sizes = sorted(int(kid.stdout.readline().split()[1]) for kid in kids)
    for kid in kids:
        assert kid.wait(timeout=120) == 0
    assert saved_sizes == [40, 80]  # the second save merged the first one's documents
    cache = FingerprintCache(path)
    assert len(cache) == 80
    docs = [f"Document {k} counts {7 * k} apples. It is number {k}." for k in range(80)]
    warm = SemTokenCompressor(encoder=bag_of_words, cache=cache)
    got = warm.compress("apples of number 57", docs, budget=40)
    assert cache.stats()["misses"] == 0  # every fingerprint came from the merged folder
    cold = SemTokenCompressor(encoder=bag_of_words, cache=None).compress(
        "apples of number 57", docs, budget=40
    )
    assert result(got) == result(cold)


def test_a_save_merges_others_work_but_not_what_it_dropped(tmp_path):
    path = tmp_path / "fp"
    first = FingerprintCache(path)
    for k in range(10):
        first.put(f"old{k}", _fp())
    first.save()
    mine = FingerprintCache(path)
    assert len(mine) == 10
    mine.clear()  # dropped here on purpose: a merge must not bring them back
    mine.put("mine", _fp())
    other = FingerprintCache(path)
    other.put("theirs", _fp())
    other.save()  # saved after `mine` loaded
    mine.save()
    assert sorted(FingerprintCache(path).keys()) == ["mine", "theirs"]
    mine.put("later", _fp())
    mine.save()  # nothing new on disk since: no merge needed, nothing lost
    assert sorted(FingerprintCache(path).keys()) == ["later", "mine", "theirs"]
