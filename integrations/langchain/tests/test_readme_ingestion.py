"""The README's ingestion example, run exactly as printed (read from README.md at test time, run
as a script in a fresh folder)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from semtoken_rag import FingerprintCache

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(heading: str) -> list[str]:
    """The ```python blocks of the README section whose ``## `` heading starts with ``heading``."""
    sections = re.split(r"^## ", README.read_text(encoding="utf-8"), flags=re.MULTILINE)
    found = [s for s in sections if s.startswith(heading)]
    assert len(found) == 1, f"README has {len(found)} sections starting with {heading!r}"
    return re.findall(r"^```python\n(.*?)^```", found[0], flags=re.MULTILINE | re.DOTALL)


@pytest.mark.slow
def test_ingestion_example_runs_and_every_chunk_hits_the_cache(tmp_path: Path) -> None:
    (code,) = python_blocks("Fingerprint at ingestion")
    script = tmp_path / "example.py"
    script.write_text(code, encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,  # it writes fp-cache/ and store.json where it runs
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    kept_line, misses_line = done.stdout.strip().splitlines()[-2:]
    assert misses_line == "0 cache misses"
    kept = " ".join(ast.literal_eval(kept_line))
    assert "Guido van Rossum" in kept and "Graydon" not in kept
    assert len(FingerprintCache(tmp_path / "fp-cache", read_only=True)) == 2  # both chunks
