"""The quality runs of :mod:`benchmarks.run`: one JSON row per item x method x budget.

Three parts share the loaded items of a data set (and the embedding memo):

- ``main``: every method at the suite's budgets, the items as loaded (title in metadata);
- ``tight`` (issue 24): the peers and ``ours`` at fixed small budgets (24 / 48 / 96 tokens);
- ``layout`` (issue 23): the peers and ``ours`` on the same items rendered the ways users' chunks
  arrive (:mod:`benchmarks.renderings`), at 4x / 8x / 16x. Budgets are shares of the item's tokens
  as loaded (``meta["base_tokens"]``), so every rendering of an item gets the same budgets; the
  ``meta`` rendering's cells are the main part's rows of the same items.

Every row carries its ``part`` and ``rendering``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from . import methods as M
from . import metrics as X
from .renderings import render


def budget_tokens(label: str, original: int) -> int:
    """``"4x"`` -> a quarter of the input's tokens; ``"512"`` -> 512; ``"none"`` -> the input."""
    if label == "none":
        return original
    if label.endswith("x"):
        return max(1, original // int(label[:-1]))
    return int(label)


def run_quality(
    methods: M.Methods,
    names: list[str],
    items: list[dict[str, Any]],
    budgets: list[str],
    out: Any,
    suite: str,
    part: str = "main",
) -> int:
    """Every item x method x budget; one JSON row each, written as it is made. A ratio budget is
    a share of ``meta["base_tokens"]`` where the item has it (a rendered item: its tokens as
    loaded), else of the item's own tokens."""
    n = 0
    tok = methods.tokens
    for item in items:
        docs = item["documents"]
        texts = [t for t, _ in docs]
        original = sum(tok.count(t) for t in texts)
        base = item["meta"].get("base_tokens", original)
        answers = X.scorable_answers(item["answers"], item["query"], "\n".join(texts))
        answers_any = X.nontrivial_answers(item["answers"], item["query"])
        for name in names:
            fn = methods.get(name)
            for label in ["none"] if name == "none" else budgets:
                budget = budget_tokens(label, base)
                t = time.perf_counter()
                kept = fn(item["query"], docs, budget)
                secs = time.perf_counter() - t
                clipped, before, after = M.clip(kept, budget, tok)
                row = {
                    "suite": suite,
                    "part": part,
                    "rendering": item.get("rendering", "meta"),
                    "dataset": item["dataset"],
                    "item_id": item["id"],
                    "method": name,
                    "budget_label": label,
                    "budget": budget,
                    "original_tokens": original,
                    "kept_tokens": after,
                    "overrun": X.overrun(before, budget),
                    "ratio": original / max(after, 1),
                    "answer_recall": X.answer_recall(clipped, answers),
                    "answer_recall_any": X.answer_recall_any(clipped, answers_any),
                    "evidence_recall": X.evidence_recall(clipped, texts, item["evidence"]),
                    "gold_text": X.gold_text_recall(clipped, texts, item["evidence"]),
                    "n_docs": len(docs),
                    "seconds_memo": secs,
                    "meta": item["meta"],
                }
                out.write(json.dumps(row) + "\n")
                n += 1
        out.flush()
    return n


def compared(names: list[str]) -> list[str]:
    """The methods of the tight and layout parts: the peers among ``names``, and ``ours``."""
    return [m for m in names if m in M.PEERS or m == "ours"]


def run_tight(
    methods: M.Methods,
    names: list[str],
    items: list[dict[str, Any]],
    budgets: list[str],
    out: Any,
    suite: str,
) -> int:
    """The tight-budget part: the peers and ``ours`` at fixed ``budgets`` (token counts)."""
    return run_quality(methods, compared(names), items, budgets, out, suite, part="tight")


def run_layouts(
    methods: M.Methods,
    names: list[str],
    items: list[dict[str, Any]],
    renderings: list[str],
    budgets: list[str],
    out: Any,
    suite: str,
) -> int:
    """The layout part: ``items`` (already limited) in each of ``renderings`` other than
    ``meta`` (whose rows the main part made), the peers and ``ours``, at ``budgets``, each a
    share of the item's tokens as loaded."""
    tok = methods.tokens
    based = []
    for it in items:
        base = sum(tok.count(t) for t, _ in it["documents"])
        based.append({**it, "meta": {**it["meta"], "base_tokens": base}})
    n = 0
    for rendering in renderings:
        if rendering == "meta":
            continue
        rendered = [render(it, rendering) for it in based]
        n += run_quality(methods, compared(names), rendered, budgets, out, suite, part="layout")
    return n
