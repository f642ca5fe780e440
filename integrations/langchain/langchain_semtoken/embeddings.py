"""``SemTokenEmbeddings``: LangChain ``Embeddings`` over the core encoder (local, offline)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator
from semtoken_rag import SemTokenCompressor
from semtoken_rag.encoders import Encoder

# Vectors that an ingestion pass already computed, for embed_documents to hand out instead of
# encoding again: (the encoder they came from, {text: vector}). A context variable, so it holds
# only inside SemTokenFingerprinter.add_documents and follows asyncio.to_thread into workers.
_PRECOMPUTED: ContextVar[tuple[Any, Mapping[str, Any]] | None] = ContextVar(
    "semtoken_precomputed", default=None
)


@contextlib.contextmanager
def precomputed(encoder: Any, vectors: Mapping[str, Any]) -> Iterator[None]:
    """Within the block, :meth:`SemTokenEmbeddings.embed_documents` over ``encoder`` returns
    ``vectors[text]`` for the texts it holds (``encoder=None``: no effect)."""
    if encoder is None:
        yield
        return
    token = _PRECOMPUTED.set((encoder, vectors))
    try:
        yield
    finally:
        _PRECOMPUTED.reset(token)


class SemTokenEmbeddings(BaseModel, Embeddings):
    """Embed queries and documents with semtoken-rag's encoder (by default the bundled MiniLM).

    Runs locally and offline and shares the loaded model with a compressor: a chain that indexes
    with this class and compresses with :class:`SemTokenDocumentCompressor` over the same core
    holds one model in memory. Vectors are unit length (cosine similarity is a dot product). The
    model loads on first use, not at construction; the async methods run the encoder in a worker
    thread, never on the event loop.

    Example:
        >>> from langchain_semtoken import SemTokenDocumentCompressor, SemTokenEmbeddings
        >>> compressor = SemTokenDocumentCompressor(max_tokens=256)
        >>> embeddings = SemTokenEmbeddings(compressor=compressor.core)  # one model for both
        >>> len(embeddings.embed_query("Who discovered X-rays?"))
        384
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    compressor: SemTokenCompressor | None = Field(default=None, exclude=True)
    """A core compressor whose encoder to use (and share, one model in memory)."""

    encoder: Any = Field(default=None, exclude=True)
    """Otherwise, anything the core accepts as ``encoder=``: a model name or path, a
    sentence-transformers model, an ``Encoder``, a callable ``list[str] -> array``. Default (with
    neither): the bundled all-MiniLM-L6-v2."""

    _encoder: Encoder = PrivateAttr()

    @model_validator(mode="after")
    def _resolve(self) -> SemTokenEmbeddings:
        if self.compressor is not None and self.encoder is not None:
            raise ValueError("pass compressor or encoder, not both")
        core = self.compressor or SemTokenCompressor(encoder=self.encoder)
        self._encoder = core.encoder
        return self

    @property
    def model_name(self) -> str:
        """The encoder's identity, e.g. ``st:all-MiniLM-L6-v2``."""
        return str(self._encoder.identity)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Unit vectors of ``texts``, one list of floats per text.

        Inside :meth:`SemTokenFingerprinter.add_documents` over the same encoder, the texts it
        just fingerprinted get the document vectors of that pass (no second encoder pass)."""
        if not texts:
            return []
        held = _PRECOMPUTED.get()
        known = held[1] if held is not None and held[0] is self._encoder else {}
        todo = [i for i, t in enumerate(texts) if t not in known]
        rows: list[Any] = [known.get(t) for t in texts]
        if todo:
            encoded = self._encoder.encode_documents([texts[i] for i in todo])
            for i, row in zip(todo, encoded, strict=True):
                rows[i] = row
        return [[float(x) for x in row] for row in rows]

    def embed_query(self, text: str) -> list[float]:
        """The unit vector of one query."""
        return [float(x) for x in self._encoder.encode_query([text])[0]]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """:meth:`embed_documents` in a worker thread."""
        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        """:meth:`embed_query` in a worker thread."""
        return await asyncio.to_thread(self.embed_query, text)
