"""LangChain integration of semtoken-rag: query-aware, budgeted context compression.

Example:
    >>> from langchain_semtoken import SemTokenDocumentCompressor
    >>> SemTokenDocumentCompressor(max_tokens=512).max_tokens
    512
"""

from __future__ import annotations

from importlib import metadata

from langchain_semtoken.chat import compress_messages
from langchain_semtoken.compressor import SemTokenDocumentCompressor
from langchain_semtoken.embeddings import SemTokenEmbeddings
from langchain_semtoken.ingestion import SemTokenFingerprinter

try:
    __version__ = metadata.version("langchain-semtoken")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = ""

__all__ = [
    "SemTokenDocumentCompressor",
    "SemTokenEmbeddings",
    "SemTokenFingerprinter",
    "compress_messages",
    "__version__",
]
