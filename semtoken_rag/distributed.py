"""Ray Data: fingerprint and compress document sets on a cluster (extra ``semtoken-rag[ray]``).

Two functions take a :class:`ray.data.Dataset` and run the single-process code path in an actor
pool (the encoder loaded once per actor), so results are identical to
:meth:`SemTokenCompressor.warm` and :meth:`SemTokenCompressor.compress` on the same input:

- :func:`warm_dataset` fingerprints a text column into one :class:`FingerprintCache` folder.
- :func:`compress_dataset` adds compressed-context columns to a dataset of (query, documents) rows.

Shard layout of :func:`warm_dataset` (``shard_dir``, default ``<cache_path>.shards``)::

    <shard_dir>/shard-<blake2b of the batch's sorted document keys>/   # one per batch
        manifest.json, index and npz files                            # FingerprintCache format

A shard is named by its content, so a batch that Ray retries (an actor died mid-job) writes the
same folder again instead of a second copy. The driver then merges the shards that successful
batches reported into ``cache_path`` with :func:`merge_shards` (a key held twice is kept once)
and removes them unless ``keep_shards=True``. Every worker must be able to write ``shard_dir``
and the driver to read it: a local folder on one machine, a shared file system on a cluster.
No pickle is ever read from disk; Ray's own serialization only carries data between processes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterable, Mapping
from typing import Any

from .cache import FingerprintCache, document_key, merge_shards
from .compressor import SemTokenCompressor
from .config import UNBOUNDED, SemTokenConfig, check_int
from .inputs import as_documents, resolve_budget

logger = logging.getLogger(__name__)

__all__ = ["compress_dataset", "merge_shards", "shard_name", "warm_dataset"]

_INSTALL = "pip install 'semtoken-rag[ray]'"
_peek = FingerprintCache.saved_namespace
OUTPUT_COLUMNS = (
    "compressed_documents",
    "compressed_text",
    "kept_tokens",
    "original_tokens",
    "spans",
)


def _ray() -> Any:
    """The ``ray`` module with Ray Data, or an ``ImportError`` naming the extra."""
    try:
        import ray
        import ray.data
    except ImportError as e:
        raise ImportError(f"semtoken_rag.distributed needs Ray Data: {_INSTALL}") from e
    return ray


def _pa() -> Any:
    try:
        import pyarrow as pa
    except ImportError as e:  # pragma: no cover - ray[data] brings pyarrow
        raise ImportError(f"semtoken_rag.distributed needs pyarrow: {_INSTALL}") from e
    return pa


def shard_name(keys: Iterable[str]) -> str:
    """Folder name of the shard holding ``keys``: a hash of the sorted distinct keys.

    Example:
        >>> shard_name(["b", "a", "a"]) == shard_name(["a", "b"])
        True
    """
    h = hashlib.blake2b(digest_size=16)
    for key in sorted(set(keys)):
        h.update(key.encode("ascii") + b"\n")
    return f"shard-{h.hexdigest()}"


def _pool(
    ray: Any,
    concurrency: int,
    num_cpus: float,
    num_gpus: float | None,
    memory: float | None,
    resources: Mapping[str, float] | None,
    runtime_env: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """``map_batches`` options of a fixed-size actor pool, in the API Ray documents now
    (``compute=ActorPoolStrategy``, named remote parameters; no ``**ray_remote_args``)."""
    pool: dict[str, Any] = {
        "compute": ray.data.ActorPoolStrategy(size=concurrency),
        "num_cpus": num_cpus,
    }
    named = {"num_gpus": num_gpus, "memory": memory, "resources": resources}
    named["runtime_env"] = runtime_env
    for name, value in named.items():
        if value is not None:
            pool[name] = dict(value) if isinstance(value, Mapping) else value
    return pool


def _check_columns(ds: Any, needed: Mapping[str, str | None]) -> list[str]:
    schema = ds.schema()
    if schema is None:  # unknown until executed: the actors report a missing column
        return []
    names = list(schema.names)
    for param, column in needed.items():
        if column is not None and column not in names:
            raise ValueError(f"{param}={column!r} is not a column of the dataset ({names})")
    return names


def _compressor(config: Any, encoder: Any, token_counter: Any, cache: Any) -> SemTokenCompressor:
    c = SemTokenCompressor(config, encoder=encoder, token_counter=token_counter, cache=cache)
    load = getattr(c.encoder, "load", None)
    if load is not None:
        load()  # once per actor, before the first batch
    return c


class _Fingerprinter:
    """Ray Data actor: one batch of documents -> one shard folder, one summary row."""

    def __init__(
        self,
        config: SemTokenConfig | None,
        encoder: Any,
        token_counter: Any,
        shard_root: str,
        text_column: str,
        title_column: str | None,
    ) -> None:
        self.c = _compressor(config, encoder, token_counter, None)
        self.shard_root, self.text, self.title = shard_root, text_column, title_column

    def __call__(self, batch: Any) -> Any:
        t0 = time.perf_counter()
        texts = batch.column(self.text).to_pylist()
        titles = batch.column(self.title).to_pylist() if self.title else [None] * len(texts)
        records = [(text, {"title": ti} if ti else {}) for text, ti in zip(texts, titles)]
        docs = [d for d in as_documents(records) if d.text.strip()]
        ns = self.c.namespace
        unique = {document_key(ns, d): d for d in docs}
        row: dict[str, Any] = {"shard": "", "rows": len(texts), "documents": len(docs)}
        row.update(unique=len(unique), computed=0, spans=0, tokens=0, namespace=ns)
        if unique:
            name = shard_name(unique)
            cache = FingerprintCache(os.path.join(self.shard_root, name), max_entries=UNBOUNDED)
            self.c.cache = cache  # this actor's own compressor: one shard cache per batch
            misses = cache.misses
            fps = self.c.fingerprints(list(unique.values()))
            if cache.dirty:
                cache.save()  # atomic: a retried batch replaces the folder, never duplicates it
            row.update(shard=name, computed=cache.misses - misses)
            row.update(spans=sum(len(f.starts) for f in fps))
            row.update(tokens=int(sum(int(f.tokens.sum()) for f in fps)))
        row["busy_seconds"] = time.perf_counter() - t0
        return _pa().Table.from_pylist([row])


def warm_dataset(
    ds: Any,
    cache_path: str | os.PathLike[str],
    *,
    text_column: str = "text",
    title_column: str | None = None,
    config: SemTokenConfig | None = None,
    encoder: Any = None,
    token_counter: Any = None,
    batch_size: int = 64,
    concurrency: int = 1,
    num_cpus: float = 1,
    shard_dir: str | os.PathLike[str] | None = None,
    keep_shards: bool = False,
    num_gpus: float | None = None,
    memory: float | None = None,
    resources: Mapping[str, float] | None = None,
    runtime_env: Mapping[str, Any] | None = None,
) -> dict[str, float]:
    """Fingerprint a dataset's documents in a Ray actor pool into one cache folder.

    Args:
        ds: A :class:`ray.data.Dataset` with one document per row.
        cache_path: Folder of the merged :class:`FingerprintCache` (an existing one of the same
            settings is extended).
        text_column: Column of document texts.
        title_column: Optional column of titles (``metadata["title"]`` in the single-process API).
        config: Settings, as for :class:`SemTokenCompressor`.
        encoder: A model name or path, or a picklable callable (shipped to every actor).
        token_counter: A tiktoken encoding name or a picklable callable.
        batch_size: Documents per actor call and per shard.
        concurrency: Actors in the pool (each loads the encoder once).
        num_cpus: CPUs reserved per actor.
        shard_dir: Where actors write shards (default ``<cache_path>.shards``); on a cluster, a
            folder every worker can write and the driver can read.
        keep_shards: Leave the shard folders after merging.
        num_gpus, memory, resources, runtime_env: Per-actor resources, passed to
            ``Dataset.map_batches`` as Ray's named remote parameters (GPUs, heap bytes, custom
            resources, runtime environment). Ray Data's actor pools restart dead actors and
            retry their batches by default (``max_restarts=-1``, ``max_task_retries=-1``).

    Returns:
        Numbers: ``documents`` (non-empty rows), ``computed`` (new fingerprints), ``shards``,
        ``spans`` and ``tokens`` fingerprinted, ``cache_documents`` and ``cache_spans`` (the
        merged cache), ``seconds`` (wall time of the pool), ``busy_seconds`` (summed over
        actors' calls) and ``tokens_per_second`` (``tokens / seconds``).

    Example:
        >>> import ray
        >>> from semtoken_rag.distributed import warm_dataset
        >>> ds = ray.data.from_items([{"text": "Ada wrote it. Bob read it."}])  # doctest: +SKIP
        >>> warm_dataset(ds, "fp-cache", concurrency=2)["documents"]  # doctest: +SKIP
        1
    """
    ray = _ray()
    check_int("batch_size", batch_size)
    check_int("concurrency", concurrency)
    _check_columns(ds, {"text_column": text_column, "title_column": title_column})
    ns = SemTokenCompressor(config, encoder=encoder, token_counter=token_counter).namespace
    cache_path = os.fspath(cache_path)
    disk = _peek(cache_path)
    if disk is not None and disk != ns:
        raise ValueError(f"cache_path {cache_path!r} holds fingerprints of other settings")
    root = os.fspath(shard_dir) if shard_dir is not None else cache_path.rstrip("/\\") + ".shards"
    os.makedirs(root, exist_ok=True)
    args = dict(config=config, encoder=encoder, token_counter=token_counter, shard_root=root)
    args.update(text_column=text_column, title_column=title_column)
    pool = _pool(ray, concurrency, num_cpus, num_gpus, memory, resources, runtime_env)
    t0 = time.perf_counter()
    rows = ds.map_batches(
        _Fingerprinter,
        batch_size=batch_size,
        batch_format="pyarrow",
        fn_constructor_kwargs=args,
        **pool,
    ).take_all()
    seconds = time.perf_counter() - t0
    if any(r["namespace"] != ns for r in rows if r["shard"]):
        raise RuntimeError("workers computed fingerprints under other settings than the driver")
    expected = {os.path.join(root, r["shard"]): r["unique"] for r in rows if r["shard"]}
    merged = merge_shards(expected, cache_path, namespace=ns, expected=expected)
    if not keep_shards:
        _remove(expected, root, shard_dir is None)
    tokens = sum(r["tokens"] for r in rows)
    counts = {
        "documents": sum(r["documents"] for r in rows),
        "computed": sum(r["computed"] for r in rows),
        "shards": len(expected),
        "spans": sum(r["spans"] for r in rows),
        "tokens": tokens,
        "cache_documents": len(merged),
        "cache_spans": int(merged.stats()["entries"]),
        "seconds": seconds,
        "busy_seconds": float(sum(r["busy_seconds"] for r in rows)),
        "tokens_per_second": tokens / seconds if seconds > 0 else 0.0,
    }
    logger.info("warm_dataset into %s: %s", cache_path, counts)
    return counts


def _remove(folders: Iterable[str], root: str, ours: bool) -> None:
    import shutil

    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    if ours:
        shutil.rmtree(root, ignore_errors=True)  # also shards of attempts that never reported


class _Compressor:
    """Ray Data actor: adds the compressed-context columns to one batch of rows."""

    def __init__(
        self,
        config: SemTokenConfig | None,
        encoder: Any,
        token_counter: Any,
        cache_path: str | None,
        query_column: str,
        documents_column: str,
        budget: int | None,
        ratio: float | None,
    ) -> None:
        cache = None
        if cache_path is not None:
            cache = FingerprintCache(cache_path, read_only=True, max_entries=UNBOUNDED)
            cache.max_entries = int(cache.stats()["entries"]) + 200_000  # bound what is added
        self.c = _compressor(config, encoder, token_counter, cache)
        self.query, self.documents = query_column, documents_column
        self.budget, self.ratio = budget, ratio

    def __call__(self, batch: Any) -> Any:
        pa = _pa()
        queries = batch.column(self.query).to_pylist()
        docs = batch.column(self.documents).to_pylist()
        results = [
            self.c.compress(q, d or [], budget=self.budget, ratio=self.ratio)
            for q, d in zip(queries, docs)
        ]
        span = pa.struct(
            [("doc_index", pa.int64()), ("start", pa.int64()), ("end", pa.int64())]
            + [("text", pa.string()), ("tokens", pa.int64()), ("score", pa.float64())]
            + [("entropy", pa.float64()), ("cluster", pa.int64())]
        )
        columns = {
            "compressed_documents": (pa.list_(pa.string()), [r.documents() for r in results]),
            "compressed_text": (pa.string(), [r.text for r in results]),
            "kept_tokens": (pa.int64(), [r.kept_tokens for r in results]),
            "original_tokens": (pa.int64(), [r.original_tokens for r in results]),
            "spans": (pa.list_(span), [r.to_dict()["spans"] for r in results]),
        }
        for name, (kind, values) in columns.items():
            batch = batch.append_column(name, pa.array(values, type=kind))
        return batch


def compress_dataset(
    ds: Any,
    query_column: str,
    documents_column: str,
    *,
    budget: int | None = None,
    ratio: float | None = None,
    config: SemTokenConfig | None = None,
    encoder: Any = None,
    token_counter: Any = None,
    cache_path: str | os.PathLike[str] | None = None,
    batch_size: int = 16,
    concurrency: int = 1,
    num_cpus: float = 1,
    num_gpus: float | None = None,
    memory: float | None = None,
    resources: Mapping[str, float] | None = None,
    runtime_env: Mapping[str, Any] | None = None,
) -> Any:
    """Compress every row's documents for its query in a Ray actor pool (lazy, like Ray Data).

    Args:
        ds: A :class:`ray.data.Dataset`.
        query_column: Column of queries (str or null).
        documents_column: Column of document lists: strings, or structs with ``text`` (and
            ``title``), as :meth:`SemTokenCompressor.compress` accepts.
        budget: Token budget per row; or ``ratio`` (share of each row's tokens to keep).
        ratio: See ``budget``; neither: ``config.compression_ratio``.
        config: Settings, as for :class:`SemTokenCompressor`.
        encoder: A model name or path, or a picklable callable (shipped to every actor).
        token_counter: A tiktoken encoding name or a picklable callable.
        cache_path: A cache folder (e.g. from :func:`warm_dataset`) each actor loads read-only.
        batch_size: Rows per actor call.
        concurrency: Actors in the pool (each loads the encoder once).
        num_cpus: CPUs reserved per actor.
        num_gpus, memory, resources, runtime_env: Per-actor resources, as for
            :func:`warm_dataset`.

    Returns:
        The dataset with the columns ``compressed_documents`` (kept text per document, in
        order), ``compressed_text`` (:attr:`CompressionResult.text`), ``kept_tokens``,
        ``original_tokens`` and ``spans`` (structs: ``doc_index``, ``start``, ``end``, ``text``,
        ``tokens``, ``score``, ``entropy``, ``cluster``) added.

    Example:
        >>> import ray
        >>> from semtoken_rag.distributed import compress_dataset
        >>> ds = ray.data.from_items([{"q": "who?", "docs": ["Ada wrote it."]}])  # doctest: +SKIP
        >>> out = compress_dataset(ds, "q", "docs", budget=8)  # doctest: +SKIP
        >>> out.take(1)[0]["kept_tokens"] <= 8  # doctest: +SKIP
        True
    """
    ray = _ray()
    check_int("batch_size", batch_size)
    check_int("concurrency", concurrency)
    resolve_budget(budget, ratio, 1, 0.5)  # validate now, not in a worker
    names = _check_columns(ds, {"query_column": query_column, "documents_column": documents_column})
    taken = [c for c in OUTPUT_COLUMNS if c in names]
    if taken:
        raise ValueError(f"the dataset already has output columns {taken}; rename or drop them")
    path = os.fspath(cache_path) if cache_path is not None else None
    if path is not None and _peek(path) is None:
        raise ValueError(f"cache_path {path!r} holds no readable fingerprint cache")
    args = dict(config=config, encoder=encoder, token_counter=token_counter, cache_path=path)
    args.update(query_column=query_column, documents_column=documents_column)
    args.update(budget=budget, ratio=ratio)
    pool = _pool(ray, concurrency, num_cpus, num_gpus, memory, resources, runtime_env)
    return ds.map_batches(
        _Compressor,
        batch_size=batch_size,
        batch_format="pyarrow",
        fn_constructor_kwargs=args,
        **pool,
    )
