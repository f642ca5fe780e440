"""Each example runs offline top to bottom (a fresh interpreter each) and prints its key line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

CASES = {
    "basic_usage.py": "kept ",
    "advanced_config.py": "clustering=dbscan",
    "model_integration.py": "custom encoder: kept",
    "chat_memory.py": "what the LLM gets for the last question",
    "benchmark_demo.py": "semtoken-rag ",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_example_runs(name: str) -> None:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        cwd=EXAMPLES.parent,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert CASES[name] in done.stdout, done.stdout[-3000:]
    assert "Traceback" not in done.stderr
