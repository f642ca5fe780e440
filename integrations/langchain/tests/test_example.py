"""examples/langchain_retriever.py runs top to bottom, offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "langchain_retriever.py"


def test_example_runs_offline() -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "Prompt tokens:" in out and "same as invoke: True" in out
    before, after = out.split("Prompt tokens: ")[1].split(" (")[0].split(" -> ")
    assert int(after) < int(before)
    assert "Guido van Rossum" in out.split("Prompt tokens: ")[1]
