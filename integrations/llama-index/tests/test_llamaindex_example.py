"""examples/llamaindex_query_engine.py runs top to bottom, offline, and does what it says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "llamaindex_query_engine.py"


@pytest.mark.slow
def test_example_runs_offline_and_shrinks_the_prompt() -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "Wilhelm Röntgen discovered X-rays in 1895" in out
    found = re.search(r"prompt sent to the LLM \((\d+) tokens, (\d+) without semtoken\):\n", out)
    assert found, out
    with_semtoken, without = int(found[1]), int(found[2])
    assert with_semtoken < without
    prompt = out[found.end() :]
    assert "Query: Who discovered X-rays, and when?" in prompt
    assert "semtoken" not in prompt and "retrieval_score" not in prompt
    kept = [int(k) for k in re.findall(r"-> (\d+) tokens", out)]
    assert kept and sum(kept) <= 48  # BUDGET in the example
