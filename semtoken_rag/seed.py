"""The seed's surface: ``SemToken(tokenizer=...).tokenize(text, query=None)`` and ``batch_process``.

A thin layer over :class:`SemTokenCompressor` for one text at a time, counting in the caller's
tokenizer, returning the dict the seed returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .compressor import SemTokenCompressor
from .config import SemTokenConfig
from .tokens import HFTokenizerCounter, TiktokenCounter, resolve_counter


class SemToken:
    """Semantic-aware compression of one text into fewer tokens.

    Args:
        config: Settings; ``config.compression_ratio`` is the share of tokens kept (0.5).
        tokenizer: Any Hugging Face tokenizer (counts and token strings come from it), a tiktoken
            encoding name, or ``None`` for cl100k.
        encoder: Passed to :class:`SemTokenCompressor` (default: bundled MiniLM).
        compressor: An existing compressor to share (its tokenizer and encoder are used).

    Example:
        >>> from semtoken_rag import SemToken
        >>> out = SemToken().tokenize("Röntgen found X-rays. He won in 1901. Cats purr.",
        ...                           query="Who found X-rays?")
        >>> sorted(out["compression_stats"])
        ['compressed_count', 'compression_ratio', 'original_count', 'theoretical_speedup']
    """

    def __init__(
        self,
        config: SemTokenConfig | None = None,
        tokenizer: Any = None,
        *,
        encoder: Any = None,
        compressor: SemTokenCompressor | None = None,
    ) -> None:
        if compressor is not None and (tokenizer is not None or encoder is not None):
            raise ValueError("pass compressor= alone, or tokenizer=/encoder= to build one")
        self.config = config or (compressor.config if compressor else SemTokenConfig())
        self.tokenizer = tokenizer
        self.compressor = compressor or SemTokenCompressor(
            self.config, encoder=encoder, token_counter=tokenizer
        )

    def tokenize(self, text: str, query: str | None = None) -> dict[str, Any]:
        """Compress ``text`` to about ``config.compression_ratio`` of its tokens.

        Returns:
            ``{"text", "tokens", "spans", "compression_stats": {"original_count",
            "compressed_count", "compression_ratio", "theoretical_speedup"}}``; ``tokens`` are the
            tokenizer's token strings of the kept text.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        result = self.compressor.compress(query, [text], ratio=self.config.compression_ratio)
        kept = result.documents()[0]
        return {
            "text": kept,
            "tokens": self._token_strings(kept),
            "spans": [(s.start, s.end, s.score) for s in result.spans],
            "compression_stats": {
                "original_count": result.original_tokens,
                "compressed_count": result.kept_tokens,
                "compression_ratio": result.ratio,
                "theoretical_speedup": result.speedup if result.kept_tokens else None,
            },
        }

    def batch_process(
        self, documents: Sequence[str], query: str | None = None
    ) -> list[dict[str, Any]]:
        """:meth:`tokenize` for each text (fingerprints are cached between texts)."""
        if isinstance(documents, str) or not isinstance(documents, Sequence):
            raise TypeError("documents must be a list of str")
        return [self.tokenize(d, query) for d in documents]

    def _token_strings(self, text: str) -> list[str]:
        counter = resolve_counter(self.compressor.token_counter)
        if isinstance(counter, HFTokenizerCounter) and hasattr(self.tokenizer, "tokenize"):
            return list(self.tokenizer.tokenize(text))
        if isinstance(counter, TiktokenCounter):
            enc = counter.encoding
            return [enc.decode([i]) for i in enc.encode(text, disallowed_special=())]
        return text.split()
