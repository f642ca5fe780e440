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
            "--layout-datasets",
            "hotpotqa",
            "--renderings",
            "title_line",
            "wrapped",
            "--tight-datasets",
            "hotpotqa",
        ]
    )
    assert rc == 0
    every = [json.loads(x) for x in (tmp_path / "quick.jsonl").read_text().splitlines()]
    rows = [r for r in every if r["part"] == "main"]
    assert {r["method"] for r in rows} == {"bm25", "ours"}
    assert len(rows) == 2 * 2
    for r in every:
        assert r["kept_tokens"] <= r["budget"]
        for key in ("answer_recall", "answer_recall_any", "evidence_recall", "gold_text"):
            assert r[key] is None or 0.0 <= r[key] <= 1.0
        assert r["evidence_recall"] is not None and r["gold_text"] is not None
    assert {r["rendering"] for r in rows} == {"meta"}
    # tight: the quick suite's fixed budgets, meta rendering; layouts: 2 renderings x 2 items
    tight = [r for r in every if r["part"] == "tight"]
    assert sorted((r["budget_label"], r["budget"]) for r in tight) == sorted(
        [("24", 24), ("48", 48)] * 4
    )
    layout = [r for r in every if r["part"] == "layout"]
    assert sorted(r["rendering"] for r in layout) == ["title_line"] * 4 + ["wrapped"] * 4
    base = {(r["item_id"], r["method"]): r["budget"] for r in rows}
    # every rendering of an item has the budget of the item as loaded
    assert all(r["budget"] == base[(r["item_id"], r["method"])] for r in layout)
    assert any(r["original_tokens"] != r["meta"]["base_tokens"] for r in layout)
    meta = json.loads((tmp_path / "quick.meta.json").read_text())
    assert meta["command"].startswith("python -m benchmarks.run")
    assert {r["method"] for r in meta["latency"]} == {"ours"}  # quick times ours + doc_dense
    md = (tmp_path / "BENCHMARKS-quick.md").read_text()
    assert "## Targets" in md and "hotpotqa" in md.lower()
    for section in ("## Layouts", "## Tight budgets", "## Calibration"):
        assert section in md
    assert "| `wrapped` | " in md and "**Layouts**" in md.split("## The run", 1)[0]
    assert set(meta["part_s"]["hotpotqa"]) == {"main", "tight", "layouts"}
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


def _write_run(folder: Path) -> None:
    """A synthetic finished run (rows + meta), no model: the report renders from files alone."""
    scores = {  # method -> answer recall at 4x / 8x / 16x (evidence recall = half of it)
        "bm25": (0.75, 0.75, 0.75),
        "vecr": (0.5, 0.5, 0.25),
        "ours": (1.0, 0.75, 0.5),
        "ours_no_entropy": (1.0, 0.5, 0.5),
    }
    rows = []
    for i in range(4):
        base = {"suite": "t", "dataset": "hotpotqa", "item_id": f"h{i}", "n_docs": 10, "meta": {}}
        rows.append(
            {
                **base,
                "method": "none",
                "budget_label": "none",
                "budget": 400,
                "original_tokens": 400,
                "kept_tokens": 400,
                "overrun": 0,
                "ratio": 1.0,
                "answer_recall": 1.0,
                "answer_recall_any": 1.0,
                "evidence_recall": 1.0,
            }
        )
        for m, vals in scores.items():
            for b, v in zip(("4x", "8x", "16x"), vals, strict=True):
                hit = float(i < v * 4)
                rows.append(
                    {
                        **base,
                        "method": m,
                        "budget_label": b,
                        "budget": 400 // int(b[:-1]),
                        "original_tokens": 400,
                        "kept_tokens": 400 // int(b[:-1]),
                        "overrun": 30 if m == "vecr" else 0,
                        "ratio": float(b[:-1]),
                        "answer_recall": hit,
                        "answer_recall_any": hit,
                        "evidence_recall": hit / 2,
                    }
                )
    (folder / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    meta = {
        "command": "python -m benchmarks.run --suite t",
        "started": "2026-01-01T00:00:00",
        "loadavg_start": "0 0 0",
        "machine": {"cpu": "test"},
    }
    (folder / "t.meta.json").write_text(json.dumps(meta))


def test_report_renders_without_the_optional_lodo_file(tmp_path: Path) -> None:
    from benchmarks.report import write_report
    from benchmarks.report.provenance import tuning_rows

    _write_run(tmp_path)
    write_report(tmp_path / "t.jsonl", tmp_path / "t.meta.json", tmp_path / "r.md", tmp_path, "t")
    md = (tmp_path / "r.md").read_text()
    top = md.split("- Command", 1)[0]
    # ours 0.5 vs bm25 0.75 answer recall at 16x; evidence recall is half: -0.125 > -0.25
    assert (
        "**Worst margin**: **-0.250** [" in top
        and "at HotpotQA (distractor) answer recall 16x" in top
    )
    # 16x: one item in four lost; four items cannot tell that from no difference
    assert "2 of 6 margins are negative; 0 of them have a 95 % interval wholly below zero" in top
    assert "best peer bm25 0.750" in top
    assert "## LODO (leave one data set out)\n\nNot available for this run" in md
    assert "**Answer recall, any (the simplest definition)**" in md
    assert "| vecr | 4/4 (+30) | 4/4 (+30) | 4/4 (+30) |" in md  # its overruns are reported
    assert "| ours_no_entropy | 1.000 (+0.000) | 0.500 (-0.250) | 0.500 (+0.000) |" in md
    assert ("## Tuning table" in md) == bool(tuning_rows())


def test_report_renders_the_lodo_file_and_a_recorded_tuning_table(tmp_path: Path) -> None:
    from benchmarks.report import write_report

    _write_run(tmp_path)
    meta = json.loads((tmp_path / "t.meta.json").read_text())
    meta["tuning"] = [{"name": "rrf_k", "repr": "10", "doc": "RRF constant (ranks). LODO run 3."}]
    (tmp_path / "t.meta.json").write_text(json.dumps(meta))
    folder = tmp_path / "tuning" / "layouts"
    folder.mkdir(parents=True)
    # the shape benchmarks.tuning.layouts.lodo writes: per held-out set, per criterion
    chosen = {
        "variant": "ours:default",
        "cells": {"title_line": [0.7, 0.5, 0.25], "markdown": [0.6, 0.5, float("nan")]},
        "margins": {"title_line": [0.02, -0.1, 0.0], "markdown": [0.0, 0.05, -0.25]},
    }
    worst = {**chosen, "variant": "ours:cut_novel-1a2b3c"}
    lodo = [
        {"held_out": "hotpotqa", "mean": chosen, "worst": worst},
        {"held_out": "clapnq", "mean": chosen, "worst": chosen},
    ]
    (folder / "lodo-4x-8x-16x.json").write_text(json.dumps(lodo))
    write_report(tmp_path / "t.jsonl", tmp_path / "t.meta.json", tmp_path / "r.md", tmp_path, "t")
    md = (tmp_path / "r.md").read_text()
    section = md.split("## LODO (leave one data set out)", 1)[1].split("\n## ", 1)[0]
    assert "made by `python -m benchmarks.tuning.layouts lodo`" in section
    assert "**Chosen by the mean over every rendering x budget cell" in section
    assert "**Chosen by the worst margin over the best peer" in section
    assert (
        "| HotpotQA (distractor) | answer recall | `ours:default` | `title_line` | 0.700 | 0.500 "
        "| 0.250 | +0.020 / -0.100 / +0.000 |" in section
    )
    assert "|  |  |  | `markdown` | 0.600 | 0.500 | n/a | +0.000 / +0.050 / -0.250 |" in section
    assert "| `ours:cut_novel-1a2b3c` | `title_line` |" in section
    assert "| CLAPNQ (answerable dev) | gold text kept | `ours:default` | `title_line` |" in section
    assert "| `rrf_k` | `10` | RRF constant (ranks). LODO run 3. |" in md
    # a file of another shape, and a broken file, say so
    (folder / "lodo-4x-8x-16x.json").write_text(json.dumps({"results": {}}))
    write_report(tmp_path / "t.jsonl", tmp_path / "t.meta.json", tmp_path / "r.md", tmp_path, "t")
    assert (
        "`tuning/layouts/lodo-4x-8x-16x.json` could not be read" in (tmp_path / "r.md").read_text()
    )
    (folder / "lodo-4x-8x-16x.json").write_text("{not json")
    write_report(tmp_path / "t.jsonl", tmp_path / "t.meta.json", tmp_path / "r.md", tmp_path, "t")
    assert (
        "`tuning/layouts/lodo-4x-8x-16x.json` could not be read" in (tmp_path / "r.md").read_text()
    )


def test_paired_interval_reads_the_items_both_scored() -> None:
    from benchmarks.report.compare import paired_interval

    same = {f"i{k}": float(k % 2) for k in range(20)}
    assert paired_interval(same, dict(same)) == (0.0, 0.0, 20)
    better = {k: 1.0 for k in same}
    assert paired_interval(better, {k: 0.0 for k in same}) == (1.0, 1.0, 20)
    # a mixed difference: the interval holds the mean difference and is wider than a point
    ours = {k: 1.0 for k in same}
    lo, hi, n = paired_interval(ours, same)
    assert n == 20 and lo < 0.5 < hi and hi - lo > 0.1
    # items only one side scored are left out; no shared item, no interval
    assert paired_interval({**ours, "extra": 0.0}, same) == (lo, hi, 20)
    assert paired_interval({"a": 1.0}, {"b": 1.0}) is None


def test_report_opens_with_a_summary_generated_from_the_rows(tmp_path: Path) -> None:
    """Issue 26: methods in plain words, ours against the best alternative per budget (computed
    from the rows, not typed in), then the not-run compressors marked as not measured here."""
    from benchmarks.report import write_report

    _write_run(tmp_path)
    write_report(tmp_path / "t.jsonl", tmp_path / "t.meta.json", tmp_path / "r.md", tmp_path, "t")
    md = (tmp_path / "r.md").read_text()
    sections = [line for line in md.splitlines() if line.startswith("## ")]
    assert sections[:2] == ["## In 30 seconds", "## The run"]
    summary = md.split("## The run", 1)[0]
    assert "- `bm25` = **sentence BM25**: rank_bm25 score of each NLTK sentence" in summary
    assert "- `ours_no_entropy`: ours with one signal switched off" in summary
    assert "`doc_dense`" not in summary  # only the methods that ran are described
    assert (
        "| HotpotQA (distractor) | answer recall | **+0.250** (1.000 vs 0.750 `bm25`) "
        "| **+0.000** (0.750 vs 0.750 `bm25`) | **-0.250** (0.500 vs 0.750 `bm25`) |"
    ) in summary
    assert "ahead in 1 of these 3 cells (0 clearly), level in 1, and behind in 1" in summary
    assert "LLMLingua-2 (Pan et al., Findings of ACL 2024, arXiv:2403.12968)" in summary
    assert "**not measured here**" in summary
    assert summary.index("In 30 seconds") < summary.index("**Worst margin**")
