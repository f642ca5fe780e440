"""Segmentation + encoding + pooling: documents -> :class:`DocFingerprints` (through the cache)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .cache import FingerprintCache
from .config import SemTokenConfig
from .encoder import CallableEncoder, Encoder, TokenStates, TransformerEncoder
from .score import lexical_entropy, semantic_entropy
from .segment import Piece, segment
from .types import DocFingerprints, Document

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2  # bump when segmentation or pooling changes: old caches miss


def settings_id(encoder: Encoder, counter_name: str, config: SemTokenConfig) -> str:
    """Everything a fingerprint depends on besides the text: encoder, counter, segmentation."""
    window = _window(config)
    parts = {
        "v": FORMAT_VERSION,
        "encoder": encoder.identity,
        "counter": counter_name,
        "granularity": config.granularity,
        "max_span_tokens": config.max_span_tokens,
        "window": window,
    }
    return json.dumps(parts, sort_keys=True)


def document_key(namespace: str, doc: Document) -> str:
    """Collision-resistant key of one document's fingerprints (blake2b over settings and text)."""
    h = hashlib.blake2b(digest_size=20)
    for part in (namespace, doc.title, doc.text):
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def _window(config: SemTokenConfig) -> int | None:
    """Encoder window in tokens: about ``context_window`` spans on each side (0: no context)."""
    if config.context_window == 0:
        return 0
    return (2 * config.context_window + 1) * config.max_span_tokens


def segment_document(text: str, config: SemTokenConfig, count: Callable[[str], int]) -> list[Piece]:
    """The spans of one document for the configured granularity."""
    clauses = config.granularity != "sentence"
    limit = config.max_span_tokens
    if config.granularity == "clause":
        limit = max(4, limit // 2)
    return segment(text, max_tokens=limit, count=count, clauses=clauses)


def fingerprint(
    docs: Sequence[Document],
    encoder: Encoder,
    config: SemTokenConfig,
    count: Callable[[str], int],
    cache: Any = None,
    namespace: str = "",
) -> list[DocFingerprints]:
    """Fingerprints of every document, from the cache where present, else one encoder pass.

    With a :class:`FingerprintCache`, lookups carry the namespace, and the first call of each
    encoder checks the cached vectors' dimension against a fresh fingerprint (computing one when
    every document hit), so fingerprints of two encoders under one identity are never mixed.
    """
    out: list[DocFingerprints | None] = [None] * len(docs)
    keys: list[str] = [""] * len(docs)
    todo: list[int] = []
    ours = isinstance(cache, FingerprintCache)
    ns = {"namespace": namespace} if ours else {}
    for i, doc in enumerate(docs):
        if cache is not None and doc.text.strip():
            keys[i] = document_key(namespace, doc)
            hit = cache.get(keys[i], **ns)
            if hit is not None:
                out[i] = hit
                continue
        todo.append(i)
    fresh = _compute([docs[i] for i in todo], encoder, config, count) if todo else []
    hits = [i for i in range(len(docs)) if out[i] is not None]
    if ours and hits:
        if not fresh and not cache.is_checked(encoder):
            if isinstance(encoder, TransformerEncoder):  # its dimension is known without a pass
                dim = encoder.dim
            else:
                todo, fresh = hits[:1], _compute([docs[hits[0]]], encoder, config, count)
        if fresh:
            dim = int(fresh[0].doc_vector.shape[0])
        if (fresh or not cache.is_checked(encoder)) and not cache.check_dim(encoder, dim):
            redo = [i for i in hits if i not in todo]  # cached under another encoder: recompute
            if redo:
                todo, fresh = (
                    todo + redo,
                    fresh + _compute([docs[i] for i in redo], encoder, config, count),
                )
    for i, fp in zip(todo, fresh, strict=True):
        out[i] = fp
        if cache is not None and keys[i]:
            cache.put(keys[i], fp, **ns)
    return [fp for fp in out if fp is not None]


def _compute(
    docs: Sequence[Document], encoder: Encoder, config: SemTokenConfig, count: Callable[[str], int]
) -> list[DocFingerprints]:
    pieces = [segment_document(d.text, config, count) for d in docs]
    window = _window(config)
    if isinstance(encoder, TransformerEncoder) and window != 0:
        states = encoder.token_states([d.text for d in docs], [d.title for d in docs], window)
        return [_pool(d, p, s, count) for d, p, s in zip(docs, pieces, states)]
    if isinstance(encoder, TransformerEncoder):  # context_window == 0: each span alone
        return _per_span_transformer(docs, pieces, encoder, count)
    return _per_span_callable(docs, pieces, encoder, count)


def _pool(
    doc: Document, pieces: list[Piece], states: TokenStates, count: Callable[[str], int]
) -> DocFingerprints:
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
        if len(tok) == 0:  # nothing the tokenizer kept (e.g. control characters)
            vectors[k] = states.doc_vector
            continue
        v = tok.mean(axis=0)
        vectors[k] = v / max(float(np.linalg.norm(v)), 1e-12)
        entropies[k] = semantic_entropy(tok)
    return _make(doc, pieces, vectors, entropies, states.doc_vector, count)


def _make(
    doc: Document,
    pieces: list[Piece],
    vectors: np.ndarray,
    entropies: np.ndarray,
    doc_vector: np.ndarray,
    count: Callable[[str], int],
) -> DocFingerprints:
    return DocFingerprints(
        starts=np.array([p.start for p in pieces], dtype=np.int64),
        ends=np.array([p.end for p in pieces], dtype=np.int64),
        sentence=np.array([p.sentence for p in pieces], dtype=np.int64),
        vectors=vectors.astype(np.float32),
        entropies=entropies.astype(np.float32),
        tokens=np.array([count(doc.text[p.start : p.end]) for p in pieces], dtype=np.int64),
        doc_vector=np.asarray(doc_vector, dtype=np.float32),
    )


def _per_span_transformer(
    docs: Sequence[Document],
    pieces: list[list[Piece]],
    encoder: TransformerEncoder,
    count: Callable[[str], int],
) -> list[DocFingerprints]:
    texts = [d.text[p.start : p.end] for d, ps in zip(docs, pieces) for p in ps]
    states = encoder.token_states(texts, [""] * len(texts), None)
    doc_vecs = encoder.encode_queries([d.text or " " for d in docs])
    out, k = [], 0
    for d, ps, dv in zip(docs, pieces, doc_vecs):
        sub = states[k : k + len(ps)]
        k += len(ps)
        vec = np.array([s.doc_vector for s in sub]).reshape(len(ps), -1)
        ent = np.array([semantic_entropy(s.vectors) for s in sub], dtype=np.float32)
        out.append(_make(d, ps, vec if len(ps) else np.zeros((0, dv.shape[0])), ent, dv, count))
    return out


def _per_span_callable(
    docs: Sequence[Document],
    pieces: list[list[Piece]],
    encoder: CallableEncoder,
    count: Callable[[str], int],
) -> list[DocFingerprints]:
    texts = [
        (f"{d.title}: " if d.title else "") + d.text[p.start : p.end]
        for d, ps in zip(docs, pieces)
        for p in ps
    ]
    span_vecs = encoder.encode_queries(texts) if texts else None
    doc_vecs = encoder.encode_queries([d.text or " " for d in docs])
    out, k = [], 0
    for d, ps, dv in zip(docs, pieces, doc_vecs):
        vec = span_vecs[k : k + len(ps)] if span_vecs is not None else np.zeros((0, dv.shape[0]))
        k += len(ps)
        ent = np.array([lexical_entropy(d.text[p.start : p.end]) for p in ps], dtype=np.float32)
        out.append(_make(d, ps, vec, ent, dv, count))
    return out
