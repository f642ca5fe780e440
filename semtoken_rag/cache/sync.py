"""Saving a cache over what its folder already holds: what is refused, and what is merged.

A save never replaces, without ``force=True``: a cache of other settings (namespace or dimension), a
folder written by a newer format version, or a ``manifest.json`` that is not a semtoken-rag cache's;
nor writes, without it, into a folder that holds no cache but other files. A damaged cache of ours
is replaced. A cache of the same settings that another process saved since this one last loaded or
saved is merged: its documents that this cache lacks are added (as the least recently used), so two
processes warming one folder keep both their work. Both run under the folder's exclusive lock
(:func:`~semtoken_rag.cache.store.save`).
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from . import folder, store
from .index import SpanIndex
from .store import Disk, Entry

logger = logging.getLogger(__name__)


def refusal(disk: Disk, path: str, ours: bool, unreadable: str | None) -> str:
    """Why a save must not replace what ``disk`` describes without ``force`` ("" if it may).

    ``ours``: the folder's namespace and dimension are the saving cache's; ``unreadable``: the
    checksum of a manifest whose data failed to load (that folder may be replaced).

    Example:
        >>> refusal(Disk("empty"), "fp", False, None)
        ''
        >>> refusal(Disk("newer", version=2), "fp", False, None)[:60]
        "fingerprint cache 'fp' was written by a newer format version"
    """
    if disk.state == "newer":
        return (
            f"fingerprint cache {path!r} was written by a newer format version ({disk.version}; "
            f"this library writes {store.CACHE_FILE_VERSION}): upgrade semtoken-rag, use another "
            "path, or save(force=True) to replace it"
        )
    if disk.state == "foreign":
        return (
            f"fingerprint cache {path!r} holds a {store.MANIFEST} that is not a semtoken-rag "
            "cache's: use another path, or save(force=True) to replace it"
        )
    if disk.state == "empty":  # no cache: refused if files of the user's appeared since
        return folder.occupied(path)
    if disk.state == "cache" and not ours and disk.checksum != unreadable:
        return (
            f"fingerprint cache {path!r} holds fingerprints of other settings or dimension "
            f"({str(disk.namespace)[:200]}, dim {disk.dim}); use another path or "
            "save(force=True) to replace them"
        )
    return ""


def merge_saved(
    path: str, index: SpanIndex, docs: OrderedDict[str, Entry], dropped: set[str]
) -> int:
    """Add to ``index``/``docs`` the documents saved in ``path`` that they lack and that are not
    in ``dropped`` (evicted or cleared here: they stay out), as the least recently used.
    Returns how many; an unreadable save is not merged (it is replaced). The caller holds the
    folder's exclusive lock."""
    try:
        snap = store.read_locked(path)
    except (store.CacheFileError, OSError) as e:
        logger.warning("fingerprint cache %s: not merging an unreadable save: %s", path, e)
        return 0
    if snap is None:
        return 0
    saved_index, saved = store.restore(snap)
    missing = [k for k in saved if k not in docs and k not in dropped]
    for key in missing:
        entry = saved[key]
        first = index.add(key, saved_index.vectors(entry.first, len(entry)))
        docs[key] = Entry(first, entry.arrays, entry.doc_vector)
    for key in reversed(missing):
        docs.move_to_end(key, last=False)
    if missing:
        logger.info("fingerprint cache %s: merged %d documents saved by others", path, len(missing))
    return len(missing)
