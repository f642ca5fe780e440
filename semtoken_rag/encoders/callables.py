"""Any callable ``list[str] -> array`` as the encoder (:class:`CallableEncoder`): span
fingerprints from the callable's vector of each span text, entropy from a lexical estimate."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

import numpy as np

from ..pipeline.fingerprint import SpanVectors
from ..pipeline.score import lexical_entropy
from ..pipeline.segment import Piece
from ..types import Document

PROBE_TEXT = "semtoken-rag probe: Wilhelm Röntgen discovered X-rays in 1895."
"""The text a callable encoder embeds once to identify the model behind it."""


class CallableEncoder:
    """Any callable ``list[str] -> array [n, dim]`` used as the encoder.

    Without token states, a span's fingerprint is the callable's vector of the span text (with the
    document title), and its entropy falls back to a lexical estimate.

    The identity (part of the cache namespace) is ``name`` plus a digest of the callable's vector
    for :data:`PROBE_TEXT`, rounded to 5 decimals and computed once, on first use. What it
    detects: two callables of the same name and dimension backed by different models or weights
    (in one process or across processes sharing a cache folder) never meet each other's cached
    fingerprints. What it does not: a model swapped behind one encoder object after its identity
    was computed (the probe is not repeated), and two models whose probe vectors agree to 5
    decimals. Where the model behind a callable can change, give each model version its own
    ``name`` (and a new :class:`~semtoken_rag.SemTokenCompressor`).

    Example:
        >>> import numpy as np
        >>> enc = CallableEncoder(lambda texts: np.ones((len(texts), 4)))
        >>> enc.encode_query(["q"]).shape
        (1, 4)
        >>> enc.identity  # doctest: +ELLIPSIS
        'callable:<lambda>:...'
    """

    def __init__(self, fn: Callable[[list[str]], Any], name: str | None = None) -> None:
        """``fn``: the callable; ``name``: its identity name (default: its ``__qualname__``);
        include the model and version when the model behind ``fn`` can change."""
        self._fn = fn
        self._name = name or getattr(fn, "__qualname__", type(fn).__name__)
        self.batch_size = 32

    @cached_property
    def identity(self) -> str:
        """``callable:<name>:<probe digest>``."""
        probe = np.round(self.encode_query([PROBE_TEXT])[0].astype(np.float64), 5)
        digest = hashlib.blake2b(probe.tobytes(), digest_size=8).hexdigest()
        return f"callable:{self._name}:{probe.shape[0]}:{digest}"

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        try:
            out = np.asarray(self._fn(texts), dtype=np.float32)
        except Exception as e:
            raise RuntimeError(f"encoder callable failed on a batch of {len(texts)} texts") from e
        if out.ndim != 2 or out.shape[0] != len(texts):
            raise ValueError(
                f"encoder must return an array of shape [{len(texts)}, dim], got {out.shape}"
            )
        if not np.all(np.isfinite(out)):
            raise ValueError("encoder returned NaN or infinite values")
        return unit(out)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode_query(texts)

    def span_vectors(
        self, docs: Sequence[Document], pieces: Sequence[Sequence[Piece]], window: int
    ) -> list[SpanVectors]:
        """The callable's vector of each piece (``"title: "`` in front), whatever ``window``."""
        texts = [
            (f"{d.title}: " if d.title else "") + d.text[p.start : p.end]
            for d, ps in zip(docs, pieces)
            for p in ps
        ]
        span_vecs = self.encode_documents(texts) if texts else None
        doc_vecs = self.encode_documents([d.text or " " for d in docs])
        out, k = [], 0
        for d, ps, dv in zip(docs, pieces, doc_vecs, strict=True):
            none = np.zeros((0, dv.shape[0]))
            vec = span_vecs[k : k + len(ps)] if span_vecs is not None else none
            k += len(ps)
            ent = np.array([lexical_entropy(d.text[p.start : p.end]) for p in ps], dtype=np.float32)
            out.append(SpanVectors(vec, ent, dv))
        return out


def unit(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` scaled to unit length (float32; an all-zero row stays zero)."""
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(n, 1e-12)
