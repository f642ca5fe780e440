"""Smoke test of the benchmark harness: a tiny real run, end to end, into a temporary folder."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from benchmarks import datasets as D
from benchmarks import methods as M
from benchmarks.run import main, run_quality

TINY_ITEM = {
    "id": "tiny-0",
    "dataset": "tiny",
    "query": "Who won the first Nobel Prize in Physics?",
    "documents": [
        (
            "In 1901 the first Nobel Prize in Physics went to Wilhelm Conrad Röntgen. "
            "He found X-rays in 1895 at Würzburg.",
            {"title": "Röntgen"},
        ),
        (
            "The 1902 prize went to Lorentz and Zeeman. Their work on magnetism was cited in 1896.",
            {"title": "Lorentz"},
        ),
        (
            "Marie Curie shared the 1903 prize. She later won a second one in 1911, for chemistry.",
            {"title": "Curie"},
        ),
    ],
    "answers": ["Wilhelm Conrad Röntgen"],
    "evidence": [(0, 0, 72)],  # the first sentence
    "meta": {},
}


@pytest.mark.slow
def test_benchmark_runs_end_to_end(tmp_path: Path) -> None:
    rc = main(
        [
            "--suite",
            "quick",
            "--datasets",
            "hotpotqa",
            "--limit",
            "2",
            "--methods",
            "bm25",
            "ours",
            "--budgets",
            "4x",
            "--latency-items",
            "1",
            "--scaling-max",
            "0",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 0
    rows = [json.loads(x) for x in (tmp_path / "quick.jsonl").read_text().splitlines()]
    assert {r["method"] for r in rows} == {"bm25", "ours"}
    assert len(rows) == 2 * 2
    for r in rows:
        assert r["kept_tokens"] <= r["budget"]
        for key in ("answer_recall", "evidence_recall"):
            assert r[key] is None or 0.0 <= r[key] <= 1.0
        assert r["evidence_recall"] is not None
    meta = json.loads((tmp_path / "quick.meta.json").read_text())
    assert meta["command"].startswith("python -m benchmarks.run")
    assert {r["method"] for r in meta["latency"]} == {"ours"}  # quick times ours + doc_dense
    md = (tmp_path / "BENCHMARKS-quick.md").read_text()
    assert "## Targets" in md and "hotpotqa" in md.lower()
    assert (tmp_path / "quick_recall_vs_ratio.png").stat().st_size > 1000
    assert (tmp_path / "quick_latency_vs_size.png").stat().st_size > 1000


def test_loaders_give_exact_evidence_spans() -> None:
    for name, kw in (("hotpotqa", {}), ("kv", {}), ("clapnq", {}), ("qmsum", {"max_turns": 150})):
        items = D.load(name, 3, **kw)
        assert items, name
        for it in items:
            texts = [t for t, _ in it["documents"]]
            assert it["evidence"], it["id"]
            for d, a, b in it["evidence"]:
                piece = texts[d][a:b]
                assert piece and piece == piece.strip(), (it["id"], piece)


def test_hotpotqa_supporting_facts_are_the_original_sentences() -> None:
    import gzip

    with gzip.open(D.DATA / "hotpotqa" / "hotpotqa_train.json.gz", "rt") as f:
        raw = json.load(f)[0]
    item = D.load_hotpotqa(1)[0]
    titles = [t for t, _ in raw["context"]]
    for (title, sid), (d, a, b) in zip(raw["supporting_facts"], item["evidence"], strict=True):
        assert item["documents"][d][1]["title"] == title
        assert item["documents"][d][0][a:b] == raw["context"][titles.index(title)][1][sid].strip()


def test_nq20_distractors_never_hold_an_answer() -> None:
    from benchmarks.metrics import contains, normalize

    items = D.load_nq(3)
    assert [it["meta"]["gold_position"] for it in items[:3]] == ["first", "middle", "last"]
    for it in items:
        assert len(it["documents"]) == 20
        gold = it["evidence"][0][0]
        assert gold == {"first": 0, "middle": 9, "last": 19}[it["meta"]["gold_position"]]
        answers = [normalize(a) for a in it["answers"]]
        for i, (text, _) in enumerate(it["documents"]):
            if i != gold:
                assert not any(contains(normalize(text), a) for a in answers)


class _NoModel:
    """Stands in for MiniLM where no method under test embeds (vecr-compress is lexical)."""

    memo: dict[str, object] | None = {}


def test_vecr_peer_runs_offline_and_its_overrun_is_counted() -> None:
    pytest.importorskip("vecr_compress")
    methods = M.Methods(minilm=_NoModel())  # type: ignore[arg-type]
    assert "vecr" in M.PEERS
    out = io.StringIO()
    assert run_quality(methods, ["vecr"], [TINY_ITEM], ["4x"], out, "test") == 1
    row = json.loads(out.getvalue())
    # every sentence holds a year: vecr pins them all, so it keeps more than a quarter of the input
    assert row["overrun"] > 0
    assert row["kept_tokens"] <= row["budget"]  # clipped in reading order by the runner
    assert row["answer_recall"] == 1.0 and row["answer_recall_any"] == 1.0
    assert row["evidence_recall"] == 1.0
    assert M.vecr_tokenizer() in ("o200k_base", "regex")
