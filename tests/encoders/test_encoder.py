"""Encoder identity: what the fingerprint cache keys on (issue 16, item 6; issue 25, item 4: a
model saved again at the same path)."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_model import save_tiny_bert

from semtoken_rag import FingerprintCache, SemTokenCompressor, SemTokenConfig
from semtoken_rag.encoders import CallableEncoder, TransformerEncoder, export
from semtoken_rag.encoders.loading import resolve_model_path
from semtoken_rag.testing import PARIS, PYTHON, XRAYS, bag_of_words
from semtoken_rag.types import Document

DENSE = SemTokenConfig(fusion="dense")  # the model alone decides what is kept

DOCS = [
    XRAYS,
    PARIS,
    "Marie Curie discovered polonium and radium. She won two Nobel Prizes, in 1903 and 1911.",
    PYTHON,
]
QUERY = "Who discovered X-rays and when?"


def model(seed: int):
    """A "model" behind a callable that always has the same name and dimension: ``embed``,
    32 dimensions; ``seed`` picks the weights (the hashing of words into dimensions)."""

    def embed(texts: list[str]) -> np.ndarray:
        return bag_of_words(texts, seed=seed)

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


@pytest.mark.parametrize("backend", ["torch", "openvino"])
def test_a_model_saved_again_at_the_same_path_is_not_served_the_old_fingerprints(
    tmp_path, monkeypatch, backend
) -> None:
    # was: the identity was "st:<path>": after a retrained model was saved to the same folder,
    # every lookup in the persistent cache hit the old model's fingerprints, silently
    monkeypatch.setenv(export.ENV_CACHE_DIR, str(tmp_path / "exports"))
    folder = tmp_path / "my-model"
    config = SemTokenConfig(backend=backend, fusion="dense")
    path = tmp_path / "fp"

    def fingerprints(cache: FingerprintCache | None) -> list[np.ndarray]:
        c = SemTokenCompressor(config, encoder=str(folder), cache=cache)
        return [fp.vectors for fp in c.fingerprints([Document(t) for t in DOCS])]

    save_tiny_bert(folder, seed=1)
    first = FingerprintCache(path)
    old = fingerprints(first)
    first.save()
    reloaded = FingerprintCache(path)
    fingerprints(reloaded)
    assert reloaded.hits == len(DOCS)  # the same model: served from the saved cache
    save_tiny_bert(folder, seed=2)  # retrained: same files, same sizes, other weights
    cold = fingerprints(None)
    assert not np.allclose(cold[0], old[0])
    again = FingerprintCache(path)
    got = fingerprints(again)
    assert again.hits == 0  # not one fingerprint of the old model was served
    for a, b in zip(got, cold, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="other settings"):
        again.save()  # nor is the old model's cache overwritten


def test_a_model_folder_identity_is_stable_and_the_bundled_default_unchanged(tmp_path) -> None:
    folder = save_tiny_bert(tmp_path / "m", seed=1)
    a, b = TransformerEncoder(str(folder)), TransformerEncoder(str(folder))
    assert a.identity == b.identity and a.identity.startswith(f"st:{folder}:")
    assert len(a.identity.rsplit(":", 1)[1]) == 16
    (folder / "notes.md").write_text("not a model file")  # other files do not count
    assert TransformerEncoder(str(folder)).identity == a.identity
    for name in ("all-MiniLM-L6-v2", resolve_model_path("all-MiniLM-L6-v2")):
        assert TransformerEncoder(name, device="cpu").identity == "st:all-MiniLM-L6-v2"
