"""Threads (issue 14): the forward thread policy (one thread for a query, cores / calls in flight
for a batch, a fixed count from the config) and results that do not depend on it."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from semtoken_rag import SemTokenCompressor, SemTokenConfig
from semtoken_rag.encoders import CallableEncoder, threads
from semtoken_rag.testing import GUITAR, PARIS, XRAYS, bag_of_words

DOCS = [XRAYS, PARIS, GUITAR]


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
            barrier.wait()  # all four calls in flight...
            seen.append(threads.forward_threads(10_000))
            barrier.wait()  # ...until each has read (a call that ran on finished before the
            # slowest read: 2 or 4 threads, seen once in a full run on the loaded machine)
        return bag_of_words(texts)

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


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_int8_forwards_run_their_rows_on_the_policys_threads(monkeypatch, backend) -> None:
    # was: each row (at most the model's 256 tokens) asked forward_threads alone, so every int8
    # forward ran on one thread whatever its size; and each thread count built its own runner
    pytest.importorskip("onnxruntime" if backend == "onnx" else "openvino")
    from semtoken_rag.encoders.runtime import OnnxEncoder, OpenVINOEncoder
    from semtoken_rag.types import Document

    monkeypatch.setenv(threads.ENV_THREADS, "2")
    running, most = [0], [0]  # rows running now, and the most at once
    lock = threading.Lock()
    built: list[object] = []

    class Recording(OnnxEncoder if backend == "onnx" else OpenVINOEncoder):  # type: ignore[misc]
        def _make_runner(self, *args):
            run = super()._make_runner(*args)
            built.append(args)

            def recording(ids, mask):
                with lock:
                    running[0] += 1
                    most[0] = max(most[0], running[0])
                try:
                    time.sleep(0.002)  # rows that may overlap do
                    return run(ids, mask)
                finally:
                    with lock:
                        running[0] -= 1

            return recording

    def used(n: int | None, fn) -> int:
        most[0] = 0
        with threads.call_scope(n):
            fn()
        return most[0]

    enc = Recording()
    long_doc = [Document(" ".join(DOCS * 16))]  # ~900 tokens: several windows
    states = lambda: enc.token_states([d.text for d in long_doc], [""], None)  # noqa: E731
    assert used(None, states) == 2  # one big call: every core
    assert used(None, lambda: enc.encode_query(["Who discovered X-rays?"])) == 1  # a query: one
    assert used(None, lambda: enc.encode_query(DOCS * 11)) == 2  # 33 queries: a big forward
    assert used(1, states) == 1  # SemTokenConfig(threads=1)
    reference = [s.vectors for s in enc.token_states([d.text for d in long_doc], [""], None)]
    with threads.call_scope(1):
        alone = [s.vectors for s in enc.token_states([d.text for d in long_doc], [""], None)]
    np.testing.assert_array_equal(reference[0], alone[0])  # the same bits on 1 or 2 threads
    assert len(built) == 1  # one runner whatever the thread counts


def test_run_parallel_runs_each_index_once_and_raises_the_first_error() -> None:
    seen: list[int] = []
    threads.run_parallel(seen.append, 100, 4)
    assert sorted(seen) == list(range(100))

    def fail(i: int) -> None:
        if i == 7:
            raise ValueError("row 7")

    with pytest.raises(ValueError, match="row 7"):
        threads.run_parallel(fail, 20, 3)
