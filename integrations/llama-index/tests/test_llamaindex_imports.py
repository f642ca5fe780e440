"""The public names of the package, and its namespace layout next to llama-index-core."""

from __future__ import annotations

from pathlib import Path

import llama_index.core
import llama_index.postprocessor.semtoken as package
from llama_index.postprocessor.semtoken import __all__

EXPECTED_ALL = [
    "SemTokenChatMemory",
    "SemTokenEmbedding",
    "SemTokenFingerprinter",
    "SemTokenNodePostprocessor",
    "compress_chat_messages",
]


def test_all_is_pinned() -> None:
    assert sorted(__all__) == sorted(EXPECTED_ALL)
    for name in __all__:
        assert getattr(package, name) is not None


def test_namespace_packages_have_no_init() -> None:
    root = Path(package.__file__).resolve().parents[2]  # .../llama_index
    assert not (root / "__init__.py").exists()
    assert not (root / "postprocessor" / "__init__.py").exists()
    assert (root / "postprocessor" / "semtoken" / "py.typed").exists()
    assert llama_index.core.__file__ is not None  # llama-index-core still imports


def test_class_names() -> None:
    assert package.SemTokenNodePostprocessor.class_name() == "SemTokenNodePostprocessor"
    assert package.SemTokenEmbedding.class_name() == "SemTokenEmbedding"
    assert package.SemTokenChatMemory.class_name() == "SemTokenChatMemory"
    assert package.SemTokenFingerprinter.class_name() == "SemTokenFingerprinter"
