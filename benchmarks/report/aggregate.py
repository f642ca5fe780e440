"""From JSONL rows to per-cell means: one cell per (data set, method, budget label)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..methods import PEERS

Key = tuple[str, str, str]  # dataset, method, budget label
Agg = dict[Key, dict[str, Any]]

#: Display names of the data sets; a set not listed shows under its loader name.
NAMES = {
    "nq": "NQ-20",
    "hotpotqa": "HotpotQA (distractor)",
    "kv": "kv-retrieval-75",
    "clapnq": "CLAPNQ (answerable dev)",
    "qmsum": "QMSum (val)",
    "hotpot_hard": "HotpotQA hard (2 gold + 18 dense-similar)",
    "hotpot_hard_notitle": "HotpotQA hard, no titles",
    "triviaqa": "TriviaQA (LongBench)",
}
#: Report order of data sets and budgets; names not listed follow, sorted.
DATASET_ORDER = [
    "nq",
    "hotpotqa",
    "hotpot_hard",
    "hotpot_hard_notitle",
    "triviaqa",
    "kv",
    "clapnq",
    "qmsum",
]
BUDGET_ORDER = ["2x", "4x", "8x", "16x", "256", "512", "1024"]


def load_rows(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def mean(xs: Iterable[float | None]) -> tuple[float | None, int]:
    """Mean of the values that are not ``None``, and how many there were."""
    v = [x for x in xs if x is not None]
    return (float(np.mean(v)), len(v)) if v else (None, 0)


def aggregate(rows: list[dict[str, Any]], where: Any = None) -> Agg:
    """Per (data set, method, budget label): metric means, their counts, overruns, ratios."""
    groups: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        if where is None or where(r):
            groups[(r["dataset"], r["method"], r["budget_label"])].append(r)
    agg = {}
    for k, g in groups.items():
        ar, n_ar = mean(r["answer_recall"] for r in g)
        aa, n_aa = mean(r.get("answer_recall_any") for r in g)  # absent in older runs
        er, n_er = mean(r["evidence_recall"] for r in g)
        gt, n_gt = mean(r.get("gold_text") for r in g)  # absent in older runs
        over = [r["overrun"] for r in g if r["overrun"] > 0]
        agg[k] = {
            "answer_recall": ar,
            "n_answer": n_ar,
            "answer_recall_any": aa,
            "n_answer_any": n_aa,
            "evidence_recall": er,
            "n_evidence": n_er,
            "gold_text": gt,
            "n_gold": n_gt,
            "n": len(g),
            "overruns": len(over),
            "overrun_mean": float(np.mean(over)) if over else 0.0,
            "ratio": float(np.mean([r["ratio"] for r in g])),
            "kept_tokens": float(np.mean([r["kept_tokens"] for r in g])),
            "original_tokens": float(np.mean([r["original_tokens"] for r in g])),
        }
    return agg


def order(values: Iterable[str], ref: list[str]) -> list[str]:
    """``values`` in the order of ``ref``, then the others sorted."""
    vs = set(values)
    return [v for v in ref if v in vs] + sorted(vs - set(ref))


def best_peer(agg: Agg, ds: str, metric: str, budget: str) -> tuple[str | None, float | None]:
    """The peer with the highest ``metric`` in one cell, and its value (``None`` if none ran)."""
    best: tuple[str | None, float | None] = (None, None)
    for m in PEERS:
        v = agg.get((ds, m, budget), {}).get(metric)
        if v is not None and (best[1] is None or v > best[1]):
            best = (m, v)
    return best
