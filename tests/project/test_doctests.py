"""The docstring examples of every ``semtoken_rag`` module run, as ``pytest --doctest-modules``
would run them (collected here so the three ``conftest.py`` files of the repository never clash)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import semtoken_rag

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(semtoken_rag.__path__, prefix="semtoken_rag.")
)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_every_module_is_collected() -> None:
    assert {"semtoken_rag.compressor", "semtoken_rag.pipeline.relevance"} <= set(MODULES)
