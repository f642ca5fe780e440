"""Shared fixtures: the real model, loaded once per test run, fully offline."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
from langchain_core.documents import Document  # noqa: E402
from semtoken_rag import SemTokenCompressor  # noqa: E402
from semtoken_rag.testing import PARIS, PYTHON, XRAYS  # noqa: E402

from langchain_semtoken import SemTokenEmbeddings  # noqa: E402


@pytest.fixture(scope="session")
def core() -> SemTokenCompressor:
    """The default core compressor (bundled MiniLM, cl100k), shared by the whole run."""
    return SemTokenCompressor()


@pytest.fixture(scope="session")
def embeddings(core: SemTokenCompressor) -> SemTokenEmbeddings:
    """Real MiniLM embeddings for vector stores, sharing the core's model."""
    return SemTokenEmbeddings(compressor=core)


@pytest.fixture
def corpus() -> list[Document]:
    """A few short documents with ids and metadata (fresh per test: tests may compare them)."""
    texts = {
        "python": PYTHON,
        "xrays": XRAYS,
        "paris": PARIS,
        "rust": "Rust is a systems programming language focused on memory safety. Graydon Hoare "
        "started it at Mozilla. Its compiler enforces ownership rules.",
        "tea": "Green tea is made from unoxidised leaves. It originated in China. Matcha is a "
        "powdered green tea used in Japanese ceremonies.",
    }
    return [
        Document(
            page_content=t,
            id=k,
            metadata={"title": k.capitalize(), "source": f"{k}.txt", "tags": ["demo", k]},
        )
        for k, t in texts.items()
    ]
