"""Shared fixtures: the real model, loaded once per test run, fully offline."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

from semtoken_rag import SemTokenCompressor, SemTokenConfig  # noqa: E402


@pytest.fixture(scope="session")
def compressor() -> SemTokenCompressor:
    """The default compressor (bundled MiniLM, cl100k): one model for the whole run."""
    return SemTokenCompressor()


@pytest.fixture(scope="session")
def encoder(compressor: SemTokenCompressor):
    """The real MiniLM encoder, shared."""
    return compressor.encoder


@pytest.fixture(scope="session")
def torch_compressor() -> SemTokenCompressor:
    """The fp32 torch backend: the reference the int8 default is measured against."""
    return SemTokenCompressor(SemTokenConfig(backend="torch"))


@pytest.fixture(scope="session")
def quoted_reply() -> str:
    """An e-mail reply whose quoted part ("> " lines) holds the answer."""
    return (
        "Thanks, the numbers look right to me.\n\n"
        "On Fri, Dec 4, 2026 at 10:12 AM Anna Berg <anna@example.com> wrote:\n"
        "> Could you confirm the hourly rate for the March project? We agreed\n"
        "> on 95 euros last year but the contract says 90 euros, and the\n"
        "> auditors want one number before the end of the quarter.\n"
    )
