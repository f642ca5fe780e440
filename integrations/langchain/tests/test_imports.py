"""Pins the public names and the dependencies of the distribution."""

from __future__ import annotations

import re
from importlib import metadata

import langchain_semtoken

EXPECTED_ALL = [
    "SemTokenDocumentCompressor",
    "SemTokenEmbeddings",
    "SemTokenFingerprinter",
    "compress_messages",
    "__version__",
]


def test_all_imports() -> None:
    assert sorted(langchain_semtoken.__all__) == sorted(EXPECTED_ALL)
    for name in EXPECTED_ALL:
        assert hasattr(langchain_semtoken, name)


def test_version_matches_distribution() -> None:
    assert langchain_semtoken.__version__ == metadata.version("langchain-semtoken")


def test_depends_on_langchain_core_and_semtoken_only() -> None:
    requires = metadata.requires("langchain-semtoken") or []
    runtime = {re.split(r"[ <>=!~;\[]", r, maxsplit=1)[0] for r in requires if "extra ==" not in r}
    assert runtime == {"langchain-core", "semtoken-rag"}
    test_extra = " ".join(r for r in requires if 'extra == "test"' in r)
    assert "langchain-classic" in test_extra
