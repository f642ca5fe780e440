"""The trade-offs behind the last negative margins (FINDINGS section 12), reproducible:
``python -m benchmarks.tuning.tradeoffs`` (needs the feature cache of ``features.py``).

The four margins of the full benchmark whose interval lies wholly below zero are all *whole-unit*
evidence cells: a gold passage (NQ 16x), a gold sentence (CLAPNQ 4x) or a gold turn (QMSum 4x,
16x) counts only when kept whole. Each variant below changes one thing of the shipped recipe
(:mod:`.decisions`, last row) toward keeping units whole, and is scored on EVERY metric the
Done-when reads (answer and evidence recall wherever a set has them, 4x / 8x / 16x) against the
best real peer of that cell. Writes ``results/tuning/tradeoffs.md``.

- ``sentence-ranked clauses``: clause pieces ordered by their sentence's fused score first (the
  sentence is ranked as a whole), the piece's own score second;
- ``document prior w``: a fourth ranked signal, the unit's document by the pass's document vector
  (``doc_late``), weight ``w`` (at 1 the best document's units tie the best unit of each signal);
  ``+ BM25 documents``: the document ranked by the reciprocal-rank sum of that vector and BM25
  over whole documents;
- ``consensus document``: the document vector and BM25 over documents agree on the best document:
  its units get rank 0 (kept whole first).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import decisions as Dd
from . import lodo as L
from .evaluate import PRIMARY, RATIOS, Item, fast_metrics

METRICS = ("ans", "ev")
SHIPPED: Dd.Variant = {**Dd.BASE, "X_share": 0.1, "w_exact": 1.0, "shift": 1.5, "clauses": 0.5}
VARIANTS: dict[str, dict[str, Any]] = {
    "shipped (clause pieces above 0.5 x budget)": {},
    "whole sentences (granularity='sentence')": {"clauses": None},
    "sentence-ranked clauses": {"order": "sentence"},
    "document prior w = 0.5": {"w_doc": 0.5},
    "document prior w = 1": {"w_doc": 1.0},
    "document prior w = 1, + BM25 documents": {"w_doc": 1.0, "doc_bm25": True},
    "consensus document": {"consensus": True},
}


def select(it: Item, s: np.ndarray, s_sent: np.ndarray | None, budget: int) -> np.ndarray:
    """:func:`decisions.select`, optionally in sentence-first order (``s_sent`` per parent)."""
    if s_sent is None or "parent" not in it.sig:
        return Dd.select(it, s, budget)
    parent = it.sig["parent"].astype(np.int64)
    return Dd.select(it, s, budget, np.lexsort((np.arange(it.n), -s, -s_sent[parent])))


def evaluate(data: dict[str, list[Item]], v: dict[str, Any]) -> dict[tuple[str, str], np.ndarray]:
    """(set, metric) -> mean at 4x / 8x / 16x, for every metric the set has."""
    acc: dict[tuple[str, str, int], list[float]] = {}
    for s, items in data.items():
        for it0 in items:
            for r in RATIOS:
                b = it0.budget(r)
                it = Dd._views(it0, v, b)
                sc = Dd.score(it, v)
                s_sent = None
                if v.get("order") == "sentence":
                    sv = Dd._views(it0, {**v, "clauses": None}, b)
                    s_sent = Dd.score(sv, v) if sv is not it else None
                m = fast_metrics(it, select(it, sc, s_sent, b))
                for k in METRICS:
                    if m.get(k) is not None:
                        acc.setdefault((s, k, r), []).append(float(m[k]))  # type: ignore[arg-type]
    keys = sorted({(s, k) for s, k, _ in acc}, key=lambda x: (list(data).index(x[0]), x[1]))
    return {(s, k): np.array([np.mean(acc[(s, k, r)]) for r in RATIOS]) for s, k in keys}


def best_peers(sets: list[str]) -> dict[tuple[str, str], np.ndarray]:
    """The best real peer per (set, metric) and budget, where the peers measured that metric."""
    table = L.peer_table()
    best = {(s, k): L.best_peer(table, s, k) for s in sets for k in METRICS}
    return {c: v for c, v in best.items() if not np.isnan(v).any()}


def main() -> int:
    sets = list(L.VISIBLE)
    data = L.load_all(sets)
    best = best_peers(sets)
    res = {label: evaluate(data, {**SHIPPED, **change}) for label, change in VARIANTS.items()}
    cells = [c for c in res[next(iter(res))] if c in best]
    lines = [
        "# Whole-unit evidence against answer recall (FINDINGS section 12)",
        "",
        "`python -m benchmarks.tuning.tradeoffs`; margin over the best real peer of each cell, "
        "4x / 8x / 16x (`ans` answer recall, `ev` evidence recall). 'worst' = the minimum over "
        "every cell; 'primary' = the mean of the sets' primary metrics (what the LODO reads).",
        "",
        "| variant | primary | worst | " + " | ".join(f"{s} {k}" for s, k in cells) + " |",
        "|---|---|---|" + "---|" * len(cells),
    ]
    for label, r in res.items():
        prim = np.mean([r[(s, PRIMARY[s])].mean() for s in sets])
        worst = min(float((r[c] - best[c]).min()) for c in cells)
        row = [Dd.fmt(r[c] - best[c], True) for c in cells]
        lines.append(f"| {label} | {prim:.3f} | {worst:+.3f} | " + " | ".join(row) + " |")
    crit = {
        "worst margin over every cell (the Done-when)": lambda r, others: min(
            float((r[c] - best[c]).min()) for c in cells if c[0] in others
        ),
        "mean of the primary metrics": lambda r, others: float(
            np.mean([r[(s, PRIMARY[s])].mean() for s in others])
        ),
    }
    for name, value in crit.items():
        head = f"LODO over these variants, criterion {name}: per held-out set, the variant "
        lines += ["", head + "chosen on the other seven, and its margins on the held-out set", ""]
        for h in sets:
            others = [s for s in sets if s != h]
            pick = max(res, key=lambda lab: value(res[lab], others))
            held = "; ".join(
                f"{k} {Dd.fmt(res[pick][(h, k)] - best[(h, k)], True)}" for s, k in cells if s == h
            )
            lines.append(f"- {h}: {pick} -> {held}")
    (L.OUT / "tradeoffs.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
