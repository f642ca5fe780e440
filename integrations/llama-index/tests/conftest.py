"""Shared fixtures: the real model loaded once per test run, a prompt-recording LLM, offline."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from collections.abc import Iterator  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from llama_index.core import Document  # noqa: E402
from llama_index.core.bridge.pydantic import Field  # noqa: E402
from llama_index.core.llms import (  # noqa: E402
    CompletionResponse,
    CompletionResponseGen,
    CustomLLM,
    LLMMetadata,
)
from llama_index.core.llms.callbacks import llm_completion_callback  # noqa: E402
from llama_index.postprocessor.semtoken import SemTokenEmbedding  # noqa: E402

from semtoken_rag import SemTokenCompressor  # noqa: E402
from semtoken_rag.testing import XRAYS  # noqa: E402


class RecordingLLM(CustomLLM):
    """An offline LLM that records the exact prompts it is sent and answers "ok"."""

    prompts: list[str] = Field(default_factory=list)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(context_window=32_000, num_output=16, model_name="recording")

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        self.prompts.append(prompt)
        return CompletionResponse(text="ok")

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        self.prompts.append(prompt)

        def gen() -> Iterator[CompletionResponse]:
            yield CompletionResponse(text="ok", delta="ok")

        return gen()


@pytest.fixture(scope="session")
def semtoken_compressor() -> SemTokenCompressor:
    """The default core compressor (bundled MiniLM, cl100k): one model for the whole run."""
    return SemTokenCompressor()


@pytest.fixture(scope="session")
def embed_model(semtoken_compressor: SemTokenCompressor) -> SemTokenEmbedding:
    """A local LlamaIndex embedding over the same model."""
    return SemTokenEmbedding(compressor=semtoken_compressor)


@pytest.fixture
def recording_llm() -> RecordingLLM:
    return RecordingLLM()


@pytest.fixture(scope="session")
def documents() -> list[Document]:
    """A few short documents: one answers the test queries, the others are distractors."""
    return [
        Document(
            text=XRAYS,
            metadata={"title": "Wilhelm Röntgen", "source": "bio"},
        ),
        Document(
            text="Marie Curie was the first woman to win a Nobel Prize. She shared the 1903 Nobel "
            "Prize in Physics for research on radiation. In 1911 she won a second Nobel Prize, in "
            "Chemistry, for discovering polonium and radium.",
            metadata={"title": "Marie Curie", "source": "bio"},
        ),
        Document(
            text="The Eiffel Tower was completed in 1889 for the World's Fair in Paris. It is 330 "
            "metres tall. It was the tallest man-made structure in the world for 41 years.",
            metadata={"title": "Eiffel Tower", "source": "places"},
        ),
        Document(
            text="Medical imaging began with radiography. Doctors soon used X-rays to find "
            "bullets and broken bones. Computed tomography, developed in the 1970s, combines many "
            "X-ray images into cross-sections of the body.",
            metadata={"title": "Medical imaging", "source": "science"},
        ),
    ]
