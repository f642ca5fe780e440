"""Benchmark demo: answer recall of semtoken-rag against two simple baselines, in seconds.

Runs offline top to bottom: ``python examples/benchmark_demo.py``. It uses the NQ-Open item
bundled with the package (``semtoken_rag/data/demo.json``: a question, its gold Wikipedia passage
and seven on-topic distractors) with the gold passage first, in the middle and last, and keeps a
quarter of the tokens (4x compression). Answer recall: does the gold answer survive in the kept
context? The full benchmark (NQ-20, HotpotQA, kv-75, CLAPNQ, QMSum, more baselines) runs from a
source checkout: ``python -m benchmarks.run --suite quick`` (or ``semtoken-rag bench``).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import json  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from importlib import resources  # noqa: E402

import numpy as np  # noqa: E402

from semtoken_rag import SemTokenCompressor  # noqa: E402

Docs = list[tuple[str, dict[str, str]]]


def clip(texts: list[str], budget: int, count: Callable[[str], int]) -> str:
    """Keep texts in the given order, cutting the last one by words to fit ``budget`` tokens."""
    kept: list[str] = []
    used = 0
    for text in texts:
        if used + count(text) <= budget:
            kept.append(text)
            used += count(text)
            continue
        words = text.split()
        lo, hi = 0, len(words)
        while lo < hi:  # longest prefix of words that fits
            mid = (lo + hi + 1) // 2
            if used + count(" ".join(words[:mid])) <= budget:
                lo = mid
            else:
                hi = mid - 1
        kept.append(" ".join(words[:lo]))
        break
    return "\n\n".join(t for t in kept if t)


def main() -> None:
    data = json.loads((resources.files("semtoken_rag") / "data" / "demo.json").read_text("utf-8"))
    gold = data["documents"][data["gold_index"]]
    others = [d for i, d in enumerate(data["documents"]) if i != data["gold_index"]]
    compressor = SemTokenCompressor()
    count = compressor.count_tokens
    encode = compressor.encoder.encode_documents

    def truncation(query: str, docs: Docs, budget: int) -> str:
        return clip([t for t, _ in docs], budget, count)

    # Both dense methods time queries on warm caches: document vectors are computed once, as a
    # retriever (or semtoken-rag's fingerprint cache) would have them at ingestion time.
    doc_vectors: dict[str, np.ndarray] = {}

    def doc_dense(query: str, docs: Docs, budget: int) -> str:
        new = [(t, m) for t, m in docs if t not in doc_vectors]
        if new:
            for (t, _), v in zip(new, encode([f"{m['title']}. {t}" for t, m in new]), strict=True):
                doc_vectors[t] = v
        vectors = np.stack([doc_vectors[t] for t, _ in docs])
        order = np.argsort(-(vectors @ encode([query])[0]))
        return clip([docs[i][0] for i in order], budget, count)

    def semtoken(query: str, docs: Docs, budget: int) -> str:
        return compressor.compress(query, docs, budget=budget).text

    methods = {"truncation": truncation, "doc_dense": doc_dense, "semtoken-rag": semtoken}
    answers = [a.lower() for a in data["answers"]]
    print(f"query: {data['query']!r}, answer: {data['answers'][0]!r}, budget: 4x\n")
    print(f"{'method':<14} {'first':>6} {'middle':>7} {'last':>5} {'recall':>7} {'warm ms':>8}")
    for name, method in methods.items():
        hits, seconds = [], 0.0
        for slot in (0, len(others) // 2, len(others)):
            docs = others[:slot] + [gold] + others[slot:]
            pairs: Docs = [(d["text"], {"title": d["title"]}) for d in docs]
            budget = sum(count(t) for t, _ in pairs) // 4
            method(data["query"], pairs, budget)  # warm-up: model load and caches
            t = time.perf_counter()
            context = method(data["query"], pairs, budget)
            seconds += time.perf_counter() - t
            assert count(context) <= budget + 2  # joins may add a token
            hits.append(any(a in context.lower() for a in answers))
        marks = ["yes" if h else "no" for h in hits]
        print(
            f"{name:<14} {marks[0]:>6} {marks[1]:>7} {marks[2]:>5} {np.mean(hits):>7.2f} "
            f"{seconds / len(hits) * 1000:>8.1f}"
        )
    print(
        "\n(one question only: a smoke test, not a benchmark; see BENCHMARKS.md for real numbers)"
    )


if __name__ == "__main__":
    main()
