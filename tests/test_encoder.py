"""Encoder identity: what the fingerprint cache keys on (issue 16, item 6)."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from semtoken_rag import FingerprintCache, SemTokenCompressor, SemTokenConfig
from semtoken_rag.encoder import CallableEncoder

DENSE = SemTokenConfig(fusion="dense")  # the model alone decides what is kept

DOCS = [
    "Wilhelm Röntgen discovered X-rays in 1895. He won the first Nobel Prize in Physics in 1901.",
    "Paris is the capital of France. The Louvre is the most visited museum in the world.",
    "Marie Curie discovered polonium and radium. She won two Nobel Prizes, in 1903 and 1911.",
    "Python was created by Guido van Rossum. It was first released in 1991.",
]
QUERY = "Who discovered X-rays and when?"


def model(seed: int):
    """A "model" behind a callable that always has the same name and dimension: ``embed``,
    32 dimensions; ``seed`` picks the weights (the hashing of words into dimensions)."""

    def embed(texts: list[str]) -> np.ndarray:
        out = np.full((len(texts), 32), 0.01, dtype=np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, zlib.crc32(f"{seed}:{w}".encode()) % 32] += 1.0
        return out

    return embed


def kept(c: SemTokenCompressor) -> list[str]:
    return c.compress(QUERY, DOCS, budget=20).documents()


@pytest.mark.parametrize("persisted", [False, True])
def test_two_models_behind_one_callable_name_never_share_fingerprints(tmp_path, persisted):
    # before the probe digest the identity was "callable:<name>:<dim>": the second model was
    # served the first one's fingerprints and kept other text than a cold run
    a, b = model(1), model(2)
    assert a.__qualname__ == b.__qualname__  # the same name, the same dimension
    cold_b = kept(SemTokenCompressor(DENSE, encoder=b, cache=None))
    assert cold_b != kept(SemTokenCompressor(DENSE, encoder=a, cache=None))  # they differ
    path = tmp_path / "fp"
    shared = FingerprintCache(path if persisted else None)
    first = SemTokenCompressor(DENSE, encoder=a, cache=shared)
    kept(first)
    if persisted:
        shared.save()
        shared = FingerprintCache(path)
    second = SemTokenCompressor(DENSE, encoder=b, cache=shared)
    assert CallableEncoder(a).identity != CallableEncoder(b).identity
    hits = shared.hits
    assert kept(second) == cold_b
    assert shared.hits == hits  # not one fingerprint of the first model was served
    if persisted:
        with pytest.raises(ValueError, match="other settings"):
            shared.save()  # nor is the first model's folder overwritten


def test_what_the_probe_does_not_see_a_model_swapped_behind_one_callable() -> None:
    # documented limit: the identity is probed once per encoder object; a callable that starts
    # returning another model's vectors mid-life keeps its first identity
    current = {"fn": model(1)}

    def embed(texts: list[str]) -> np.ndarray:
        return current["fn"](texts)

    enc = CallableEncoder(embed)
    before = enc.identity
    current["fn"] = model(2)
    assert enc.identity == before
    assert CallableEncoder(embed).identity != before  # a new encoder object probes again
