"""The decisions taken after the research stage (FINDINGS section 11), reproducible:
``python -m benchmarks.tuning.decisions`` (needs the feature cache of ``features.py``).

Each variant changes one thing of the minimal recipe (section 1) as the library implements it:
documents short against the budget as one unit, clause units with "whole sentence if it fits",
an exact-identifier ranked signal, restatements of the query ranked lower, the tie-break, BM25's
length normalisation. Each is scored on the eight visible sets (primary metric, 4x / 8x / 16x)
against the best real peer; ``--lodo`` then picks, per held-out set, the variant of a grid that
is best on the other seven (mean, and worst margin over the best peer). Writes
``results/tuning/decisions.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Callable
from typing import Any

import numpy as np

from semtoken_rag.pipeline.score import bm25, exact_matches, terms

from . import lodo as L
from .evaluate import PRIMARY, RATIOS, Item, adaptive_view, coarsen_view, fast_metrics, rank
from .methods import bridge_sets

K = 10.0  # the recipe's rank constant
Variant = dict[str, Any]
BASE: Variant = {"X": 40, "X_share": 0.0, "clauses": None, "w_exact": 0.0, "shift": 0.0,
                 "tiebreak": "sum", "b": 0.75}  # fmt: skip


def _views(it: Item, v: Variant, budget: int) -> Item:
    c = it.__dict__.setdefault("_dviews", {})
    X = max(int(v["X"]), int(v["X_share"] * budget))
    key = (X, v["clauses"], budget if v["clauses"] else 0)
    if key not in c:
        view = coarsen_view(it, X)
        c[key] = adaptive_view(view, budget, v["clauses"]) if v["clauses"] else view
    return c[key]


def score(it: Item, v: Variant) -> np.ndarray:
    """The recipe's fused score on ``it``'s units under variant ``v``."""
    memo = it.__dict__.setdefault("_dscore", {})
    names = ("w_exact", "shift", "tiebreak", "b", "w_doc", "doc_bm25", "consensus")
    key = json.dumps({k: v.get(k) for k in names}, sort_keys=True)
    if key in memo:
        return memo[key]
    query = it.raw["query"]
    q_terms = terms(query)
    docs = it.raw["documents"]
    titles = [docs[int(d)][1].get("title", "") for d in it.doc]
    lex = bm25(
        q_terms, [terms(f"{t} {x}" if t else x) for t, x in zip(titles, it.texts)], 1.2, v["b"]
    )
    qs = set(q_terms)
    shift = v["shift"] * np.array([0.0 if set(terms(x)) - qs else 1.0 for x in it.texts])
    dense = it.sig["late5"]

    def terms_of(x: np.ndarray, mask: np.ndarray | None = None, w: float = 1.0) -> np.ndarray:
        out = np.zeros(it.n)
        m = np.ones(it.n, bool) if mask is None else mask
        if m.any():
            out[m] = w / (K + 1 + rank(x[m]) + shift[m])
        return out

    zs = {"dense": _z(dense), "lex": np.where(lex > 0, _z(lex), 0.0)}

    def comb(parts: list[np.ndarray]) -> np.ndarray:
        T = np.stack(parts)
        if v["tiebreak"] == "sum":
            return T.max(0) + 1e-3 * T.sum(0)
        return T.max(0) + 1e-6 * (zs["dense"] + zs["lex"])  # "z": calibrated evidence

    parts = [terms_of(dense), terms_of(lex, lex > 0)]
    if v.get("w_doc") or v.get("consensus"):  # FINDINGS section 12 (tradeoffs.py), not shipped
        parts.append(_document_term(it, v, shift))
    if v["w_exact"]:
        ex = exact_matches(query, it.texts, 12) > 0
        parts.append(terms_of(comb(parts), ex, v["w_exact"]))
    first = comb(parts)
    linked, _ = bridge_sets(it, {"bridge_m": 3, "w_tb": 1.0, "forward_only": True}, first)
    parts.append(terms_of(first, linked[it.doc]))
    memo[key] = comb(parts)
    return memo[key]


def _document_term(it: Item, v: Variant, shift: np.ndarray) -> np.ndarray:
    """A ranked signal of the unit's document: by the pass's document vector (``w_doc``; with
    ``doc_bm25`` the reciprocal-rank sum of it and BM25 over whole documents), or rank 0 for the
    document both rank first (``consensus``)."""
    dv = np.full(it.n_docs, -np.inf)
    dl = np.full(it.n_docs, -np.inf)
    dv[it.doc[::-1]] = it.sig["doc_late"][::-1]  # a document's units carry the same value
    dl[it.doc[::-1]] = it.sig["bm25_doc"][::-1]
    out = np.zeros(it.n)
    if v.get("consensus"):
        best = int(np.argmax(dv))
        if best == int(np.argmax(dl)) and dl[best] > 0:
            m = it.doc == best
            out[m] = 1.0 / (K + 1 + shift[m])
        return out
    if v.get("doc_bm25"):
        dv = 1 / (K + 1 + rank(dv)) + 1 / (K + 1 + rank(dl))
    return float(v["w_doc"]) / (K + 1 + rank(dv)[it.doc] + shift)


def _z(x: np.ndarray) -> np.ndarray:
    med = float(np.median(x))
    mad = float(np.median(np.abs(x - med))) * 1.4826 or float(np.std(x)) or 1.0
    return (x - med) / mad


def select(it: Item, s: np.ndarray, budget: int, order: np.ndarray | None = None) -> np.ndarray:
    """Greedy in score order (or the given ``order``); a clause comes with the rest of its
    sentence when that fits."""
    parent = it.sig["parent"].astype(np.int64) if "parent" in it.sig else np.arange(it.n)
    tok = it.tokens.astype(np.int64)
    keep = np.zeros(it.n, bool)
    left = budget + 1
    for j in (np.lexsort((np.arange(it.n), -s)) if order is None else order).tolist():
        if keep[j]:
            continue
        rest = np.where((parent == parent[j]) & ~keep)[0]
        cost = int((tok[rest] + 1).sum())
        if len(rest) > 1 and cost <= left:
            keep[rest] = True
            left -= cost
        elif tok[j] + 1 <= left:
            keep[j] = True
            left -= int(tok[j]) + 1
    return keep


def evaluate(data: dict[str, list[Item]], v: Variant) -> dict[str, np.ndarray]:
    out = {}
    for s, items in data.items():
        acc: dict[int, list[float]] = {r: [] for r in RATIOS}
        for it0 in items:
            for r in RATIOS:
                b = it0.budget(r)
                it = _views(it0, v, b)
                m = fast_metrics(it, select(it, score(it, v), b)).get(PRIMARY[s])
                if m is not None:
                    acc[r].append(m)
        out[s] = np.array([np.mean(acc[r]) for r in RATIOS])
    return out


def fmt(x: np.ndarray, signed: bool = False) -> str:
    return " / ".join(f"{y:+.2f}" if signed else f"{y:.2f}" for y in x)


VARIANTS: dict[str, Variant] = {
    "minimal recipe (X = 40)": {},
    "X = max(40, 0.05 x budget)": {"X_share": 0.05},
    "X = max(40, 0.1 x budget)": {"X_share": 0.1},
    "+ exact identifiers (ranked signal)": {"X_share": 0.1, "w_exact": 1.0},
    "+ restatements 1.5 ranks lower": {"X_share": 0.1, "w_exact": 1.0, "shift": 1.5},
    "tie-break by calibrated z": {"X_share": 0.1, "w_exact": 1.0, "shift": 1.5, "tiebreak": "z"},
    "BM25 b = 0.5": {"X_share": 0.1, "w_exact": 1.0, "shift": 1.5, "b": 0.5},
    "BM25 b = 0": {"X_share": 0.1, "w_exact": 1.0, "shift": 1.5, "b": 0.0},
    "clause units above 1.0 x budget": {
        "X_share": 0.1,
        "w_exact": 1.0,
        "shift": 1.5,
        "clauses": 1.0,
    },  # fmt: skip
    "clause units above 0.5 x budget (shipped)": {
        "X_share": 0.1,
        "w_exact": 1.0,
        "shift": 1.5,
        "clauses": 0.5,
    },  # fmt: skip
}
RECIPE_FAMILY = "library recipe (decisions.py grid)"
GRID = {"clauses": (None, 0.5), "X_share": (0.0, 0.05, 0.1), "w_exact": (0.0, 1.0)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.tuning.decisions")
    p.add_argument("--lodo", action="store_true", help="also the LODO over GRID")
    a = p.parse_args(argv)
    sets = list(L.VISIBLE)
    data = L.load_all(sets)
    table = L.peer_table()
    best = {s: L.best_peer(table, s) for s in sets}
    lines = ["# Decisions after the research (FINDINGS section 11)", "",
             "`python -m benchmarks.tuning.decisions --lodo`; cells: primary metric 4x / 8x / 16x "
             "(margin over the best real peer).", "",
             "| variant | mean | worst margin | " + " | ".join(sets) + " |",
             "|---|---|---|" + "---|" * len(sets)]  # fmt: skip
    results: dict[str, dict[str, np.ndarray]] = {}
    for label, change in VARIANTS.items():
        res = evaluate(data, {**BASE, **change})
        results[label] = res
        mean = np.mean([res[s].mean() for s in sets])
        worst = min(float((res[s] - best[s]).min()) for s in sets)
        cells = [f"{fmt(res[s])} ({fmt(res[s] - best[s], True)})" for s in sets]
        lines.append(f"| {label} | {mean:.3f} | {worst:+.3f} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    if a.lodo:
        grid = [dict(zip(GRID, vals)) for vals in itertools.product(*GRID.values())]
        res = {json.dumps(g): evaluate(data, {**BASE, **g, "shift": 1.5}) for g in grid}
        chosen: dict[str, dict[str, dict[str, object]]] = {}
        for crit, value in _criteria(best, sets).items():
            lines += ["", f"LODO, criterion {crit}: per held-out set, the grid point chosen on the "
                      "other seven, and its held-out score (margin)", ""]  # fmt: skip
            chosen[crit] = {}
            for h in sets:
                others = [s for s in sets if s != h]
                pick = max(res, key=lambda g: (value(res[g], others), g))
                lines.append(
                    f"- {h}: {pick} -> {fmt(res[pick][h])} ({fmt(res[pick][h] - best[h], True)})"
                )
                chosen[crit][h] = {
                    "config": json.loads(pick),
                    "score": [round(float(x), 4) for x in res[pick][h]],
                    "margin": [round(float(x), 4) for x in res[pick][h] - best[h]],
                }
        # the report (benchmarks/report/lodo.py) renders every family under "results"
        state = json.loads((L.OUT / "lodo.json").read_text())
        state.setdefault("results", {})[RECIPE_FAMILY] = chosen
        (L.OUT / "lodo.json").write_text(json.dumps(state), encoding="utf-8")
    (L.OUT / "decisions.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines[-20:]))
    return 0


def _criteria(best: dict[str, np.ndarray], sets: list[str]) -> dict[str, Callable[..., float]]:
    return {
        "mean": lambda r, others: float(np.mean([r[s].mean() for s in others])),
        "worst": lambda r, others: min(float((r[s] - best[s]).min()) for s in others),
    }


if __name__ == "__main__":
    raise SystemExit(main())
