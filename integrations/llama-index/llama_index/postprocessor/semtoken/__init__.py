"""LlamaIndex integration of semtoken-rag: query-aware, budgeted context compression.

Example:
    >>> from llama_index.postprocessor.semtoken import SemTokenNodePostprocessor
    >>> SemTokenNodePostprocessor(max_tokens=512).class_name()
    'SemTokenNodePostprocessor'
"""

from __future__ import annotations

from llama_index.postprocessor.semtoken.base import SemTokenNodePostprocessor
from llama_index.postprocessor.semtoken.chat import SemTokenChatMemory, compress_chat_messages
from llama_index.postprocessor.semtoken.embeddings import SemTokenEmbedding
from llama_index.postprocessor.semtoken.ingestion import SemTokenFingerprinter

__all__ = [
    "SemTokenChatMemory",
    "SemTokenEmbedding",
    "SemTokenFingerprinter",
    "SemTokenNodePostprocessor",
    "compress_chat_messages",
]
