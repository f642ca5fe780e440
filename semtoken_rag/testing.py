"""What tests share, here and in code built on semtoken-rag (as ``langchain_core.embeddings.fake``
and LlamaIndex's ``MockEmbedding`` ship theirs): the one fake encoder and a small sample corpus.

The fake encoder, :func:`bag_of_words`, is a hashed bag of words: fast, deterministic, and the same
vectors in every process (crc32 buckets, no seed), so Ray workers and forked processes agree with
the driver. It is for tests of invariants and plumbing; quality depends on the real model.

Example:
    >>> from semtoken_rag import SemTokenCompressor
    >>> c = SemTokenCompressor(encoder=bag_of_words, cache=None)
    >>> r = c.compress(SAMPLE_QUERY, SAMPLE_TEXTS, budget=20)
    >>> r.kept_tokens <= 20, r.spans[0].doc_index
    (True, 0)
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Sequence

import numpy as np

__all__ = [
    "CURIE",
    "GUITAR",
    "PARIS",
    "PYTHON",
    "SAMPLE_QUERY",
    "SAMPLE_TEXTS",
    "XRAYS",
    "FakeEncoder",
    "bag_of_words",
]

XRAYS = (
    "Wilhelm Röntgen discovered X-rays in 1895. He won the first Nobel Prize in Physics in 1901."
)
PARIS = "Paris is the capital of France. The Eiffel Tower was completed in 1889."
GUITAR = "The guitar has six strings. It is played by strumming or plucking them."
PYTHON = "Python was created by Guido van Rossum. It was first released in 1991."
CURIE = "Marie Curie won two Nobel Prizes. She studied radioactivity in Paris."
SAMPLE_TEXTS = (XRAYS, PARIS, GUITAR, PYTHON, CURIE)
"""Five short documents on five topics; :data:`SAMPLE_QUERY` is answered by the first."""
SAMPLE_QUERY = "Who discovered X-rays?"


def bag_of_words(texts: Sequence[str], dim: int = 32, seed: int | None = None) -> np.ndarray:
    """The fake encoder: ``[n, dim]`` hashed bag-of-words counts (words lower-cased, stripped of
    ``.,;:!?``, bucketed by crc32), plus 0.01 everywhere so no vector is zero. A ``seed`` hashes
    the words into other buckets: another "model" of the same name and dimension.

    Example:
        >>> v = bag_of_words(["Ada wrote.", "ada WROTE!"])
        >>> v.shape, bool((v[0] == v[1]).all())
        ((2, 32), True)
    """
    out = np.full((len(texts), dim), 0.01, dtype=np.float32)
    for i, text in enumerate(texts):
        for word in text.lower().split():
            key = word.strip(".,;:!?") if seed is None else f"{seed}:{word.strip('.,;:!?')}"
            bucket = zlib.crc32(key.encode("utf-8", "surrogatepass")) % dim
            out[i, bucket] += 1.0
    return out


class FakeEncoder:
    """:func:`bag_of_words` as a callable encoder that records every text it encodes and the
    threads it ran in (for tests of what gets encoded, and where).

    Example:
        >>> enc = FakeEncoder()
        >>> enc(["a b", "c"]).shape, enc.texts
        ((2, 32), ['a b', 'c'])
    """

    def __init__(self, dim: int = 32) -> None:
        self.dim = dim
        self.texts: list[str] = []
        self.threads: set[int] = set()

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.texts.extend(texts)
        self.threads.add(threading.get_ident())
        return bag_of_words(texts, self.dim)
