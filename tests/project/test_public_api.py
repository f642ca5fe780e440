"""The public names of the core, pinned: removing or renaming one is a breaking change. So are the
names the adapters import (:data:`ADAPTER_NAMES`)."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import semtoken_rag


def test_all_is_pinned() -> None:
    assert sorted(semtoken_rag.__all__) == sorted(
        [
            "CompressionResult",
            "Document",
            "FingerprintCache",
            "SemToken",
            "SemTokenCompressor",
            "SemTokenConfig",
            "Span",
            "__version__",
            "compress_history",
            "warm_cache",
        ]
    )
    for name in semtoken_rag.__all__:
        assert hasattr(semtoken_rag, name), name


# The names of the core the adapters use, by module: the contract between the three distributions.
# The adapters import nothing else of the core (checked below); removing or moving one of these is
# a breaking change for them, and the adapters' `semtoken-rag>=` floor must be a version that has
# every one of them where it is listed.
ADAPTER_NAMES = {
    "semtoken_rag": {"CompressionResult", "SemTokenCompressor", "SemTokenConfig"},
    "semtoken_rag.chat": {"MEDIA_TYPES", "Overflow", "Turn", "as_json", "compress_chat"},
    "semtoken_rag.encoders": {"Encoder"},
    "semtoken_rag.inputs": {"title_of"},  # the title a node's metadata gives (LlamaIndex)
    "semtoken_rag.warm": {"check_ingestion_cache", "ingest", "persist"},
}
ADAPTER_NAMES_SINCE = "0.2.0"  # encoders/ and chat/ (issue 27)
ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = {
    "integrations/langchain": "langchain_semtoken",
    "integrations/llama-index": "llama_index",
}


def core_imports(folder: Path) -> list[tuple[str, str, str]]:
    """``(file, module, name)`` of every import of the core in an adapter's package."""
    out = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("semtoken_rag"):
                out += [(path.name, str(node.module), a.name) for a in node.names]
            elif isinstance(node, ast.Import):
                out += [(path.name, a.name, "*") for a in node.names if a.name.startswith("sem")]
    return out


def test_the_adapters_import_only_pinned_names_of_the_core() -> None:
    for folder, package in ADAPTERS.items():
        found = core_imports(ROOT / folder / package)
        assert found, folder
        for file, module, name in found:
            assert name in ADAPTER_NAMES.get(module, set()), f"{folder}/{file}: {module}.{name}"


def test_the_pinned_names_exist_where_they_are_pinned() -> None:
    for module, names in ADAPTER_NAMES.items():
        loaded = importlib.import_module(module)
        for name in names:
            assert hasattr(loaded, name), f"{module}.{name}"
        if hasattr(loaded, "__all__"):
            assert names <= set(loaded.__all__), module


def test_the_adapters_require_a_core_that_has_the_pinned_names() -> None:
    def version(text: str) -> tuple[int, ...]:
        return tuple(int(x) for x in text.split("."))

    core = version(semtoken_rag.__version__)
    for folder in ADAPTERS:
        toml = (ROOT / folder / "pyproject.toml").read_text("utf-8")
        (floor,) = re.findall(r'"semtoken-rag>=([0-9.]+)', toml)
        assert version(ADAPTER_NAMES_SINCE) <= version(floor) <= core, folder
