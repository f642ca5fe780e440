"""Threads (issue 14): the forward thread policy (one thread for a query, cores / calls in flight
for a batch, a fixed count from the config) and results that do not depend on it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from fakes import bow

from semtoken_rag import SemTokenCompressor, SemTokenConfig, threads
from semtoken_rag.encoder import CallableEncoder

DOCS = [
    "Wilhelm Röntgen discovered X-rays in 1895. He won the first Nobel Prize in Physics.",
    "Paris is the capital of France. It hosts the Louvre, which opened in 1793.",
    "The guitar has six strings. It is played by strumming or plucking them.",
]


def summary(r) -> tuple:
    return tuple((s.doc_index, s.start, s.end, s.score) for s in r.spans), r.doc_scores


def test_small_forwards_use_one_thread_and_big_ones_every_core(monkeypatch) -> None:
    monkeypatch.setenv(threads.ENV_THREADS, "4")
    assert threads.cores() == 4
    assert threads.forward_threads(20) == 1
    assert threads.forward_threads(threads.SMALL_FORWARD_TOKENS) == 4
    with threads.call_scope():
        assert threads.forward_threads(10_000) == 4
        with threads.call_scope():  # compress inside compress_many: still one call
            assert threads.active_calls() == 1
    with threads.call_scope(3):
        assert threads.forward_threads(20) == 3  # fixed by the config, whatever the size
    assert threads.active_calls() == 0


def test_concurrent_calls_split_the_cores(monkeypatch) -> None:
    """Four compress calls in flight on four cores: each big forward gets one thread."""
    monkeypatch.setenv(threads.ENV_THREADS, "4")
    barrier = threading.Barrier(4, timeout=30)
    seen: list[int] = []

    def fn(texts: list[str]) -> np.ndarray:
        if len(texts) > 1:  # span texts, not the probe or a query
            barrier.wait()
            seen.append(threads.forward_threads(10_000))
        return bow(texts)

    c = SemTokenCompressor(SemTokenConfig(cache_embeddings=False), encoder=CallableEncoder(fn))
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda q: c.compress(q, DOCS, budget=15), ["a", "b", "c", "d"]))
    assert len(seen) == 8 and set(seen) == {1}  # span texts and document texts, per call
    assert threads.active_calls() == 0
    assert threads.forward_threads(10_000) == 4  # nothing in flight: every core


def test_threads_is_validated() -> None:
    with pytest.raises(ValueError, match="threads"):
        SemTokenConfig(threads=0)
    with pytest.raises(TypeError, match="threads"):
        SemTokenConfig(threads=1.5)  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "openvino", "onnx"])
def test_thread_settings_do_not_change_results(
    compressor: SemTokenCompressor, torch_compressor: SemTokenCompressor, backend: str
) -> None:
    pytest.importorskip("onnxruntime" if backend == "onnx" else "openvino")
    encoder = {"torch": torch_compressor.encoder, "openvino": compressor.encoder}.get(backend)
    queries = ["Who discovered X-rays?", "When did the Louvre open?", None]
    expected = None
    for n in (None, 1, 2):
        c = SemTokenCompressor(
            SemTokenConfig(backend=backend, threads=n, cache_embeddings=False), encoder=encoder
        )
        got = [summary(c.compress(q, DOCS, budget=20)) for q in queries]
        got.append(tuple(map(tuple, c.fingerprints(DOCS)[0].vectors.tolist())))
        if expected is None:
            expected = got
        assert got == expected, f"threads={n}"


@pytest.mark.slow
def test_the_torch_forward_runs_on_the_policys_threads(
    torch_compressor: SemTokenCompressor,
) -> None:
    import torch

    c = SemTokenCompressor(
        SemTokenConfig(threads=1, cache_embeddings=False), encoder=torch_compressor.encoder
    )

    def run() -> int:
        torch.set_num_threads(2)
        c.compress("Who discovered X-rays?", DOCS, budget=20)
        return torch.get_num_threads()

    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(run).result() == 1
