"""SemTokenEmbeddings: the standard LangChain embeddings suites, async off the loop."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest
from pydantic import ValidationError
from semtoken_rag import SemTokenCompressor

from langchain_semtoken import SemTokenEmbeddings

pytest.importorskip("langchain_tests", reason="langchain-tests is in the test extra")
from langchain_tests.integration_tests import EmbeddingsIntegrationTests  # noqa: E402
from langchain_tests.unit_tests import EmbeddingsUnitTests  # noqa: E402


class TestSemTokenEmbeddingsUnit(EmbeddingsUnitTests):
    """The standard unit suite (construction with default parameters: nothing is loaded yet)."""

    @property
    def embeddings_class(self) -> type[SemTokenEmbeddings]:
        return SemTokenEmbeddings


class TestSemTokenEmbeddingsStandard(EmbeddingsIntegrationTests):
    """The standard "integration" suite: sync and async calls. The model is local, so this runs
    offline; the fixture shares the session's core (one model for the whole run)."""

    @property
    def embeddings_class(self) -> type[SemTokenEmbeddings]:
        return SemTokenEmbeddings

    @pytest.fixture
    def model(self, core: SemTokenCompressor) -> SemTokenEmbeddings:
        return SemTokenEmbeddings(compressor=core)


def test_shares_the_compressors_encoder(core: SemTokenCompressor) -> None:
    emb = SemTokenEmbeddings(compressor=core)
    assert emb._encoder is core.encoder  # one model in memory, not a second load
    assert emb.model_name == core.encoder.identity  # e.g. st:all-MiniLM-L6-v2+openvino-int8
    q = np.array(emb.embed_query("Who discovered X-rays?"))
    d = np.array(emb.embed_documents(["Röntgen discovered X-rays.", "Paris is in France."]))
    assert q.shape == (384,) and d.shape == (2, 384)
    assert np.allclose(np.linalg.norm(d, axis=1), 1.0, atol=1e-5)
    assert float(d[0] @ q) > float(d[1] @ q)  # the answer is nearer the question
    assert np.allclose(q, core.encoder.encode_query(["Who discovered X-rays?"])[0])
    assert emb.embed_documents([]) == []


def test_default_builds_lazily_and_encoder_option() -> None:
    lazy = SemTokenEmbeddings()
    assert lazy._encoder._model is None  # type: ignore[attr-defined]  # loads on first use
    fake = SemTokenEmbeddings(encoder=lambda texts: np.ones((len(texts), 3)))
    assert fake.embed_query("q") == pytest.approx([3**-0.5] * 3)
    assert fake.model_name.startswith("callable:")


def test_options_are_checked(core: SemTokenCompressor) -> None:
    with pytest.raises(ValidationError, match="compressor or encoder"):
        SemTokenEmbeddings(compressor=core, encoder="all-MiniLM-L6-v2")
    with pytest.raises(ValidationError, match="compressor"):
        SemTokenEmbeddings(compressor="not a compressor")
    with pytest.raises(ValidationError, match="extra"):
        SemTokenEmbeddings(model="x")


@pytest.mark.parametrize("method", ["aembed_query", "aembed_documents"])
def test_async_runs_the_encoder_off_the_event_loop(method: str) -> None:
    """The encoder blocks until the event loop has ticked three times: it can return only if it
    runs in another thread while the loop keeps running (on the loop, it would wait for ever)."""
    ticks = 0
    ticked = threading.Event()

    def encoder(texts: list[str]) -> np.ndarray:
        if not ticked.wait(timeout=20):
            raise AssertionError("the event loop did not run while the encoder worked")
        return np.ones((len(texts), 4))

    emb = SemTokenEmbeddings(encoder=encoder)
    ticked.set()
    _ = emb.model_name  # the probe of a callable's identity, out of the way
    ticked.clear()

    async def ticker() -> None:
        nonlocal ticks
        while not ticked.is_set():
            await asyncio.sleep(0.001)
            ticks += 1
            if ticks >= 3:
                ticked.set()

    async def main() -> object:
        tick = asyncio.create_task(ticker())
        arg = "q" if method == "aembed_query" else ["a", "b"]
        out = await getattr(emb, method)(arg)
        await tick
        return out

    out = asyncio.run(main())
    assert ticks >= 3 and len(out) in (2, 4)
