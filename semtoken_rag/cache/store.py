"""On-disk format of :class:`~semtoken_rag.cache.FingerprintCache`: a folder of generations.

A cache folder holds ``manifest.json`` (the sidecar), ``index-<gen>.faiss`` (the span vectors,
FAISS ``write_index``) and ``meta-<gen>.npz`` (offsets, entropies, token counts, document vectors;
plain arrays, read with ``allow_pickle=False``). The manifest records the format version, the
namespace (encoder identity, token counter, segmentation and window settings), the dimension, the
index kind, the digests of the two data files and a checksum of itself.

A save writes new data files under fresh names, syncs them, then atomically renames a new manifest
over the old one: the rename is the commit point. A process killed at any moment leaves the previous
manifest pointing at files that still exist; a save that fails (a full disk) removes every file it
began and raises an ``OSError`` naming the folder. A save removes only files named as a save names
them (older generations, leftovers of killed saves), never anything else in the folder, and a folder
that holds no cache but other files is refused (:mod:`~semtoken_rag.cache.folder`). Saves hold an
exclusive ``fcntl`` lock on ``<folder>/.lock`` and loads a shared one, so two processes never
interleave; under the lock a save first reads what another process saved since and merges it
(:func:`save`), so concurrent writers add up instead of the last one winning. Without ``fcntl``
(Windows) only the atomic rename protects, and the last writer wins.

Nothing is followed outside the folder: the manifest and the data files it names must be regular
files directly in the folder (no links, no sub-paths), the lock file is opened without following a
link and without blocking and must be a regular file (a planted FIFO is refused, never waited on),
and the writability probe is a fresh, exclusively created file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..files import file_digest, file_lock
from ..types import span_fields
from . import manifest as manifest_fields
from .folder import GENERATION, LOCK, remove_stale
from .index import SpanIndex, faiss_module
from .manifest import (
    CACHE_FILE_FORMAT,
    CACHE_FILE_VERSION,
    MANIFEST,
    CacheFileError,
    Disk,
    NewerFormatError,
    check_regular,
    inspect,
    read_manifest,
)

logger = logging.getLogger(__name__)

__all__ = [
    "CACHE_FILE_FORMAT",
    "MANIFEST",
    "CACHE_FILE_VERSION",
    "CacheFileError",
    "Disk",
    "NewerFormatError",
    "inspect",
]

META = span_fields()
"""``(name, dtype)`` of the per-span arrays stored beside the vectors: derived from
:class:`~semtoken_rag.types.DocFingerprints`, so a new per-span field is stored without a change
here."""
_ARRAYS = ("keys", "first", "counts", *(name for name, _ in META), "doc_vectors")


@dataclass(frozen=True)
class Entry:
    """One cached document: FAISS ids ``[first, first + n)``, its per-span arrays (``META``,
    read-only) and its document vector."""

    first: int  # FAISS id of span 0; span k has id first + k
    arrays: dict[str, np.ndarray]
    doc_vector: np.ndarray

    def __len__(self) -> int:
        return len(next(iter(self.arrays.values())))


class CacheWriteError(OSError):
    """A save that failed (full disk, quota, permissions): ``errno`` is the cause's, the message
    names the folder, and nothing of the failed save is left behind."""


def _cannot_write(folder: str, e: OSError) -> str:
    return f"cannot write fingerprint cache to {folder!r}: {e.strerror or e}"


@dataclass
class Snapshot:
    """Everything a cache persists, in LRU order (oldest document first).

    ``arrays`` holds ``keys``, ``first``, ``counts`` and ``doc_vectors`` (one row per document)
    and the per-span ``META`` arrays, concatenated over documents."""

    namespace: str | None
    dim: int
    index: Any
    next_id: int
    arrays: dict[str, np.ndarray]
    checksum: str = ""  # of the manifest it was read from ("" for one not read from disk)
    mapped: bool = False  # the index's vectors are memory-mapped from the file


@contextlib.contextmanager
def locked(folder: str, exclusive: bool) -> Iterator[None]:
    """Hold ``fcntl.flock`` on ``folder/.lock`` (shared or exclusive); a no-op where unsupported."""
    with file_lock(os.path.join(folder, LOCK), exclusive):
        yield


def snapshot(namespace: str | None, index: SpanIndex, docs: OrderedDict[str, Entry]) -> Snapshot:
    """What :func:`write` saves, from a cache's index and documents (LRU order)."""
    es, dim = list(docs.values()), index.dim
    arrays = {
        n: np.concatenate([e.arrays[n] for e in es]) if es else np.zeros(0, dtype)
        for n, dtype in META
    }
    arrays.update(
        keys=np.array(list(docs), dtype=str),
        first=np.array([e.first for e in es], dtype=np.int64),
        counts=np.array([len(e) for e in es], dtype=np.int64),
        doc_vectors=np.array([e.doc_vector for e in es], np.float32).reshape(len(es), dim),
    )
    return Snapshot(namespace, dim, index.index, index.next_id, arrays)


def restore(snap: Snapshot) -> tuple[SpanIndex, OrderedDict[str, Entry]]:
    """The index and documents of a loaded snapshot."""
    index = SpanIndex(snap.dim, index=snap.index, next_id=snap.next_id, mapped=snap.mapped)
    docs: OrderedDict[str, Entry] = OrderedDict()
    a = snap.arrays
    keys, firsts, counts = a["keys"].tolist(), a["first"].tolist(), a["counts"].tolist()
    bounds = np.concatenate([[0], np.cumsum(a["counts"])]).astype(np.int64).tolist()
    for d, key in enumerate(keys):
        lo, hi = bounds[d], bounds[d + 1]
        meta = {n: frozen(a[n][lo:hi], dtype) for n, dtype in META}
        docs[key] = Entry(int(firsts[d]), meta, frozen(a["doc_vectors"][d], np.float32))
    index.adopt_all(keys, firsts, counts)  # one sort: the saved LRU order is any id order
    return index, docs


def frozen(a: Any, dtype: Any) -> np.ndarray:
    """A read-only copy of ``a``."""
    out = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


def write(folder: str, snap: Snapshot) -> int:
    """Save ``snap`` into ``folder`` atomically; returns the bytes written.

    Raises:
        OSError: a write failed (a full disk, a quota, a read-only folder); the message names
            the folder. Every file this save created is removed and the previous cache (its
            manifest and the data files it names) is untouched.
    """
    return save(folder, lambda _: snap)[0]


def save(folder: str, prepare: Callable[[Disk], Snapshot]) -> tuple[int, str]:
    """Under the exclusive lock: ``prepare(what the folder holds)`` -> the snapshot to write
    (it may read the folder with :func:`read_locked` to merge, or raise ``ValueError`` to
    refuse), then write it atomically. Returns (bytes written, the new manifest's checksum).

    Raises:
        OSError: as :func:`write`.
    """
    try:
        os.makedirs(folder, exist_ok=True)
        with locked(folder, exclusive=True):
            return write_locked(folder, prepare(inspect(folder)))
    except CacheWriteError:
        raise
    except OSError as e:
        raise CacheWriteError(e.errno, _cannot_write(folder, e)) from e


def write_locked(folder: str, snap: Snapshot) -> tuple[int, str]:
    """:func:`write`, for a caller that holds the exclusive lock; also returns the checksum."""
    gen = uuid.uuid4().hex[:16]
    index_name, meta_name = f"index-{gen}.faiss", f"meta-{gen}.npz"
    created: list[str] = []  # every path this save made: removed unless the save commits
    committed = False
    try:
        index_tmp = os.path.join(folder, index_name + ".tmp")
        meta_tmp = os.path.join(folder, meta_name + ".tmp")
        created.append(index_tmp)
        _write_index(snap.index, index_tmp)
        created.append(meta_tmp)
        with open(meta_tmp, "wb") as f:
            np.savez(f, **{name: snap.arrays[name] for name in _ARRAYS})  # type: ignore[arg-type]
        files: dict[str, dict[str, Any]] = {}
        for role, tmp, name in (("index", index_tmp, index_name), ("meta", meta_tmp, meta_name)):
            _fsync(tmp)
            files[role] = {"name": name, "bytes": os.path.getsize(tmp), "blake2b": file_digest(tmp)}
            created.append(os.path.join(folder, name))
            os.replace(tmp, os.path.join(folder, name))
        manifest = _manifest(snap, files)
        tmp = os.path.join(folder, f"{MANIFEST}.{gen}.tmp")
        created.append(tmp)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(folder, MANIFEST))  # the commit point
        committed = True
    except OSError as e:
        raise CacheWriteError(e.errno, _cannot_write(folder, e)) from e
    finally:
        if not committed:
            for path in created:
                with contextlib.suppress(OSError):
                    os.remove(path)
    _fsync_dir(folder)
    remove_stale(folder, keep={index_name, meta_name, MANIFEST, LOCK})
    return int(files["index"]["bytes"] + files["meta"]["bytes"]), str(manifest["checksum"])


def _write_index(index: Any, path: str) -> None:
    """``faiss.write_index`` through a Python file, so a failed write raises the ``OSError`` it
    is (``ENOSPC``...), not faiss's ``RuntimeError``."""
    faiss = faiss_module()
    with open(path, "wb") as f:
        faiss.write_index(index, faiss.PyCallbackIOWriter(f.write))


def read(folder: str) -> Snapshot | None:
    """Load the snapshot in ``folder``; ``None`` when there is none yet.

    Raises:
        CacheFileError: the folder holds a cache that cannot be trusted (the message says why;
            :class:`NewerFormatError` for a newer format version).
    """
    if not os.path.isdir(folder):
        return None
    with locked(folder, exclusive=False):
        return read_locked(folder)


def read_locked(folder: str) -> Snapshot | None:
    """:func:`read`, for a caller that holds the lock."""
    manifest_path = os.path.join(folder, MANIFEST)
    if not os.path.lexists(manifest_path):
        data = [n for n in os.listdir(folder) if GENERATION.fullmatch(n)]
        if data:
            raise CacheFileError(f"{folder!r} holds cache files but no {MANIFEST}")
        return None
    manifest = read_manifest(manifest_path)
    try:
        return _read_data(folder, manifest)
    except (KeyError, TypeError, IndexError, ValueError) as e:
        if isinstance(e, CacheFileError):
            raise
        raise CacheFileError(f"{manifest_path!r} does not match its data files ({e!r})") from e


def peek(folder: str) -> tuple[str | None, int, str] | None:
    """(namespace, dimension, checksum) of ``folder``'s manifest; ``None`` if absent or damaged."""
    disk = inspect(folder)
    return (disk.namespace, disk.dim, disk.checksum) if disk.state == "cache" else None


def disk_bytes(folder: str) -> int:
    """Bytes of the files the current manifest points at (0 without a manifest)."""
    try:
        manifest = read_manifest(os.path.join(folder, MANIFEST))
    except (OSError, CacheFileError):
        return 0
    return int(sum(f["bytes"] for f in manifest["files"].values()))


def _manifest(snap: Snapshot, files: dict[str, Any]) -> dict[str, Any]:
    counts = snap.arrays["counts"]
    spans = int(counts.sum()) if len(counts) else 0
    docs = len(snap.arrays["keys"])
    return manifest_fields.build(snap.namespace, snap.dim, snap.next_id, docs, spans, files)


_checksum = manifest_fields.checksum


def _read_data(folder: str, manifest: dict[str, Any]) -> Snapshot:
    faiss = faiss_module()
    paths = {}
    for role in ("index", "meta"):
        entry = manifest["files"][role]
        name = entry["name"]
        if os.path.basename(name) != name:
            raise CacheFileError(f"{folder!r}: manifest names {name!r}, not a file in the folder")
        path = os.path.join(folder, name)
        if not os.path.lexists(path):
            raise CacheFileError(f"{path!r} is missing")
        check_regular(path)
        if os.path.getsize(path) != entry["bytes"] or file_digest(path) != entry["blake2b"]:
            raise CacheFileError(f"{path!r} is truncated or altered (digest mismatch)")
        paths[role] = path
    mmap = getattr(faiss, "IO_FLAG_MMAP_IFC", None)  # faiss >= 1.10: vectors mapped, not read
    try:
        index = faiss.read_index(paths["index"], mmap) if mmap else faiss.read_index(paths["index"])
    except RuntimeError as e:
        raise CacheFileError(f"{paths['index']!r} is not a readable FAISS index") from e
    try:
        with np.load(paths["meta"], allow_pickle=False) as z:
            arrays = {name: z[name] for name in _ARRAYS}
    except (OSError, ValueError, KeyError) as e:
        raise CacheFileError(f"{paths['meta']!r} is not a readable array file ({e})") from e
    dim = manifest["dim"]
    if index.d != dim:
        raise CacheFileError(f"{folder!r}: index dimension {index.d} != manifest dimension {dim}")
    if not isinstance(index, faiss.IndexIDMap2):
        raise CacheFileError(f"{paths['index']!r} is not an id-mapped index")
    ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    manifest_fields.check_data(manifest, arrays, ids, folder)
    return Snapshot(
        manifest["namespace"],
        dim,
        index,
        manifest["next_id"],
        arrays,
        manifest["checksum"],
        mapped=bool(mmap),
    )


def _fsync(path: str) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder: str) -> None:
    with contextlib.suppress(OSError):  # not supported everywhere (e.g. Windows)
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
