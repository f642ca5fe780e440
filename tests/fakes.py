"""Fake encoders for fast tests (the real MiniLM is used elsewhere)."""

from __future__ import annotations

import zlib

import numpy as np


def bow(texts: list[str], dim: int = 32) -> np.ndarray:
    """A deterministic bag-of-words encoder (crc32 buckets: the same vectors in every process)."""
    out = np.full((len(texts), dim), 0.01, dtype=np.float32)
    for i, t in enumerate(texts):
        for w in t.lower().split():
            out[i, zlib.crc32(w.strip(".,?").encode()) % dim] += 1.0
    return out
