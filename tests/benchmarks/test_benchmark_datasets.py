"""The benchmark loaders added for leave-one-dataset-out tuning (fast: small limits, no model)."""

from __future__ import annotations

import gzip
import json

import pytest

from benchmarks import datasets as D
from benchmarks.metrics import contains, normalize


def test_new_names_are_listed_and_loadable() -> None:
    for name in ("triviaqa", "hotpot_hard", "hotpot_hard_notitle"):
        assert name in D.DATASETS
        assert len(D.load(name, 2)) == 2


def test_triviaqa_chunks_are_the_passage_lines() -> None:
    with gzip.open(D.DATA / "triviaqa" / "triviaqa.json.gz", "rt", encoding="utf-8") as f:
        raw = json.load(f)[:3]
    for rec, it in zip(raw, D.load_triviaqa(3), strict=True):
        assert it["query"] and "Question:" not in it["query"] and "Answer:" not in it["query"]
        assert it["query"] in rec["input"]
        assert it["answers"] == rec["answers"] and it["evidence"] == []
        for text, meta in it["documents"]:
            assert text and text == text.strip() and "\n" not in text and meta == {"title": ""}
            assert text in rec["input"]
        assert not any("Passage:" in t for t, _ in it["documents"])


@pytest.mark.parametrize("name", ["hotpot_hard", "hotpot_hard_notitle"])
def test_hotpot_hard_has_two_gold_and_answer_free_distractors(name: str) -> None:
    items = D.load(name, 8)
    with gzip.open(D.DATA / "hotpotqa" / "hotpotqa_train.json.gz", "rt", encoding="utf-8") as f:
        raw = {r["question"]: r for r in json.load(f)}
    for it in items:
        docs = it["documents"]
        assert len(docs) == D.HOTPOT_HARD_DOCS
        assert len({t for t, _ in docs}) == len(docs)
        rec = raw[it["query"]]
        gold = set(it["meta"]["gold_docs"])
        assert len(gold) == 2
        assert {d for d, _, _ in it["evidence"]} <= gold
        for d, a, b in it["evidence"]:
            assert docs[d][0][a:b] == docs[d][0][a:b].strip() != ""
        ans = normalize(rec["answer"])
        for i, (text, meta) in enumerate(docs):
            assert (meta["title"] == "") == (name == "hotpot_hard_notitle")
            if i not in gold and ans not in ("yes", "no"):
                assert not contains(normalize(text), ans)


def test_hotpot_hard_variants_differ_only_in_titles() -> None:
    a, b = D.load_hotpot_hard(3), D.load_hotpot_hard_notitle(3)
    for x, y in zip(a, b, strict=True):
        assert [t for t, _ in x["documents"]] == [t for t, _ in y["documents"]]
        assert x["evidence"] == y["evidence"] and x["query"] == y["query"]
    assert D.load_hotpot_hard(3) == a  # deterministic shuffle


def test_existing_loaders_unchanged() -> None:
    assert [it["id"] for it in D.load("hotpotqa", 2)][0].startswith("hotpotqa-")
    assert len(D.load("kv", 1)[0]["documents"]) == 75
