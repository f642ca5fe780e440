"""``SemTokenFingerprinter``: fingerprint documents at ingestion, so compression at query time
only reads the cache."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from langchain_core.documents import BaseDocumentTransformer, Document
from langchain_core.vectorstores import VectorStore
from pydantic import BaseModel, ConfigDict, Field, model_validator
from semtoken_rag import SemTokenCompressor
from semtoken_rag.warm import check_ingestion_cache, ingest, persist

from langchain_semtoken.embeddings import SemTokenEmbeddings, precomputed


class SemTokenFingerprinter(BaseDocumentTransformer, BaseModel):
    """Fingerprint documents into a compressor's cache; the documents pass through unchanged.

    Run it on the chunks you add to the vector store, and give the same
    :class:`semtoken_rag.SemTokenCompressor` (or one with the same settings over the same cache
    folder) to :class:`SemTokenDocumentCompressor`: every retrieved document is then a cache
    hit, and compressing costs one query encode plus scoring. The cache keys on
    ``page_content`` and ``metadata["title"]``, what the document compressor reads, so other
    metadata may be added or dropped between ingestion and query (a vector store that drops
    the title misses).

    :meth:`add_documents` fingerprints and adds to any ``VectorStore``; when the store embeds
    with :class:`SemTokenEmbeddings` over the same encoder, the embeddings come from the same
    encoder pass, so ingestion pays one pass instead of two. Those vectors are the mean of each
    document's contextual token states (its text, the title as context), where
    sentence-transformers' own pooling (``embed_documents`` otherwise) also averages the
    ``[CLS]``/``[SEP]`` states, reads no title and truncates at the model's maximum length;
    ``benchmarks/e2e/`` measures how close they are and what that does to retrieval.

    The cache is written in memory; ``save=True`` saves it to its folder after each call
    (``FingerprintCache(path)``), or call :meth:`persist` once at the end. The async methods run
    the encoder in a worker thread, never on the event loop. A cache holding fingerprints of
    other settings than the compressor's raises ``ValueError`` naming each differing setting
    with both values, instead of being written over.

    Example:
        >>> from langchain_core.documents import Document
        >>> from langchain_semtoken import SemTokenFingerprinter
        >>> from semtoken_rag import SemTokenCompressor
        >>> core = SemTokenCompressor()
        >>> docs = [Document("Ada wrote it. Bob read it.", metadata={"title": "Notes"})]
        >>> SemTokenFingerprinter(compressor=core).transform_documents(docs) is docs
        True
        >>> len(core.cache)
        1
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    compressor: SemTokenCompressor = Field(exclude=True)
    """The core compressor whose cache receives the fingerprints (it must have a writable
    cache); give it, or its settings and cache folder, to ``SemTokenDocumentCompressor``."""

    batch_size: int = Field(default=64, gt=0)
    """Documents per encoder call (and per progress step)."""

    save: bool = False
    """Save the cache to its folder after each call (otherwise call :meth:`persist`)."""

    @model_validator(mode="after")
    def _check_cache(self) -> SemTokenFingerprinter:
        check_ingestion_cache(self.compressor, self.save)
        return self

    def transform_documents(
        self, documents: Sequence[Document], **kwargs: Any
    ) -> Sequence[Document]:
        """Fingerprint ``documents`` (``show_progress=True`` shows a bar); returns them as given."""
        self._fingerprint(documents, bool(kwargs.get("show_progress", False)))
        return documents

    async def atransform_documents(
        self, documents: Sequence[Document], **kwargs: Any
    ) -> Sequence[Document]:
        """:meth:`transform_documents` in a worker thread."""
        return await asyncio.to_thread(self.transform_documents, documents, **kwargs)

    def add_documents(
        self, vector_store: VectorStore, documents: Sequence[Document], **kwargs: Any
    ) -> list[str]:
        """Fingerprint ``documents``, then ``vector_store.add_documents(documents, **kwargs)``
        (one encoder pass for both when the store embeds with ``SemTokenEmbeddings`` over the
        same encoder). Returns the store's ids."""
        vectors = self._fingerprint(documents)
        with precomputed(self._shared(vector_store), vectors):
            return vector_store.add_documents(list(documents), **kwargs)

    async def aadd_documents(
        self, vector_store: VectorStore, documents: Sequence[Document], **kwargs: Any
    ) -> list[str]:
        """:meth:`add_documents` with the store's ``aadd_documents``; the encoder runs in a
        worker thread."""
        vectors = await asyncio.to_thread(self._fingerprint, documents)
        with precomputed(self._shared(vector_store), vectors):
            return await vector_store.aadd_documents(list(documents), **kwargs)

    def persist(self) -> int:
        """Save the cache to its folder; returns the bytes written (``FingerprintCache.save``)."""
        return persist(self.compressor)

    def _shared(self, vector_store: VectorStore) -> Any:
        """The encoder the store embeds with, when it is this compressor's (else ``None``)."""
        emb = getattr(vector_store, "embeddings", None)
        if isinstance(emb, SemTokenEmbeddings) and emb._encoder is self.compressor.encoder:
            return self.compressor.encoder
        return None

    def _fingerprint(self, documents: Sequence[Document], show: bool = False) -> dict[str, Any]:
        """Fingerprint into the cache in batches; returns ``{page_content: document vector}``."""
        todo = [d for d in documents if d.page_content.strip()]
        fps = ingest(self.compressor, todo, batch_size=self.batch_size, progress=show)
        vectors: dict[str, Any] = {}
        for doc, fp in zip(todo, fps, strict=True):
            vectors.setdefault(doc.page_content, fp.doc_vector)
        if self.save:
            self.persist()
        return vectors
