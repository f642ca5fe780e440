"""Pieces + encoder output -> :class:`~semtoken_rag.types.DocFingerprints`: pooling and entropy.

A transformer encoder gives *token states* (:class:`TokenStates`): one contextual vector per token
of a document from one pass in windows. A span's fingerprint is the mean of its own tokens' states
(late pooling), so a span that says "he" carries its context; its semantic entropy is the trace of
their covariance. Encoders without token states give one vector per span text instead
(:meth:`~semtoken_rag.encoders.CallableEncoder.span_vectors`).

What a fingerprint depends on besides the text is its :func:`namespace`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ..types import DocFingerprints, Document
from .layout import Layout, as_read, read_layout
from .score import semantic_entropy
from .segment import Piece, segment

FINGERPRINT_VERSION = 20
"""Bump when segmentation or pooling changes: it is part of the :func:`namespace`, so fingerprints
of an older version miss in every cache (the cache folder's own file layout is
:data:`~semtoken_rag.cache.manifest.CACHE_FILE_VERSION`)."""


@dataclass(frozen=True)
class TokenStates:
    """Contextual token vectors of one document.

    Attributes:
        vectors: ``[n_tokens, dim]`` float32, unit length.
        offsets: ``[n_tokens, 2]`` character offsets into the document text.
        doc_vector: ``[dim]`` unit vector: mean of all token states, title included.
    """

    vectors: np.ndarray
    offsets: np.ndarray
    doc_vector: np.ndarray


@dataclass(frozen=True)
class SpanVectors:
    """What an encoder gives for one document's pieces.

    Attributes:
        vectors: ``[n, dim]`` unit span fingerprints.
        entropies: ``[n]`` semantic entropy per span.
        doc_vector: ``[dim]`` unit vector of the whole document.
    """

    vectors: np.ndarray
    entropies: np.ndarray
    doc_vector: np.ndarray


@runtime_checkable
class Encoder(Protocol):
    """What this stage (and the compressor) needs of an encoder backend
    (:mod:`semtoken_rag.encoders` holds the backends)."""

    @property
    def identity(self) -> str:
        """Stable id of the model (and backend): part of the fingerprint cache's namespace."""
        ...

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors ``[n, dim]`` of queries."""
        ...

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors ``[n, dim]`` of whole documents (or any passages)."""
        ...

    def span_vectors(
        self, docs: Sequence[Document], pieces: Sequence[Sequence[Piece]], window: int
    ) -> list[SpanVectors]:
        """Fingerprints of each document's pieces; ``window`` is the context in tokens around
        each piece (``0``: each piece encoded alone)."""
        ...


def namespace(
    encoder_identity: str, counter_name: str, granularity: str, max_span_tokens: int, window: int
) -> str:
    """Everything a fingerprint depends on besides the text (a JSON string).

    Example:
        >>> namespace("st:all-MiniLM-L6-v2", "tiktoken:cl100k_base", "adaptive", 40, 440)[:20]
        '{"counter": "tiktoke'
    """
    parts = {
        "v": FINGERPRINT_VERSION,
        "encoder": encoder_identity,
        "counter": counter_name,
        "granularity": granularity,
        "max_span_tokens": max_span_tokens,
        "window": window,
    }
    return json.dumps(parts, sort_keys=True)


def encoder_window(context_window: int, max_span_tokens: int) -> int:
    """Encoder window in tokens: about ``context_window`` spans on each side (0: no context).

    Example:
        >>> encoder_window(5, 40), encoder_window(0, 40)
        (440, 0)
    """
    if context_window == 0:
        return 0
    return (2 * context_window + 1) * max_span_tokens


def segment_document(
    text: str,
    granularity: str,
    max_span_tokens: int,
    count: Callable[[str], int],
    layout: Layout | None = None,
) -> list[Piece]:
    """The pieces of one document for a granularity (``clause`` halves the piece size)."""
    limit = max(4, max_span_tokens // 2) if granularity == "clause" else max_span_tokens
    return segment(
        text, max_tokens=limit, count=count, clauses=granularity != "sentence", layout=layout
    )


def pool(pieces: Sequence[Piece], states: TokenStates) -> SpanVectors:
    """Late pooling: each piece's fingerprint is the mean of its own tokens' states (those whose
    character midpoint lies in the piece), its entropy their covariance trace. A piece with no
    token (only characters the tokenizer drops) gets the document vector and zero entropy."""
    n = len(pieces)
    dim = states.doc_vector.shape[0]
    vectors = np.zeros((n, dim), dtype=np.float32)
    entropies = np.zeros(n, dtype=np.float32)
    mid = states.offsets.mean(axis=1) if len(states.offsets) else np.zeros(0)
    starts = np.array([p.start for p in pieces], dtype=np.int64)
    ends = np.array([p.end for p in pieces], dtype=np.int64)
    lo = np.searchsorted(mid, starts, side="left")
    hi = np.searchsorted(mid, ends, side="left")
    for k in range(n):
        tok = states.vectors[lo[k] : hi[k]]
        if len(tok) == 0:
            vectors[k] = states.doc_vector
            continue
        v = tok.mean(axis=0)
        vectors[k] = v / max(float(np.linalg.norm(v)), 1e-12)
        entropies[k] = semantic_entropy(tok)
    return SpanVectors(vectors, entropies, states.doc_vector)


def build(
    doc: Document, pieces: Sequence[Piece], sv: SpanVectors, count: Callable[[str], int]
) -> DocFingerprints:
    """One document's :class:`DocFingerprints` from its pieces and their vectors."""
    return DocFingerprints(
        starts=np.array([p.start for p in pieces], dtype=np.int64),
        ends=np.array([p.end for p in pieces], dtype=np.int64),
        sentence=np.array([p.sentence for p in pieces], dtype=np.int64),
        vectors=np.asarray(sv.vectors).astype(np.float32),
        entropies=np.asarray(sv.entropies).astype(np.float32),
        tokens=np.array([count(doc.text[p.start : p.end]) for p in pieces], dtype=np.int64),
        doc_vector=np.asarray(sv.doc_vector, dtype=np.float32),
    )


def fingerprint_documents(
    docs: Sequence[Document],
    encoder: Encoder,
    granularity: str,
    max_span_tokens: int,
    window: int,
    count: Callable[[str], int],
) -> list[DocFingerprints]:
    """Read each document's layout, segment it and fingerprint its pieces with one encoder pass
    (no cache). A heading that titles a document is read as its title (:func:`as_read`)."""
    layouts = [read_layout(d.text) for d in docs]
    pieces = [
        segment_document(d.text, granularity, max_span_tokens, count, lay)
        for d, lay in zip(docs, layouts)
    ]
    read = [as_read(d, lay) for d, lay in zip(docs, layouts)]
    vectors = encoder.span_vectors(read, pieces, window)
    return [build(d, p, v, count) for d, p, v in zip(docs, pieces, vectors, strict=True)]
