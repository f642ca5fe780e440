"""semtoken-rag: query-aware, budgeted context compression for RAG.

Example:
    >>> from semtoken_rag import SemTokenCompressor
    >>> result = SemTokenCompressor().compress("who?", ["Ada wrote it. Bob read it."], budget=8)
    >>> result.kept_tokens <= 8
    True
"""

from __future__ import annotations

from .cache import FingerprintCache
from .chat import compress_history
from .compressor import SemTokenCompressor
from .config import SemTokenConfig
from .seed import SemToken
from .types import CompressionResult, Document, Span
from .warm import warm_cache

__version__ = "0.2.0"

__all__ = [
    "CompressionResult",
    "Document",
    "FingerprintCache",
    "SemTokenCompressor",
    "SemToken",
    "SemTokenConfig",
    "Span",
    "compress_history",
    "warm_cache",
    "__version__",
]
