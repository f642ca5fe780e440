"""The FAISS-backed fingerprint cache: each document's span fingerprints computed once.

The cache owns its policy (:meth:`FingerprintCache.get_or_compute`): keys are blake2b digests of
(namespace, title, text) (:func:`document_key`), where the namespace is the JSON of everything a
fingerprint depends on besides the text (encoder identity, token counter, segmentation, window;
:func:`~semtoken_rag.pipeline.fingerprint.namespace`). Span vectors live in one id-mapped FAISS
index (:mod:`~semtoken_rag.cache.index`); offsets, entropies, token counts and document vectors
live beside it. :mod:`~semtoken_rag.cache.store` holds the on-disk format and atomic saves.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..config import check_int
from ..types import DocFingerprints, Document
from . import folder, store, sync
from .index import SpanIndex
from .settings import refuse_other
from .store import META, Entry, frozen

logger = logging.getLogger(__name__)

_LOW_WATER = 0.9  # eviction frees down to this share of max_entries (amortises index compaction)

Compute = Callable[[Sequence[Document]], list[DocFingerprints]]


def document_key(namespace: str, doc: Document) -> str:
    """Collision-resistant key of one document's fingerprints (blake2b over settings and text).

    Example:
        >>> len(document_key("ns", Document("Ada wrote it.")))
        40
    """
    h = hashlib.blake2b(digest_size=20)
    for part in (namespace, doc.title, doc.text):
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


class FingerprintCache:
    """Document fingerprints keyed by a content hash, with span vectors in a FAISS index.

    Args:
        path: A folder to persist to; ``None`` keeps the cache in memory. A folder that cannot be
            read back (truncated or garbage index, edited or missing manifest) logs a warning and
            the cache starts empty; the next :meth:`save` replaces it. A path that cannot be
            written, or a folder of other files but no cache (a save removes only files it
            made), raises ``ValueError`` naming it, here, never during a query.
        max_entries: Most **spans** held (FAISS rows). Beyond it the least recently used documents
            are evicted, down to 90 % of the limit.
        read_only: Load ``path``, never write it; other settings raise (:meth:`check_namespace`).
        autosave: :meth:`close` (and leaving a ``with`` block) saves when something changed.
            Otherwise call :meth:`save`; nothing is ever written during a query.

    A cache holds one namespace (:meth:`bind`, or the first :meth:`get_or_compute`); another one
    logs a warning and starts empty (read-only: raises). A folder written under another namespace
    or dimension is never overwritten silently: :meth:`save` raises ``ValueError`` naming the path
    unless ``force=True``; nor is a folder written by a newer format version. Every method takes
    one lock, so a cache can be shared by threads and concurrent async calls. Processes may share
    a folder: saves are atomic and serialised by a file lock, and each save first merges what
    other processes saved since (two processes warming one folder keep both their documents).

    Example:
        >>> from semtoken_rag import FingerprintCache, SemTokenCompressor
        >>> cache = FingerprintCache("fp-cache", max_entries=50_000)  # doctest: +SKIP
        >>> c = SemTokenCompressor(cache=cache)  # doctest: +SKIP
        >>> _ = c.compress("who?", ["Ada wrote it. Bob read it."], budget=8)  # doctest: +SKIP
        >>> cache.save(); cache.stats()["entries"]  # doctest: +SKIP
        2
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        max_entries: int = 200_000,
        read_only: bool = False,
        autosave: bool = False,
    ) -> None:
        check_int("max_entries", max_entries)
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str, a PathLike or None, got {type(path).__name__}")
        self.path = os.fspath(path) if path is not None else None
        self.max_entries = max_entries
        self.read_only, self.autosave = read_only, autosave
        self.namespace: str | None = None
        self.hits = self.misses = self.evictions = 0
        self._lock = threading.RLock()
        self._docs: OrderedDict[str, Entry] = OrderedDict()
        self._index: SpanIndex | None = None
        self._dirty = False
        self._unreadable: str | None = None  # checksum of a manifest whose data failed to load
        self._synced = ""  # checksum of the manifest last loaded or saved: what we hold of it
        self._dropped: set[str] = set()  # keys evicted or cleared since then (not merged back)
        if self.path is not None:
            folder.check_path(self.path, self.read_only)
            self._load(self.path)

    @property
    def dim(self) -> int | None:
        """Dimension of the cached vectors (``None`` while empty)."""
        return self._index.dim if self._index is not None else None

    def check_namespace(self, namespace: str) -> None:
        """``ValueError`` naming each differing setting if the cache holds other settings."""
        refuse_other(self.namespace, namespace, repr(self.path) if self.path else "(in memory)")

    def bind(self, namespace: str) -> None:
        """Tie the cache to a namespace; another warns and starts empty (read-only: raises)."""
        with self._lock:
            if self.read_only:
                self.check_namespace(namespace)
            if self.namespace is not None and self.namespace != namespace:
                logger.warning(
                    "fingerprint cache %s holds fingerprints of other settings (%s); starting "
                    "empty (a saved folder is not overwritten without save(force=True))",
                    self.path or "(in memory)",
                    self.namespace[:200],
                )
                self._reset()
            self.namespace = namespace

    def get_or_compute(
        self, docs: Sequence[Document], namespace: str, compute: Compute
    ) -> list[DocFingerprints]:
        """The fingerprints of ``docs``: cached ones where held, the rest from one ``compute``
        call (then stored). Documents with no text are computed and never stored.

        Args:
            docs: The documents, in order.
            namespace: What the fingerprints depend on besides the text (binds the cache).
            compute: Fingerprints of a list of documents (one encoder pass).

        Returns:
            One :class:`DocFingerprints` per document, in order.

        Example:
            >>> fps = cache.get_or_compute(docs, compressor.namespace, compute)  # doctest: +SKIP
        """
        self.bind(namespace)
        out: list[DocFingerprints | None] = [None] * len(docs)
        keys = [document_key(namespace, d) if d.text.strip() else "" for d in docs]
        for i, key in enumerate(keys):
            if key:
                out[i] = self.get(key, namespace)
        todo = [i for i, fp in enumerate(out) if fp is None]
        fresh = compute([docs[i] for i in todo]) if todo else []
        for i, fp in zip(todo, fresh, strict=True):
            out[i] = fp
            if keys[i]:
                self.put(keys[i], fp, namespace)
        return [fp for fp in out if fp is not None]

    def get(self, key: str, namespace: str | None = None) -> DocFingerprints | None:
        """The fingerprints stored under ``key`` (``None`` on a miss or another ``namespace``)."""
        with self._lock:
            e = self._docs.get(key)
            if e is None or self._index is None or namespace not in (None, self.namespace):
                self.misses += 1
                return None
            self._docs.move_to_end(key)
            self.hits += 1
            vectors = self._index.vectors(e.first, len(e))
        return DocFingerprints(vectors=vectors, doc_vector=e.doc_vector, **e.arrays)

    def put(self, key: str, fp: DocFingerprints, namespace: str | None = None) -> None:
        """Store ``fp`` under ``key``; a key already held keeps its first fingerprints."""
        vectors, doc_vector = _check_fp(fp)
        n, dim = vectors.shape
        with self._lock:
            if namespace not in (None, self.namespace):
                logger.warning("fingerprint cache: refused fingerprints of another namespace")
                return
            if key in self._docs or n > self.max_entries:
                return
            if self._index is not None and dim != self._index.dim:
                logger.warning(
                    "fingerprint cache %s holds %s-dimensional vectors but got %d: another "
                    "encoder under the same identity; starting empty",
                    self.path or "(in memory)",
                    self.dim,
                    dim,
                )
                self._reset()
            if self._index is None:
                self._index = SpanIndex(dim)
            first = self._index.add(key, vectors)
            meta = {name: frozen(getattr(fp, name), dtype) for name, dtype in META}
            self._docs[key] = Entry(first, meta, frozen(doc_vector, np.float32))
            self._dirty = True
            if self._index.spans > self.max_entries:
                self._evict(int(self.max_entries * _LOW_WATER))

    def merge(self, other: FingerprintCache) -> int:
        """Add every document of ``other`` (same namespace) not held yet; returns how many.

        Raises:
            ValueError: ``other`` holds fingerprints of another namespace.
        """
        if other.namespace is None or len(other) == 0:
            return 0
        if self.namespace is None:
            self.bind(other.namespace)
        if other.namespace != self.namespace:
            raise ValueError("cannot merge fingerprint caches of different settings (namespace)")
        before = len(self)
        held = other.keys()  # a cache is not iterable
        for key in held:
            fp = other.get(key)
            if fp is not None:
                self.put(key, fp)  # a key already held keeps its first fingerprints
        return len(self) - before

    @staticmethod
    def saved_namespace(path: str | os.PathLike[str]) -> str | None:
        """The namespace of the cache saved in ``path`` (``None``: no readable cache there).

        Example:
            >>> FingerprintCache.saved_namespace("no-such-folder") is None
            True
        """
        disk = store.peek(os.fspath(path))
        return None if disk is None else str(disk[0])

    @property
    def dirty(self) -> bool:
        """Whether something changed since the last load or save."""
        return self._dirty

    def __len__(self) -> int:
        return len(self._docs)

    def keys(self) -> list[str]:
        """The document keys held, least recently used first."""
        with self._lock:
            return list(self._docs)

    def stats(self) -> dict[str, float]:
        """Numbers: hits, misses, hit_rate, documents, entries (spans), bytes, disk_bytes...

        ``bytes`` approximates the memory of the stored fingerprints (FAISS rows with HNSW links
        and id maps, offsets, entropies, counts, document vectors); ``disk_bytes`` is the size of
        the saved files (0 in memory).

        Example:
            >>> FingerprintCache().stats()["entries"]
            0
        """
        with self._lock:
            meta = sum(
                sum(a.nbytes for a in e.arrays.values()) + e.doc_vector.nbytes + 160
                for e in self._docs.values()
            )
            asked = self.hits + self.misses
            return {
                "hits": self.hits,
                "misses": self.misses,
                "hit_rate": self.hits / asked if asked else 0.0,
                "documents": len(self._docs),
                "entries": self._index.spans if self._index is not None else 0,
                "max_entries": self.max_entries,
                "evictions": self.evictions,
                "dim": self.dim or 0,
                "bytes": meta + (self._index.nbytes() if self._index is not None else 0),
                "disk_bytes": store.disk_bytes(self.path) if self.path else 0,
            }

    def clear(self) -> None:
        """Drop every entry (the namespace stays bound)."""
        with self._lock:
            self._reset()

    def save(self, *, force: bool = False) -> int:
        """Write the cache to ``path`` atomically; returns the bytes written (0 when empty).

        Raises:
            ValueError: no ``path``, ``read_only``, or the folder holds another namespace or
                dimension and ``force`` is false.
            OSError: the folder cannot be written (a full disk, a quota: the message names it,
                ``errno`` is the cause's). The files this save began are removed; the cache
                saved before is intact and in memory nothing is lost (save again later).
        """
        if self.path is None:
            raise ValueError("save needs a folder: FingerprintCache(path=...)")
        if self.read_only:
            raise ValueError(f"fingerprint cache {self.path!r} was opened with read_only=True")
        with self._lock:
            if self._index is None:
                return 0
            written, self._synced = store.save(self.path, lambda disk: self._prepare(disk, force))
            self._dropped.clear()
            self._dirty = False
            return written

    def _prepare(self, disk: store.Disk, force: bool) -> store.Snapshot:
        """Under the folder's exclusive lock: refuse what must not be replaced, merge what
        another process saved since this cache last loaded or saved, snapshot."""
        index, path = self._index, self.path
        if index is None or path is None:  # pragma: no cover - save() checked both
            raise RuntimeError("nothing to save")
        ours = (disk.namespace, disk.dim) == (self.namespace, index.dim)
        why = sync.refusal(disk, path, ours, self._unreadable)
        if why and not force:
            raise ValueError(why)
        if disk.state == "cache" and ours and disk.checksum != self._synced:
            added = sync.merge_saved(path, index, self._docs, self._dropped)
            if added and index.spans > self.max_entries:
                self._evict(int(self.max_entries * _LOW_WATER))
        return store.snapshot(self.namespace, index, self._docs)

    def close(self) -> None:
        """Save when ``autosave`` is on and something changed."""
        if self.autosave and self.path is not None and not self.read_only and self._dirty:
            self.save()

    def __enter__(self) -> FingerprintCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FingerprintCache(path={self.path!r}, documents={len(self._docs)})"

    def _reset(self) -> None:
        self._dropped.update(self._docs)
        self._docs.clear()
        self._index = None
        self._dirty = True

    def _evict(self, target: int) -> None:
        if self._index is None:
            return
        gone: set[int] = set()
        spans = self._index.spans
        while spans > target and len(self._docs) > 1:
            key, e = self._docs.popitem(last=False)
            self._dropped.add(key)
            gone.add(e.first)
            spans -= len(e)
            self.evictions += 1
        self._index.remove(gone)

    def _load(self, path: str) -> None:
        try:
            snap = store.read(path)
        except store.NewerFormatError as e:
            logger.warning(
                "fingerprint cache %s: %s; starting empty (it is not replaced without "
                "save(force=True))",
                path,
                e,
            )
            return
        except (store.CacheFileError, OSError) as e:
            logger.warning("fingerprint cache %s is unreadable, starting empty: %s", path, e)
            disk = store.peek(path)
            self._unreadable = disk[2] if disk is not None else None
            return
        if snap is None:
            return
        self._index, self._docs = store.restore(snap)
        self.namespace, self._synced = snap.namespace, snap.checksum
        if self._index.spans > self.max_entries:
            logger.warning("%s: %d spans > max_entries, evicting on load", path, self._index.spans)
            self._evict(self.max_entries)
        logger.info(
            "fingerprint cache %s: loaded %d documents, %d spans",
            path,
            len(self._docs),
            self._index.spans,
        )


def _check_fp(fp: Any) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(fp, DocFingerprints):
        raise TypeError(f"fp must be a DocFingerprints, got {type(fp).__name__}")
    vectors = np.ascontiguousarray(fp.vectors, dtype=np.float32)
    doc_vector = np.asarray(fp.doc_vector, dtype=np.float32).reshape(-1)
    n = len(fp.starts)
    if vectors.ndim != 2 or vectors.shape != (n, doc_vector.shape[0]):
        raise ValueError(
            f"fp.vectors must have shape [{n}, {doc_vector.shape[0]}], got {vectors.shape}"
        )
    if any(len(getattr(fp, name)) != n for name, _ in META):
        names = ", ".join(name for name, _ in META)
        raise ValueError(f"fp arrays {names} differ in length")
    return vectors, doc_vector
