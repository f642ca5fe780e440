"""``SemTokenEmbedding``: a local LlamaIndex embedding model over the core encoder (no network)."""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import PrivateAttr

from semtoken_rag import SemTokenCompressor


class SemTokenEmbedding(BaseEmbedding):
    """Embed queries and nodes with semtoken-rag's encoder (by default the bundled MiniLM).

    Runs locally and offline, and shares the loaded model with a compressor, so a pipeline that
    indexes with it and compresses with :class:`SemTokenNodePostprocessor` loads one model.
    Vectors are unit length (cosine similarity is a dot product). The async methods run the
    encoder in a worker thread, never on the event loop.

    Args:
        compressor: A :class:`semtoken_rag.SemTokenCompressor` whose encoder to use.
        encoder: Otherwise, anything the core accepts as ``encoder=`` (a model name or path, a
            sentence-transformers model, a callable ``list[str] -> array``). Default: the bundled
            MiniLM.
        **kwargs: Other :class:`BaseEmbedding` fields (``embed_batch_size``, ``callback_manager``).

    Example:
        >>> from llama_index.postprocessor.semtoken import SemTokenEmbedding
        >>> embed = SemTokenEmbedding()
        >>> len(embed.get_query_embedding("Who discovered X-rays?"))
        384
    """

    _encoder: Any = PrivateAttr()

    def __init__(
        self,
        *,
        compressor: SemTokenCompressor | None = None,
        encoder: Any = None,
        **kwargs: Any,
    ) -> None:
        if compressor is not None and encoder is not None:
            raise ValueError("pass either compressor or encoder, not both")
        if compressor is not None and not isinstance(compressor, SemTokenCompressor):
            raise TypeError(
                f"compressor must be a SemTokenCompressor, got {type(compressor).__name__}"
            )
        enc = (compressor or SemTokenCompressor(encoder=encoder)).encoder
        kwargs.setdefault("model_name", str(getattr(enc, "identity", type(enc).__name__)))
        super().__init__(**kwargs)
        self._encoder = enc

    @classmethod
    def class_name(cls) -> str:
        return "SemTokenEmbedding"

    def _embed(self, texts: list[str]) -> list[Embedding]:
        return [[float(x) for x in row] for row in self._encoder.encode_documents(texts)]

    def _get_query_embedding(self, query: str) -> Embedding:
        return [float(x) for x in self._encoder.encode_query([query])[0]]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return await asyncio.to_thread(self._get_query_embedding, query)

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._embed([text])[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return await asyncio.to_thread(self._get_text_embedding, text)

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._embed(texts)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return await asyncio.to_thread(self._embed, texts)
