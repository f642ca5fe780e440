"""On-disk format of :class:`~semtoken_rag.cache.FingerprintCache`: a folder of generations.

A cache folder holds ``manifest.json`` (the sidecar), ``index-<gen>.faiss`` (the span vectors,
FAISS ``write_index``) and ``meta-<gen>.npz`` (offsets, entropies, token counts, document vectors;
plain arrays, read with ``allow_pickle=False``). The manifest records the format version, the
namespace (encoder identity, token counter, segmentation and window settings), the dimension, the
index kind, the digests of the two data files and a checksum of itself.

A save writes new data files under fresh names, syncs them, then atomically renames a new manifest
over the old one: the rename is the commit point. A process killed at any moment leaves the previous
manifest pointing at files that still exist. Saves hold an exclusive ``fcntl`` lock on
``<folder>/.lock`` and loads a shared one, so two processes never interleave; the last writer wins
(each save writes its whole cache). Without ``fcntl`` (Windows) only the atomic rename protects.

Nothing is followed outside the folder: the manifest and the data files it names must be regular
files directly in the folder (no links, no sub-paths), the lock file is opened without following a
link, and the writability probe is a fresh, exclusively created file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import stat
import tempfile
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..types import span_fields
from .index import SpanIndex, faiss_module

logger = logging.getLogger(__name__)

FORMAT = "semtoken-rag/fingerprint-cache"
VERSION = 1
MANIFEST = "manifest.json"
LOCK = ".lock"
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


class CacheFileError(ValueError):
    """A cache folder that cannot be read back (corrupt, truncated, edited or foreign)."""


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
    mapped: bool = False  # the index's vectors are memory-mapped from the file


@contextlib.contextmanager
def locked(folder: str, exclusive: bool) -> Iterator[None]:
    """Hold ``fcntl.flock`` on ``folder/.lock`` (shared or exclusive); a no-op where unsupported."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    lock_path = os.path.join(folder, LOCK)
    try:
        flags = (os.O_RDWR | os.O_CREAT) if exclusive else os.O_RDONLY
        fd = os.open(lock_path, flags | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError:
        if exclusive:
            raise
        yield  # read-only folder without a lock file: nobody can be writing it
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def snapshot(namespace: str | None, index: SpanIndex, docs: OrderedDict[str, Entry]) -> Snapshot:
    """What :func:`write` saves, from a cache's index and documents (LRU order)."""
    es, dim = list(docs.values()), index.dim
    arrays = {
        n: np.concatenate([e.arrays[n] for e in es]) if es else np.zeros(0, t) for n, t in META
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
    bounds = np.concatenate([[0], np.cumsum(a["counts"])]).astype(np.int64)
    for d, key in enumerate(a["keys"].tolist()):
        lo, hi, first = int(bounds[d]), int(bounds[d + 1]), int(a["first"][d])
        meta = {n: frozen(a[n][lo:hi], t) for n, t in META}
        docs[key] = Entry(first, meta, frozen(a["doc_vectors"][d], np.float32))
        index.adopt(key, first, hi - lo)
    return index, docs


def check_path(path: str, read_only: bool) -> None:
    """Refuse (``ValueError`` naming ``path``) a cache folder that is a file or not writable."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"fingerprint cache path {path!r} exists and is not a folder")
    if read_only:
        return
    try:
        os.makedirs(path, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=path)  # O_EXCL: never a planted link
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        raise ValueError(
            f"fingerprint cache path {path!r} is not writable ({e.strerror or e}); "
            "pass another path, or read_only=True to only read it"
        ) from e


def frozen(a: Any, dtype: Any) -> np.ndarray:
    """A read-only copy of ``a``."""
    out = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


def write(folder: str, snap: Snapshot) -> int:
    """Save ``snap`` into ``folder`` atomically; returns the bytes written."""
    faiss = faiss_module()
    os.makedirs(folder, exist_ok=True)
    with locked(folder, exclusive=True):
        gen = uuid.uuid4().hex[:16]
        index_name, meta_name = f"index-{gen}.faiss", f"meta-{gen}.npz"
        index_tmp = os.path.join(folder, index_name + ".tmp")
        meta_tmp = os.path.join(folder, meta_name + ".tmp")
        faiss.write_index(snap.index, index_tmp)
        with open(meta_tmp, "wb") as f:
            np.savez(f, **{name: snap.arrays[name] for name in _ARRAYS})  # type: ignore[arg-type]
        files: dict[str, dict[str, Any]] = {}
        for role, tmp, name in (("index", index_tmp, index_name), ("meta", meta_tmp, meta_name)):
            _fsync(tmp)
            files[role] = {"name": name, "bytes": os.path.getsize(tmp), "blake2b": _digest(tmp)}
            os.replace(tmp, os.path.join(folder, name))
        manifest = _manifest(snap, files)
        tmp = os.path.join(folder, f"{MANIFEST}.{gen}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(folder, MANIFEST))  # the commit point
        _fsync_dir(folder)
        _remove_stale(folder, keep={index_name, meta_name, MANIFEST, LOCK})
        return files["index"]["bytes"] + files["meta"]["bytes"]


def read(folder: str) -> Snapshot | None:
    """Load the snapshot in ``folder``; ``None`` when there is none yet.

    Raises:
        CacheFileError: the folder holds a cache that cannot be trusted (the message says why).
    """
    manifest_path = os.path.join(folder, MANIFEST)
    if not os.path.isdir(folder):
        return None
    with locked(folder, exclusive=False):
        if not os.path.lexists(manifest_path):
            data = [n for n in os.listdir(folder) if n.endswith((".faiss", ".npz"))]
            if data:
                raise CacheFileError(f"{folder!r} holds cache files but no {MANIFEST}")
            return None
        manifest = _read_manifest(manifest_path)
        try:
            return _read_data(folder, manifest)
        except (KeyError, TypeError, IndexError) as e:
            raise CacheFileError(f"{manifest_path!r} does not match its data files ({e!r})") from e


def peek(folder: str) -> tuple[str | None, int, str] | None:
    """(namespace, dimension, checksum) of ``folder``'s manifest; ``None`` if absent or damaged."""
    try:
        manifest = _read_manifest(os.path.join(folder, MANIFEST))
        return manifest.get("namespace"), int(manifest["dim"]), str(manifest["checksum"])
    except (OSError, CacheFileError, KeyError, TypeError, ValueError):
        return None


def disk_bytes(folder: str) -> int:
    """Bytes of the files the current manifest points at (0 without a manifest)."""
    try:
        manifest = _read_manifest(os.path.join(folder, MANIFEST))
    except (OSError, CacheFileError):
        return 0
    return int(sum(f["bytes"] for f in manifest["files"].values()))


def _manifest(snap: Snapshot, files: dict[str, Any]) -> dict[str, Any]:
    try:
        settings = json.loads(snap.namespace) if snap.namespace else None
    except ValueError:
        settings = None
    body: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "namespace": snap.namespace,
        "encoder": settings.get("encoder") if isinstance(settings, dict) else None,
        "settings": settings,
        "dim": int(snap.dim),
        "index": "flat",
        "next_id": int(snap.next_id),
        "documents": len(snap.arrays["keys"]),
        "spans": int(snap.arrays["counts"].sum()) if len(snap.arrays["counts"]) else 0,
        "files": files,
    }
    body["checksum"] = _checksum(body)
    return body


def _checksum(body: dict[str, Any]) -> str:
    data = json.dumps({k: v for k, v in body.items() if k != "checksum"}, sort_keys=True)
    return hashlib.blake2b(data.encode("utf-8"), digest_size=20).hexdigest()


def _read_manifest(path: str) -> dict[str, Any]:
    if os.path.lexists(path):
        _check_regular(path)
    try:
        with open(path, encoding="utf-8") as f:
            body = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise CacheFileError(f"{path!r} is not valid JSON ({e})") from e
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise CacheFileError(f"{path!r} is not a semtoken-rag fingerprint cache manifest")
    if body.get("version") != VERSION:
        raise CacheFileError(
            f"{path!r} has format version {body.get('version')!r}, "
            f"this library reads version {VERSION}"
        )
    if body.get("checksum") != _checksum(body):
        raise CacheFileError(f"{path!r} was edited or damaged (checksum mismatch)")
    return body


def _read_data(folder: str, manifest: dict[str, Any]) -> Snapshot:
    faiss = faiss_module()
    paths = {}
    for role in ("index", "meta"):
        entry = manifest["files"][role]
        name = entry["name"]
        if not isinstance(name, str) or name in ("", ".", "..") or os.path.basename(name) != name:
            raise CacheFileError(f"{folder!r}: manifest names {name!r}, not a file in the folder")
        path = os.path.join(folder, name)
        if not os.path.lexists(path):
            raise CacheFileError(f"{path!r} is missing")
        _check_regular(path)
        if os.path.getsize(path) != entry["bytes"] or _digest(path) != entry["blake2b"]:
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
    dim = int(manifest["dim"])
    spans = int(arrays["counts"].sum()) if len(arrays["counts"]) else 0
    if index.d != dim or arrays["doc_vectors"].shape[1:] != (dim,):
        raise CacheFileError(f"{folder!r}: index dimension {index.d} != manifest dimension {dim}")
    n_docs = len(arrays["keys"])
    if any(len(arrays[name]) != n_docs for name in ("first", "counts", "doc_vectors")):
        raise CacheFileError(f"{folder!r}: per-document arrays differ in length")
    if spans != manifest["spans"] or len(arrays["starts"]) != spans or index.ntotal < spans:
        raise CacheFileError(f"{folder!r}: span counts of the index and arrays disagree")
    if manifest.get("index") != "flat":
        raise CacheFileError(
            f"{folder!r} holds a {manifest.get('index')!r} index; this version reads flat indexes "
            "only (rebuild the cache)"
        )
    return Snapshot(
        manifest["namespace"], dim, index, int(manifest["next_id"]), arrays, mapped=bool(mmap)
    )


def _check_regular(path: str) -> None:
    """Refuse a link (it could lead outside the folder), a folder, a FIFO or a device."""
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        raise CacheFileError(f"{path!r} is a symbolic link; cache files are never followed")
    if not stat.S_ISREG(mode):
        raise CacheFileError(f"{path!r} is not a regular file")


def _digest(path: str) -> str:
    h = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


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


def _remove_stale(folder: str, keep: set[str]) -> None:
    """Delete older generations and temporaries of killed saves (we hold the exclusive lock)."""
    for name in os.listdir(folder):
        stale = name.startswith(("index-", "meta-", MANIFEST + ".")) and name not in keep
        if stale:
            with contextlib.suppress(OSError):
                os.remove(os.path.join(folder, name))
