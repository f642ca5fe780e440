"""Cold vs warm compression with the fingerprint cache on NQ-20, and the cache's size per span.

Each item is an NQ-open question with its gold passage plus 19 other questions' gold passages
(most word overlap with the question, never holding an answer string), the gold one in the middle.
*Cold*: a fresh empty cache per item (the encoder is already loaded and warmed up). *Warm*: the same
call again, every span cached; *disk*: the cache saved, reloaded from its folder, the call again.

Run:  HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python -m benchmarks.cache_speed
Writes benchmarks/results/cache_speed.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == HERE:  # run as a script: don't let
    sys.path.pop(0)  # benchmarks/datasets.py shadow the `datasets` package transformers imports

import numpy as np  # noqa: E402

from semtoken_rag import FingerprintCache, SemTokenCompressor  # noqa: E402

NAME = "nq-open-oracle.jsonl.gz"
CANDIDATES = [
    HERE / "data" / "nq" / NAME,
    HERE / "data" / "lost-in-the-middle" / NAME,
    HERE.parent.parent / "shared" / "data" / "lost-in-the-middle" / NAME,
]
STAGES = ("count", "encode", "score", "merge", "select", "assemble")


def words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 3}


def nq_items(n: int, pool: int = 400) -> list[tuple[str, list[str]]]:
    """``n`` (question, 20 passages) items, the gold passage at position 10."""
    path = next((p for p in CANDIDATES if p.exists()), None)
    if path is None:
        raise SystemExit(f"NQ data not found; looked in {[str(p) for p in CANDIDATES]}")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        recs = [json.loads(line) for _, line in zip(range(pool), f, strict=False)]
    passages = [(r["ctxs"][0]["title"], r["ctxs"][0]["text"]) for r in recs]
    items = []
    for qi, r in enumerate(recs[:n]):
        q, answers = r["question"], [a.lower() for a in r["answers"]]
        qw = words(q)
        others = [
            (len(qw & words(t)), j)
            for j, (_, t) in enumerate(passages)
            if j != qi and not any(a in t.lower() for a in answers)
        ]
        picked = [j for _, j in sorted(others, key=lambda x: (-x[0], x[1]))[:19]]
        docs = [f"{passages[j][0]}. {passages[j][1]}" for j in picked]
        docs.insert(10, f"{passages[qi][0]}. {passages[qi][1]}")
        items.append((q, docs))
    return items


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(np.array(xs), p))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--ratio", type=float, default=0.25)
    ap.add_argument("--repeats", type=int, default=3, help="warm calls per item (median kept)")
    ap.add_argument("--out", default=str(HERE / "results" / "cache_speed.json"))
    args = ap.parse_args(argv)
    load_before = (
        Path("/proc/loadavg").read_text().split()[:3] if os.path.exists("/proc/loadavg") else []
    )
    items = nq_items(args.items)
    base = SemTokenCompressor(cache=None)
    base.compress("warm up the model", items[0][1][:2], ratio=0.5)  # load + first-call costs
    enc = base.encoder
    cold, warm, disk = [], [], []
    stage_warm: dict[str, list[float]] = {s: [] for s in STAGES}
    tmp = tempfile.mkdtemp()
    folder = os.path.join(tmp, "fp")
    shared = FingerprintCache(folder, max_entries=10**7)  # every item's fingerprints, for sizes
    for q, docs in items:
        c = SemTokenCompressor(encoder=enc, cache=FingerprintCache())
        t = time.perf_counter()
        r_cold = c.compress(q, docs, ratio=args.ratio)
        cold.append(time.perf_counter() - t)
        shared.bind(c.namespace)
        for key in c.cache.keys():  # noqa: SIM118 (a method, not a dict)
            shared.put(key, c.cache.get(key), namespace=c.namespace)
        best = None
        for _ in range(args.repeats):
            t = time.perf_counter()
            r_warm = c.compress(q, docs, ratio=args.ratio)
            dt = time.perf_counter() - t
            if best is None or dt < best[0]:
                best = (dt, r_warm)
        assert best is not None
        warm.append(best[0])
        for s in STAGES:
            stage_warm[s].append(best[1].timings.get(s, 0.0))
        if [(s.doc_index, s.start, s.end) for s in best[1].spans] != [
            (s.doc_index, s.start, s.end) for s in r_cold.spans
        ]:
            raise SystemExit("warm result differs from cold")
    try:
        t = time.perf_counter()
        disk_written = shared.save()
        save_s = time.perf_counter() - t
        t = time.perf_counter()
        loaded = FingerprintCache(folder, max_entries=10**7)
        load_s = time.perf_counter() - t
        cd = SemTokenCompressor(encoder=enc, cache=loaded)
        for q, docs in items:
            t = time.perf_counter()
            cd.compress(q, docs, ratio=args.ratio)
            disk.append(time.perf_counter() - t)
        assert loaded.misses == 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    stats = shared.stats()
    spans = int(stats["entries"])
    result = {
        "items": len(items),
        "documents": int(stats["documents"]),
        "spans": spans,
        "ratio": args.ratio,
        "cold_s": {"median": statistics.median(cold), "p95": pct(cold, 95)},
        "warm_s": {"median": statistics.median(warm), "p95": pct(warm, 95)},
        "warm_from_disk_s": {"median": statistics.median(disk), "p95": pct(disk, 95)},
        "warm_over_cold": statistics.median(warm) / statistics.median(cold),
        "warm_stage_median_s": {s: statistics.median(v) for s, v in stage_warm.items()},
        "memory_bytes_per_1000_spans": stats["bytes"] / spans * 1000,
        "disk_bytes_per_1000_spans": disk_written / spans * 1000,
        "save_s": save_s,
        "load_s": load_s,
        "loadavg_before": load_before,
        "loadavg_after": Path("/proc/loadavg").read_text().split()[:3]
        if os.path.exists("/proc/loadavg")
        else [],
    }
    print(
        f"NQ-20, {len(items)} items, {result['documents']} passages, {spans} spans, "
        f"ratio {args.ratio}; loadavg {' '.join(load_before)}"
    )
    print(f"{'':18}{'median ms':>11}{'p95 ms':>10}")
    for name, key in (
        ("cold", "cold_s"),
        ("warm", "warm_s"),
        ("warm (from disk)", "warm_from_disk_s"),
    ):
        print(f"{name:18}{result[key]['median'] * 1e3:11.1f}{result[key]['p95'] * 1e3:10.1f}")
    print(f"warm / cold (medians): {result['warm_over_cold']:.1%}")
    print(
        "warm stages (median ms): "
        + ", ".join(f"{s} {v * 1e3:.1f}" for s, v in result["warm_stage_median_s"].items())
    )
    print(
        f"cache size per 1,000 spans: {result['memory_bytes_per_1000_spans'] / 1e6:.2f} MB "
        f"in memory, {result['disk_bytes_per_1000_spans'] / 1e6:.2f} MB on disk "
        f"(save {save_s * 1e3:.0f} ms, load {load_s * 1e3:.0f} ms)"
    )
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()
