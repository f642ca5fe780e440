"""The manifest of a cache folder (``manifest.json``): what it records and how it is checked.

Every field is validated before anything it describes is read: its type, its range, and its
consistency with the data files (the FAISS index and the arrays). A manifest that fails names the
field and why, as a :class:`CacheFileError`; the cache then starts empty rather than trust it
(ids below ``next_id`` would hand new documents the ids, and so the vectors, of others). A
manifest of a newer format version raises :class:`NewerFormatError`: the folder is not replaced
without ``save(force=True)``.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..files import CacheFileError

CACHE_FILE_FORMAT = "semtoken-rag/fingerprint-cache"
"""The ``format`` a cache folder's manifest names (a folder of another format is refused)."""
CACHE_FILE_VERSION = 1
"""Version of the cache folder's files (manifest, arrays, index); bump when their layout changes.
What is in them depends on :data:`~semtoken_rag.pipeline.fingerprint.FINGERPRINT_VERSION`, part
of the namespace, and an int8 model export has its own
:data:`~semtoken_rag.encoders.export.EXPORT_VERSION`."""
MANIFEST = "manifest.json"
MAX_DIM = 1 << 16  # no sentence encoder comes near; a larger "dim" is a damaged manifest


class NewerFormatError(CacheFileError):
    """A cache folder written by a newer format version: never replaced without ``force``."""

    def __init__(self, message: str, version: int) -> None:
        super().__init__(message)
        self.version = version


def checksum(body: dict[str, Any]) -> str:
    """blake2b of the manifest's other fields (sorted-key JSON)."""
    data = json.dumps({k: v for k, v in body.items() if k != "checksum"}, sort_keys=True)
    return hashlib.blake2b(data.encode("utf-8"), digest_size=20).hexdigest()


def build(
    namespace: str | None,
    dim: int,
    next_id: int,
    documents: int,
    spans: int,
    files: dict[str, Any],
) -> dict[str, Any]:
    """A manifest body with its checksum."""
    try:
        settings = json.loads(namespace) if namespace else None
    except ValueError:
        settings = None
    body: dict[str, Any] = {
        "format": CACHE_FILE_FORMAT,
        "version": CACHE_FILE_VERSION,
        "namespace": namespace,
        "encoder": settings.get("encoder") if isinstance(settings, dict) else None,
        "settings": settings,
        "dim": int(dim),
        "index": "flat",
        "next_id": int(next_id),
        "documents": int(documents),
        "spans": int(spans),
        "files": files,
    }
    body["checksum"] = checksum(body)
    return body


def check(body: Any, path: str) -> dict[str, Any]:
    """``body`` if it is a valid manifest of this format version, else :class:`CacheFileError`
    (:class:`NewerFormatError` for a newer version) naming ``path`` and the field."""
    if not isinstance(body, dict) or body.get("format") != CACHE_FILE_FORMAT:
        raise CacheFileError(f"{path!r} is not a semtoken-rag fingerprint cache manifest")
    version = body.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version > CACHE_FILE_VERSION:
        raise NewerFormatError(
            f"{path!r} has format version {version}, newer than this library's "
            f"{CACHE_FILE_VERSION}: upgrade semtoken-rag to read it (save(force=True) replaces it)",
            version,
        )
    if version != CACHE_FILE_VERSION:
        raise CacheFileError(
            f"{path!r} has format version {version!r}, this library reads version "
            f"{CACHE_FILE_VERSION}"
        )
    if body.get("checksum") != checksum(body):
        raise CacheFileError(f"{path!r} was edited or damaged (checksum mismatch)")

    def bad(field: str, why: str) -> CacheFileError:
        return CacheFileError(f"{path!r}: field {field!r} {why}, got {body.get(field)!r}"[:500])

    if body.get("namespace") is not None and not isinstance(body.get("namespace"), str):
        raise bad("namespace", "must be a str or null")
    if not _is_int(body.get("dim")) or not 1 <= body["dim"] <= MAX_DIM:
        raise bad("dim", f"must be an int in [1, {MAX_DIM}]")
    for field in ("next_id", "documents", "spans"):
        if not _is_int(body.get(field)) or body[field] < 0:
            raise bad(field, "must be an int >= 0")
    if body["spans"] > body["next_id"]:
        raise bad("next_id", f"must be >= the {body['spans']} span ids in use")
    if body.get("index") != "flat":
        raise CacheFileError(
            f"{path!r} holds a {body.get('index')!r} index; this version reads flat indexes "
            "only (rebuild the cache)"
        )
    files = body.get("files")
    if not isinstance(files, dict) or set(files) != {"index", "meta"}:
        raise bad("files", "must name exactly an 'index' and a 'meta' file")
    for role, entry in files.items():
        if not isinstance(entry, dict):
            raise bad("files", f"entry {role!r} must be an object")
        name = entry.get("name")
        if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name:
            raise CacheFileError(f"{path!r}: manifest names {name!r}, not a file in the folder")
        if not _is_int(entry.get("bytes")) or entry["bytes"] < 0:
            raise bad("files", f"{role!r} bytes must be an int >= 0")
        digest = entry.get("blake2b")
        if not isinstance(digest, str) or len(digest) != 40:
            raise bad("files", f"{role!r} blake2b must be a 40-digit hex digest")
    return body


def check_data(
    body: dict[str, Any], arrays: dict[str, np.ndarray], ids: np.ndarray, folder: str
) -> None:
    """Refuse (:class:`CacheFileError`) arrays and index ids that disagree with the manifest or
    with each other: every count, offset and id range is checked, so a loaded cache never hands
    out an id that another document owns."""

    def bad(why: str) -> CacheFileError:
        return CacheFileError(f"{folder!r}: {why}")

    n_docs, spans, dim, next_id = body["documents"], body["spans"], body["dim"], body["next_id"]
    for name in ("first", "counts", "starts", "ends", "sentence", "tokens"):
        a = arrays[name]
        if a.ndim != 1 or not np.issubdtype(a.dtype, np.integer):
            raise bad(f"array {name!r} must be one-dimensional integers, got {a.dtype} {a.shape}")
    if arrays["keys"].ndim != 1 or arrays["keys"].dtype.kind != "U":
        raise bad("array 'keys' must hold strings")
    if arrays["entropies"].ndim != 1 or arrays["entropies"].dtype.kind != "f":
        raise bad("array 'entropies' must be one-dimensional floats")
    if any(len(arrays[name]) != n_docs for name in ("keys", "first", "counts")):
        raise bad(f"per-document arrays differ in length from the {n_docs} documents")
    doc_vectors = arrays["doc_vectors"]
    if doc_vectors.dtype.kind != "f" or doc_vectors.shape != (n_docs, dim):
        raise bad(
            f"document vectors have shape {doc_vectors.shape}, manifest says ({n_docs}, {dim})"
        )
    if len(set(arrays["keys"].tolist())) != n_docs:
        raise bad("a document key appears twice")
    counts, first = arrays["counts"], arrays["first"]
    if (counts < 0).any() or (first < 0).any():
        raise bad("negative span counts or ids")
    if int(counts.sum()) != spans:
        raise bad(f"span counts sum to {int(counts.sum())}, manifest says {spans}")
    if any(
        len(arrays[name]) != spans for name in ("starts", "ends", "sentence", "entropies", "tokens")
    ):
        raise bad("per-span arrays differ in length from the span count")
    order = np.argsort(first, kind="stable")
    lo, hi = first[order], first[order] + counts[order]
    if len(lo) and (int(hi.max()) > next_id or (lo[1:] < hi[:-1]).any()):
        raise bad(f"document id ranges overlap or reach past next_id={next_id}")
    starts, ends = arrays["starts"], arrays["ends"]
    if (starts < 0).any() or (ends < starts).any() or (arrays["tokens"] < 0).any():
        raise bad("span offsets or token counts out of range")
    if (arrays["sentence"] < 0).any() or not np.isfinite(doc_vectors).all():
        raise bad("sentence numbers or document vectors out of range")
    ranges = [np.arange(a, b, dtype=np.int64) for a, b in zip(lo.tolist(), hi.tolist())]
    want = np.concatenate(ranges) if ranges else np.zeros(0, dtype=np.int64)
    if len(ids) != spans or not np.array_equal(np.sort(ids), want):
        raise bad("the index's ids are not the documents' span ids")


def read_manifest(path: str) -> dict[str, Any]:
    """The checked manifest at ``path`` (:func:`check`); ``OSError`` when it cannot be read."""
    if os.path.lexists(path):
        check_regular(path)
    try:
        with open(path, encoding="utf-8") as f:
            body = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise CacheFileError(f"{path!r} is not valid JSON ({e})") from e
    return check(body, path)


@dataclass(frozen=True)
class Disk:
    """What a folder holds, as :func:`inspect` sees it before a save.

    Attributes:
        state: ``"empty"`` (no manifest), ``"cache"`` (a valid manifest of this version),
            ``"newer"`` (a newer format version), ``"foreign"`` (a ``manifest.json`` that is not
            a semtoken-rag cache's) or ``"damaged"`` (ours, but unreadable).
        namespace: The saved namespace (``"cache"`` only).
        dim: The saved dimension (``"cache"`` only).
        checksum: The manifest's checksum ("" when unknown).
        version: The manifest's format version (``None`` when unknown).
    """

    state: str
    namespace: str | None = None
    dim: int = 0
    checksum: str = ""
    version: int | None = None


def inspect(folder: str) -> Disk:
    """The state of ``folder``'s manifest (no data file is read)."""
    path = os.path.join(folder, MANIFEST)
    if not os.path.lexists(path):
        return Disk("empty")
    try:
        body = read_manifest(path)
    except NewerFormatError as e:
        return Disk("newer", version=e.version)
    except (OSError, CacheFileError):
        if os.path.islink(path) or not os.path.isfile(path):
            return Disk("damaged")  # never followed
        try:
            with open(path, encoding="utf-8") as f:
                raw = json.load(f)
        except (OSError, ValueError, UnicodeDecodeError):
            return Disk("damaged")
        if not isinstance(raw, dict) or raw.get("format") != CACHE_FILE_FORMAT:
            return Disk("foreign")
        return Disk("damaged", checksum=str(raw.get("checksum", "")))
    return Disk("cache", body["namespace"], body["dim"], body["checksum"], body["version"])


def check_regular(path: str) -> None:
    """Refuse a link (it could lead outside the folder), a folder, a FIFO or a device."""
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        raise CacheFileError(f"{path!r} is a symbolic link; cache files are never followed")
    if not stat.S_ISREG(mode):
        raise CacheFileError(f"{path!r} is not a regular file")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
