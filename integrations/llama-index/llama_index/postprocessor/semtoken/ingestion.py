"""``SemTokenFingerprinter``: fingerprint nodes at ingestion, so compression at query time only
reads the cache."""

from __future__ import annotations

import asyncio
import os
import uuid
import weakref
from collections.abc import Sequence
from typing import Any

from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr
from llama_index.core.schema import BaseNode, TransformComponent
from llama_index.postprocessor.semtoken.base import core_input
from pydantic import computed_field

from semtoken_rag import SemTokenCompressor
from semtoken_rag.warm import check_ingestion_cache, ingest, persist


class SemTokenFingerprinter(TransformComponent):
    """Fingerprint each node into a compressor's cache; the nodes pass through unchanged.

    Put it in an ``IngestionPipeline`` after the splitter (beside the embedding model), and give
    the same :class:`semtoken_rag.SemTokenCompressor` (or one with the same settings over the
    same cache folder) to :class:`SemTokenNodePostprocessor`: every retrieved node is then a
    cache hit, and compressing costs one query encode plus scoring. The cache keys on the node
    text without metadata and the metadata ``title`` (:func:`~.base.core_input`, shared with
    the postprocessor), so other metadata may be added or dropped between ingestion and query.

    With ``embed=True`` the same encoder pass also gives each node its vector-store embedding
    (nodes that have none get one), so ingestion pays one pass instead of two: use it in place of
    the embedding model, with :class:`SemTokenEmbedding` over the same compressor as the index's
    ``embed_model`` (for queries). That vector is the mean of the node's contextual token states
    (its text, title as context; no other metadata), where sentence-transformers' own pooling
    also averages the ``[CLS]``/``[SEP]`` states and truncates at the model's maximum length;
    the two agree to a cosine of about 0.99 on MiniLM (``benchmarks/e2e/`` measures it).

    ``__call__`` (and ``acall``, in a worker thread: never on the event loop) returns the nodes
    it was given, the same objects, untouched; with ``embed=True``, copies holding the embedding.
    The cache is written in memory; ``save=True`` saves it to its folder after each call
    (``FingerprintCache(path)``), or call :meth:`persist` once at the end.

    An ``IngestionPipeline`` cache (``cache=``, ``persist()``/``load()``) skips a step it has
    seen for the same nodes; this step's serialized fields include :attr:`fingerprint_cache`
    (the compressor's namespace and cache folder), so the pipeline replays it only into the same
    folder with the same settings, and always runs it for a new folder, new settings or an
    in-memory cache it has not seen. A replay assumes the folder holds what the step wrote:
    save it (``save=True`` or :meth:`persist`) before the pipeline's cache is persisted.

    Args:
        compressor: The core compressor whose cache receives the fingerprints (it must have a
            writable cache).
        batch_size: Nodes per encoder call (and per progress step).
        embed: Also set each node's ``embedding`` from the same pass.
        save: Save the cache to its folder after each call.
        **kwargs: Other :class:`TransformComponent` fields.

    Raises:
        ValueError: (on a call) the cache holds fingerprints of other settings than the
            compressor's; the message names each differing setting with both values.

    Example:
        >>> from llama_index.core.ingestion import IngestionPipeline
        >>> from llama_index.core.node_parser import SentenceSplitter
        >>> from llama_index.core.schema import Document
        >>> from llama_index.postprocessor.semtoken import SemTokenFingerprinter
        >>> from semtoken_rag import SemTokenCompressor
        >>> core = SemTokenCompressor()
        >>> splitter = SentenceSplitter(chunk_size=64, chunk_overlap=0)
        >>> pipeline = IngestionPipeline(transformations=[splitter, SemTokenFingerprinter(core)])
        >>> nodes = pipeline.run(documents=[Document(text="Ada wrote it. Bob read it.")])
        >>> len(nodes), len(core.cache)
        (1, 1)
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    batch_size: int = Field(default=64, gt=0, description="Nodes per encoder call.")
    embed: bool = Field(
        default=False,
        description=(
            "Also give each node without an embedding one from the same encoder pass (the mean "
            "of its token states), instead of a separate embedding model."
        ),
    )
    save: bool = Field(default=False, description="Save the cache to its folder after each call.")

    _compressor: SemTokenCompressor = PrivateAttr()

    def __init__(
        self,
        compressor: SemTokenCompressor,
        *,
        batch_size: int = 64,
        embed: bool = False,
        save: bool = False,
        **kwargs: Any,
    ) -> None:
        if not isinstance(compressor, SemTokenCompressor):
            raise TypeError(
                f"compressor must be a SemTokenCompressor, got {type(compressor).__name__}"
            )
        check_ingestion_cache(compressor, save)
        super().__init__(  # type: ignore[call-arg]  # pydantic fields of this class
            batch_size=batch_size, embed=embed, save=save, **kwargs
        )
        self._compressor = compressor
        # Known now (a callable encoder is probed once), not first when a pipeline hashes this
        # step (fingerprint_cache), which IngestionPipeline.arun does on the event loop.
        _ = compressor.namespace

    @classmethod
    def class_name(cls) -> str:
        return "SemTokenFingerprinter"

    @computed_field(  # type: ignore[prop-decorator]
        description=(
            "Where the fingerprints go: the compressor's namespace and its cache folder (or, "
            "for an in-memory cache, that cache object). Serialized, so an IngestionPipeline's "
            "cache never replays this step for another cache or other settings."
        )
    )
    @property
    def fingerprint_cache(self) -> str:
        """The compressor's namespace and cache folder (or in-memory cache object)."""
        cache = self._compressor.cache
        path = getattr(cache, "path", None)
        if cache is None:  # removed after construction: the call will say so
            where = "none"
        elif path is not None:
            where = os.path.realpath(path)
        else:  # an in-memory cache lives as long as its object: one id per cache object
            where = f"memory:{_MEMORY_IDS.setdefault(cache, uuid.uuid4().hex)}"
        return f"{self._compressor.namespace}@{where}"

    @property
    def compressor(self) -> SemTokenCompressor:
        """The core compressor: give it (or its cache) to the postprocessor."""
        return self._compressor

    def __call__(self, nodes: Sequence[BaseNode], **kwargs: Any) -> Sequence[BaseNode]:
        """Fingerprint ``nodes`` (``show_progress=True`` shows a bar); returns them unchanged."""
        inputs = [core_input(n) for n in nodes]
        todo = [i for i, x in enumerate(inputs) if _text(x).strip()]
        fps = ingest(
            self._compressor,
            [inputs[i] for i in todo],
            batch_size=self.batch_size,
            progress=bool(kwargs.get("show_progress", False)),
            unit="node",
        )
        if self.save:
            self.persist()
        if not self.embed:
            return nodes
        vectors = {i: [float(x) for x in fp.doc_vector] for i, fp in zip(todo, fps, strict=True)}
        return [
            n.model_copy(update={"embedding": vectors[i]})
            if i in vectors and n.embedding is None
            else n
            for i, n in enumerate(nodes)
        ]

    async def acall(self, nodes: Sequence[BaseNode], **kwargs: Any) -> Sequence[BaseNode]:
        """:meth:`__call__` in a worker thread: the event loop is never blocked."""
        return await asyncio.to_thread(self.__call__, nodes, **kwargs)

    def persist(self) -> int:
        """Save the cache to its folder; returns the bytes written (``FingerprintCache.save``)."""
        return persist(self._compressor)


_MEMORY_IDS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
"""A random id per in-memory cache object (never an address, which a later object may reuse)."""


def _text(item: Any) -> str:
    return item if isinstance(item, str) else str(item[0])
