"""Tuning over data sets AND renderings, through the library itself (no copies of its stages).

``python -m benchmarks.tuning.layouts run [--sets ...] [--renderings ...] [--variants ...]``
scores the real :class:`~semtoken_rag.SemTokenCompressor` (one config per variant) and the peers
(:mod:`benchmarks.methods`, their real classes) on the visible sets, each in every rendering of
:mod:`benchmarks.renderings`, at 4x / 8x / 16x and at the tight budgets 24 / 48 / 96 tokens; rows go
to ``results/tuning/layouts/rows/*.jsonl`` (one file per set x rendering x method, reused when
present: peers are scored once). ``python -m benchmarks.tuning.layouts lodo`` then chooses, per
held-out set, the variant best on the other sets over every rendering and budget, and reports
the held-out set's score in each rendering, with its margin over the best peer run on the same
rendering: a choice is a result only when it holds on the set and the layouts it never saw.

Fingerprints are kept in one persistent :class:`~semtoken_rag.FingerprintCache` per namespace
(``results/tuning/layouts/cache``): variants that change scoring or selection only cost their
scoring. Primary metric: answer recall where a set has short answers, else the share of gold text
kept (:func:`benchmarks.metrics.gold_text_recall`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .. import datasets as D
from .. import metrics as X
from ..renderings import RENDERINGS, render

log = logging.getLogger("benchmarks.tuning")
OUT = Path(__file__).resolve().parent.parent / "results" / "tuning" / "layouts"
RATIO_BUDGETS = ("4x", "8x", "16x")
TIGHT_BUDGETS = ("24", "48", "96")
#: The visible sets, their item limits (nq: questions x 3 gold positions) and loader arguments.
SETS: dict[str, tuple[int | None, dict[str, Any]]] = {
    "nq": (40, {}),
    "hotpotqa": (100, {}),
    "hotpot_hard": (60, {}),
    "hotpot_hard_notitle": (60, {}),
    "triviaqa": (100, {}),
    "clapnq": (60, {}),
    "qmsum": (None, {"max_turns": None, "max_meetings": 2}),
    "kv": (30, {}),
}
#: Sets scored by the share of gold text kept (no short answers).
GOLD_TEXT_SETS = ("clapnq", "qmsum")
PEERS = ("truncation", "bm25", "sbert", "doc_dense", "lc_filter", "llamaindex", "vecr")
#: Stage 1: how a tight budget is spent (``no_cut`` never cuts a unit that does not fit; LODO
#: chose ``cut_novel_4``, now the default: FINDINGS section 13).
CUTS: dict[str, dict[str, Any]] = {
    "default": {},
    "no_cut": {"cut_min_tokens": 0, "cut_window": False},  # the default before section 13
    "cut_prefix": {"cut_min_tokens": 8, "cut_window": False},
    "cut_novel": {"cut_min_tokens": 8, "cut_window": True},
    "cut_novel_4": {"cut_min_tokens": 4, "cut_window": True},
    "cut_novel_16": {"cut_min_tokens": 16, "cut_window": True},
    "cut_novel_evidence": {"cut_min_tokens": 8, "cut_window": True, "cut_by_evidence": True},
    "cut_novel_4_above_mean": {"cut_min_tokens": 4, "cut_window": True, "cut_above_mean": True},
    "cut_novel_4_first": {"cut_min_tokens": 4, "cut_window": True, "cut_first_only": True},
}
#: Stage 2: one constant at a time around the stage-1 choice.
CONSTANTS: dict[str, dict[str, Any]] = {
    "rank_k_5": {"rank_k": 5},
    "rank_k_30": {"rank_k": 30},
    "lexical_weight_0.5": {"lexical_weight": 0.5},
    "bridge_weight_0": {"bridge_weight": 0.0},
    "bridge_weight_0.5": {"bridge_weight": 0.5},
    "bridge_sources_1": {"bridge_sources": 1},
    "bridge_sources_fixed": {"bridge_sources_by_budget": False},
    "unit_share_1": {"unit_share": 1.0},
    "whole_document_share_0": {"whole_document_share": 0.0},
    "whole_document_share_0.2": {"whole_document_share": 0.2},
}
#: Stage 2's base (the stage-1 choice; see FINDINGS section 13).
STAGE1 = "cut_novel_4"
#: Stage 3: how the pieces of one sentence are ordered (FINDINGS section 15).
PIECES: dict[str, dict[str, Any]] = {
    "restating_passes_on": {"restating_passes_on": True},  # the default since section 15
    "restating_stays": {"restating_passes_on": False},
    "item_window": {"cut_item_prefix": False},  # FINDINGS 19: an item's piece as the window
}
#: Variants of ours: name -> SemTokenConfig keyword arguments (``tuning`` as a dict of Tuning
#: fields). "default" is the shipped configuration.
VARIANTS: dict[str, dict[str, Any]] = {
    **{name: {"tuning": t} if t else {} for name, t in CUTS.items()},
    **{f"{STAGE1}+{name}": {"tuning": {**CUTS[STAGE1], **t}} for name, t in CONSTANTS.items()},
    **{name: {"tuning": t} for name, t in PIECES.items()},
    "elided": {"separator": " \u2026 "},  # FINDINGS 20: a mark where text was left out
}


def primary(dataset: str) -> str:
    """The primary metric's row field for a set."""
    return "gold" if dataset in GOLD_TEXT_SETS else "answer"


def budget_tokens(label: str, original: int) -> int:
    if label.endswith("x"):
        return max(1, original // int(label[:-1]))
    return int(label)


_ITEMS: dict[str, list[dict[str, Any]]] = {}


def items(dataset: str, rendering: str) -> list[dict[str, Any]]:
    """The set's tuning items in one rendering; ``meta["base_tokens"]`` holds the item's tokens
    as loaded (title in metadata), which every rendering's budgets are a share of: the same
    items with the same budgets, only the layout differs."""
    if dataset not in _ITEMS:
        from ..methods import Tokens

        limit, kw = SETS[dataset]
        tokens = Tokens()
        _ITEMS[dataset] = D.load(dataset, limit, **kw)
        for it in _ITEMS[dataset]:
            it["meta"] = {
                **it["meta"],
                "base_tokens": sum(tokens.count(t) for t, _ in it["documents"]),
            }
    return [render(it, rendering) for it in _ITEMS[dataset]]


def score_rows(
    method: str,
    fn: Callable[[str, list[Any], int], list[str]],
    its: list[dict[str, Any]],
    budgets: Iterable[str],
    tokens: Any,
) -> list[dict[str, Any]]:
    """Rows of one method on items: each budget's kept text scored by every metric."""
    from ..methods import clip

    rows = []
    for it in its:
        docs = it["documents"]
        texts = [t for t, _ in docs]
        original = it["meta"].get("base_tokens") or sum(tokens.count(t) for t in texts)
        answers = X.scorable_answers(it["answers"], it["query"], "\n".join(texts))
        for label in budgets:
            budget = budget_tokens(label, original)
            kept, before, _ = clip(fn(it["query"], docs, budget), budget, tokens)
            rows.append(
                {
                    "item": it["id"],
                    "method": method,
                    "budget": label,
                    "answer": X.answer_recall(kept, answers),
                    "gold": X.gold_text_recall(kept, texts, it["evidence"]),
                    "evidence": X.evidence_recall(kept, texts, it["evidence"]),
                    "overrun": X.overrun(before, budget),
                }
            )
    return rows


class Harness:
    """Peers and variants of ours, sharing one MiniLM, token counter and fingerprint caches."""

    def __init__(self, out: Path = OUT) -> None:
        import torch

        from ..methods import Methods

        torch.set_num_threads(1)  # two cores shared with other work: no oversubscription
        self.out = out
        (out / "rows").mkdir(parents=True, exist_ok=True)
        self.methods = Methods()
        self.caches: dict[str, Any] = {}
        self._memo_for: tuple[str, str] | None = None

    def _path(self, dataset: str, rendering: str, method: str) -> Path:
        return self.out / "rows" / f"{dataset}.{rendering}.{method}.jsonl"

    def rows(self, dataset: str, rendering: str, method: str, budgets: tuple[str, ...]) -> list:
        """The rows of a method (a peer, or ``ours:<variant>``), computed once and kept."""
        path = self._path(dataset, rendering, method)
        if path.exists():
            rows = [json.loads(x) for x in path.read_text().splitlines() if x]
            if {r["budget"] for r in rows} >= set(budgets):
                return [r for r in rows if r["budget"] in budgets]
        t = time.perf_counter()
        its = items(dataset, rendering)
        all_budgets = tuple(dict.fromkeys((*RATIO_BUDGETS, *TIGHT_BUDGETS, *budgets)))
        fn = self._method(method)
        if self._memo_for != (dataset, rendering):  # peers of one set x rendering share encodes
            self.methods.minilm.memo, self._memo_for = {}, (dataset, rendering)
        rows = score_rows(method, fn, its, all_budgets, self.methods.tokens)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        self._save_caches()
        log.info("%s %s %s: %.1f s", dataset, rendering, method, time.perf_counter() - t)
        return [r for r in rows if r["budget"] in budgets]

    def _method(self, method: str) -> Callable[[str, list[Any], int], list[str]]:
        if not method.startswith("ours:"):
            return self.methods.get(method)
        name = method.split(":", 1)[1]
        compressor = self.compressor(name if name in VARIANTS else name.rsplit("-", 1)[0])
        return lambda q, docs, budget: compressor.compress(q, list(docs), budget=budget).documents()

    def compressor(self, variant: str) -> Any:
        from semtoken_rag import FingerprintCache, SemTokenCompressor, SemTokenConfig
        from semtoken_rag.config import Tuning

        kw = {"threads": 1, **VARIANTS[variant]}
        if "tuning" in kw:
            kw["tuning"] = Tuning(**kw["tuning"])
        c = SemTokenCompressor(SemTokenConfig(**kw), cache=None)
        ns = c.namespace
        if ns not in self.caches:
            folder = self.out / "cache" / hashlib.blake2b(ns.encode(), digest_size=6).hexdigest()
            folder.mkdir(parents=True, exist_ok=True)
            self.caches[ns] = FingerprintCache(folder, max_entries=20_000_000)
        c.cache = self.caches[ns]
        return c

    def _save_caches(self) -> None:
        for cache in self.caches.values():
            if cache.dirty:
                cache.save()


def variant_key(variant: str) -> str:
    """The rows' method name of a variant: ``ours:<name>``, the config's digest appended so a
    changed variant is scored again."""
    blob = json.dumps(VARIANTS[variant], sort_keys=True)
    return (
        f"ours:{variant}"
        if not VARIANTS[variant]
        else (f"ours:{variant}" + "-" + hashlib.blake2b(blob.encode(), digest_size=3).hexdigest())
    )


def table(
    h: Harness,
    sets: list[str],
    renderings: list[str],
    methods: list[str],
    budgets: tuple[str, ...],
) -> dict[tuple[str, str, str, str], float]:
    """Mean primary metric per (set, rendering, method, budget)."""
    out: dict[tuple[str, str, str, str], float] = {}
    for s in sets:
        field = primary(s)
        for r in renderings:
            for m in methods:
                rows = h.rows(s, r, m, budgets)
                for b in budgets:
                    vals = [x[field] for x in rows if x["budget"] == b and x[field] is not None]
                    out[(s, r, m, b)] = sum(vals) / len(vals) if vals else float("nan")
    return out


def lodo(
    t: dict[tuple[str, str, str, str], float],
    sets: list[str],
    renderings: list[str],
    variants: list[str],
    peers: list[str],
    budgets: tuple[str, ...],
) -> list[dict[str, Any]]:
    """Per held-out set: the variant chosen on the other sets (mean of every rendering x budget
    cell, and worst margin over the best peer of each cell), and its held-out cells."""

    def cells(v: str, among: list[str]) -> list[tuple[float, float]]:
        out = []
        for s in among:
            for r in renderings:
                for b in budgets:
                    best = max(t[(s, r, p, b)] for p in peers)
                    out.append((t[(s, r, v, b)], t[(s, r, v, b)] - best))
        return out

    result = []
    for held in sets:
        others = [s for s in sets if s != held]
        row: dict[str, Any] = {"held_out": held}
        for criterion in ("mean", "worst"):

            def key(v: str, c: str = criterion, among: list[str] = others) -> float:
                xs = cells(v, among)
                return sum(x for x, _ in xs) / len(xs) if c == "mean" else min(m for _, m in xs)

            chosen = max(variants, key=key)
            row[criterion] = {
                "variant": chosen,
                "cells": {r: [t[(held, r, chosen, b)] for b in budgets] for r in renderings},
                "margins": {
                    r: [
                        t[(held, r, chosen, b)] - max(t[(held, r, p, b)] for p in peers)
                        for b in budgets
                    ]
                    for r in renderings
                },
            }
        result.append(row)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.tuning.layouts", description=__doc__)
    p.add_argument("stage", choices=("run", "lodo"))
    p.add_argument("--sets", nargs="+", default=list(SETS))
    p.add_argument("--renderings", nargs="+", default=list(RENDERINGS))
    p.add_argument("--variants", nargs="+", default=["default"])
    p.add_argument("--peers", nargs="*", default=list(PEERS))
    p.add_argument("--budgets", nargs="+", default=list(RATIO_BUDGETS))
    args = p.parse_args(argv)
    for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(k, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", stream=sys.stderr)
    log.setLevel(logging.INFO)
    logging.getLogger("vecr_compress").setLevel(logging.ERROR)
    h = Harness()
    ours = [variant_key(v) for v in args.variants]
    budgets = tuple(args.budgets)
    t = table(h, args.sets, args.renderings, [*args.peers, *ours], budgets)
    if args.stage == "lodo":
        out = lodo(t, args.sets, args.renderings, ours, args.peers, budgets)
        (h.out / f"lodo-{'-'.join(budgets)}.json").write_text(json.dumps(out, indent=1))
        for row in out:
            for c in ("mean", "worst"):
                x = row[c]
                margins = " | ".join(
                    f"{r[:5]} " + "/".join(f"{m:+.2f}" for m in x["margins"][r])
                    for r in args.renderings
                )
                print(f"{row['held_out']:22s} {c:5s} {x['variant']:24s} {margins}")
        return 0
    for s in args.sets:
        print(f"\n{s} ({primary(s)})")
        for m in [*args.peers, *ours]:
            cells = []
            for r in args.renderings:
                cells.append(" / ".join(f"{t[(s, r, m, b)]:.2f}" for b in budgets))
            print(f"  {m:28s} " + " | ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
