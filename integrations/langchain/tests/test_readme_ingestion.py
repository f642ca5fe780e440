"""The README's ingestion example, run exactly as printed (read from README.md at test time)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(heading: str) -> list[str]:
    """The ```python blocks of the README section whose ``## `` heading starts with ``heading``."""
    sections = re.split(r"^## ", README.read_text(encoding="utf-8"), flags=re.MULTILINE)
    found = [s for s in sections if s.startswith(heading)]
    assert len(found) == 1, f"README has {len(found)} sections starting with {heading!r}"
    return re.findall(r"^```python\n(.*?)^```", found[0], flags=re.MULTILINE | re.DOTALL)


@pytest.mark.slow
def test_ingestion_example_runs_and_every_chunk_hits_the_cache(tmp_path, monkeypatch, capsys):
    (code,) = python_blocks("Fingerprint at ingestion")
    monkeypatch.chdir(tmp_path)  # it writes fp-cache/ and store.json where it runs
    ns: dict[str, object] = {"__name__": "readme"}
    exec(compile(code, str(README), "exec"), ns)
    out = capsys.readouterr().out
    assert out.strip().endswith("0 cache misses")
    stats = ns["core"].cache.stats()  # type: ignore[attr-defined]
    assert stats["misses"] == 0 and stats["hits"] == len(ns["chunks"])  # type: ignore[arg-type]
    kept = " ".join(d.page_content for d in ns["docs"])  # type: ignore[attr-defined]
    assert "Guido van Rossum" in kept and "Graydon" not in kept
    assert (tmp_path / "fp-cache" / "manifest.json").is_file()
