"""Margins and spreads of one variant from the layout harness's rows:
``python -m benchmarks.tuning.margins VARIANT_KEY [--budgets ...]``.

Reads ``results/tuning/layouts/rows`` (written by ``python -m benchmarks.tuning.layouts run``)
and prints, per set and budget, the variant's primary metric in each rendering, the best peer of
the same rendering and the margin, and the variant's spread across renderings (max - min), as a
Markdown table; the report's paired bootstrap
(:func:`benchmarks.report.compare.paired_interval`) gives the 95 % interval of the margin over
that peer. Nothing is recomputed: the rows are the harness's.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import cache

import numpy as np

from ..renderings import RENDERINGS
from ..report.compare import paired_interval
from .layouts import OUT, PEERS, SETS, primary


@cache
def load(s: str, r: str, m: str) -> dict[tuple[str, str], float]:
    """A method's primary metric per (item, budget), read once per file."""
    path = OUT / "rows" / f"{s}.{r}.{m}.jsonl"
    rows = [json.loads(x) for x in path.read_text().splitlines() if x]
    f = primary(s)
    return {(x["item"], x["budget"]): x[f] for x in rows if x[f] is not None}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.tuning.margins", description=__doc__)
    p.add_argument("variant", help="rows' method name, e.g. ours:cut_novel_4-96fc94")
    p.add_argument("--sets", nargs="+", default=list(SETS))
    p.add_argument("--renderings", nargs="+", default=list(RENDERINGS))
    p.add_argument("--budgets", nargs="+", default=["4x", "8x", "16x"])
    args = p.parse_args(argv)
    out = sys.stdout
    out.write("| set | budget | " + " | ".join(args.renderings) + " | spread |\n")
    out.write("|---|---|" + "---|" * (len(args.renderings) + 1) + "\n")
    for s in args.sets:
        for b in args.budgets:
            cells, ours_means = [], []
            for r in args.renderings:
                ours = load(s, r, args.variant)
                items = sorted(k for k in ours if k[1] == b)
                mine = [ours[k] for k in items]
                best, best_name, best_vals = -1.0, "", []
                for peer in PEERS:
                    vals = load(s, r, peer)
                    pv = [vals.get(k, 0.0) for k in items]
                    if np.mean(pv) > best:
                        best, best_name, best_vals = float(np.mean(pv)), peer, pv
                m = float(np.mean(mine))
                ours_means.append(m)
                ci = paired_interval(dict(zip(items, mine)), dict(zip(items, best_vals)))
                lo, hi = ci[:2] if ci else (float("nan"), float("nan"))
                cells.append(
                    f"{m:.2f} vs {best:.2f} {best_name} ({m - best:+.2f} [{lo:+.2f}, {hi:+.2f}])"
                )
            spread = max(ours_means) - min(ours_means)
            out.write(f"| {s} | {b} | " + " | ".join(cells) + f" | {spread:.2f} |\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
