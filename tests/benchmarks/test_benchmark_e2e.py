"""Smoke test of the end-to-end benchmark: ``--quick`` (24 chunks, 4 questions) in a fresh
process (it sets torch's thread count), into a temporary folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.e2e.corpus import build, pack


def words(text: str) -> int:
    return len(text.split())


def test_corpus_holds_what_its_questions_need() -> None:
    chunks, questions = build(40, 8, words, chunk_tokens=60)
    ids = [c.id for c in chunks]
    assert len(ids) == len(set(ids)) == 40 and len({c.text for c in chunks}) == 40
    assert {q.source for q in questions} == {"nq", "hotpotqa", "clapnq", "qmsum"}
    assert all(set(q.gold) <= set(ids) for q in questions)
    assert sum(bool(q.gold) for q in questions) >= 6  # golds come first: most fit in 40 chunks


def test_pack_never_splits_a_piece_that_fits() -> None:
    pieces = ["one two.", "three four five.", "six.", "seven eight nine ten eleven. Twelve."]
    out = pack(pieces, 4, words, " ")
    assert out == ["one two.", "three four five. six.", "seven eight nine ten eleven.", "Twelve."]


@pytest.mark.slow
def test_quick_run_reports_every_store_with_zero_misses(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.e2e", "--quick", "--out", str(tmp_path)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    r = json.loads((tmp_path / "e2e.json").read_text(encoding="utf-8"))
    assert (r["corpus"]["chunks"], r["questions"]["n"], r["k"]) == (24, 4, 10)
    stores = [q for fw in ("langchain", "llamaindex") for q in r[fw]["query"].values()]
    measured = [q for q in stores if "latency" in q]
    assert len(measured) >= 2  # InMemoryVectorStore and VectorStoreIndex, FAISS where installed
    for q in measured:
        assert q["cache_misses"] == 0 and q["cache_hits"] > 0
        assert set(q["latency"]) == {"retrieve", "encode", "compress", "warm", "cold"}
    for fw in ("langchain", "llamaindex"):
        assert r[fw]["cache"]["documents"] == 24 and r[fw]["cache"]["disk_bytes"] > 0
        assert r[fw]["ingestion"]["one_pass_s"] > 0
    assert {t["target"].split(": ")[1] for t in r["targets"]} >= {"0 cache misses at query time"}
    md = (tmp_path / "e2e.md").read_text(encoding="utf-8")
    assert "python -m benchmarks.e2e --quick" in md and "/proc/loadavg" in md
    assert md in done.stdout
