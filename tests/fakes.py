"""Fake encoders for fast tests (the real MiniLM is used elsewhere)."""

from __future__ import annotations

import zlib

import numpy as np


def bow(texts: list[str], dim: int = 32) -> np.ndarray:
    """A fast, deterministic fake encoder: hashed bag of words (crc32 buckets, so the same vectors
    in every process), plus a small constant so no vector is zero. (``test_distributed`` keeps a
    copy of its own: Ray workers must import it from that module.)"""
    out = np.full((len(texts), dim), 0.01, dtype=np.float32)
    for i, t in enumerate(texts):
        for w in t.lower().split():
            out[i, zlib.crc32(w.strip(".,;:!?").encode("utf-8", "surrogatepass")) % dim] += 1.0
    return out
