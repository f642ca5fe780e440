"""Fingerprinting throughput of ``warm_dataset`` (Ray Data) with 1 vs 2 worker processes.

~200 real passages (the gold passages of the first NQ-open questions of lost-in-the-middle,
``benchmarks/data``), the bundled MiniLM, cl100k counts. Each run starts a fresh actor pool (each
actor loads the model once) on a local Ray cluster of 2 CPUs; one actor per CPU, one torch thread
per actor. Reported per run: wall tokens/s (pool start-up included) and the per-worker rate
(tokens / seconds actors spent inside their batches), from which the cost per million chunks is
extrapolated on paper. A single-process ``SemTokenCompressor.warm`` in the driver is the baseline,
and every merged cache is checked against it (same keys, same vectors).

This machine has 2 cores shared with other work: it cannot show cluster scaling. With 2 workers
on 2 busy cores the second worker competes with the driver, Ray's own processes and other users;
only more machines (or idle cores) can show whether throughput grows with workers.

Run:  HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python -m benchmarks.ray_throughput
Writes benchmarks/results/ray_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == HERE:  # run as a script: don't let
    sys.path.pop(0)  # benchmarks/datasets.py shadow the `datasets` package transformers imports

import numpy as np  # noqa: E402

from benchmarks.datasets import DATA, jsonl_records  # noqa: E402
from semtoken_rag import FingerprintCache, SemTokenCompressor  # noqa: E402

CAVEAT = (
    "2 CPU cores shared with other work: this machine cannot show cluster scaling. The 2-worker "
    "run shares the cores with the driver and Ray's processes; the extrapolation assumes the "
    "measured per-worker rate holds on each worker of a real cluster (one core per worker)."
)


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def passages(n: int) -> list[dict[str, str]]:
    """The first ``n`` distinct gold passages of NQ-open (lost-in-the-middle oracle file)."""
    out, seen = [], set()
    for rec in jsonl_records(DATA / "lost-in-the-middle" / "nq-open-oracle.jsonl.gz"):
        ctx = rec["ctxs"][0]
        if ctx["text"] not in seen:
            seen.add(ctx["text"])
            out.append({"text": ctx["text"], "title": ctx["title"]})
        if len(out) == n:
            break
    return out


def same_cache(a: FingerprintCache, b: FingerprintCache) -> bool:
    keys = a.keys()
    if sorted(keys) != sorted(b.keys()):
        return False
    for key in keys:
        x, y = a.get(key), b.get(key)
        if x is None or y is None or not np.array_equal(x.starts, y.starts):
            return False
        if not np.allclose(x.vectors, y.vectors, atol=1e-5):
            return False
    return True


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passages", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=25)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--chunk-tokens", type=int, default=150, help="for the extrapolation")
    ap.add_argument("--usd-per-cpu-hour", type=float, default=0.05, help="assumed price")
    ap.add_argument("--out", default=str(HERE / "results" / "ray_throughput.json"))
    args = ap.parse_args(argv)

    import ray

    from semtoken_rag.distributed import warm_dataset

    rows = passages(args.passages)
    records = [(r["text"], {"title": r["title"]}) for r in rows]
    tmp = tempfile.mkdtemp()
    try:
        load0 = loadavg()
        base = SemTokenCompressor(cache=FingerprintCache())
        base.compress("warm up the model", [records[0]], ratio=0.5)
        base.cache.clear()  # type: ignore[union-attr]
        t = time.perf_counter()
        base.warm(records)
        single_s = time.perf_counter() - t
        tokens = sum(base.token_counter(r["text"]) for r in rows)
        single = {
            "seconds": single_s,
            "tokens_per_second": tokens / single_s,
            "torch_threads": _torch_threads(),
        }

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        ray.data.DataContext.get_current().enable_progress_bars = False
        runs = []
        for w in args.workers:
            before = loadavg()
            ds = ray.data.from_items(rows, override_num_blocks=max(4, 2 * w))
            path = os.path.join(tmp, f"cache-{w}")
            counts = warm_dataset(
                ds, path, title_column="title", batch_size=args.batch_size, concurrency=w
            )
            ok = same_cache(FingerprintCache(path, read_only=True), base.cache)  # type: ignore[arg-type]
            per_worker = counts["tokens"] / counts["busy_seconds"]
            runs.append(
                {
                    "workers": w,
                    "seconds": counts["seconds"],
                    "busy_seconds": counts["busy_seconds"],
                    "tokens": counts["tokens"],
                    "tokens_per_second": counts["tokens_per_second"],
                    "per_worker_tokens_per_second": per_worker,
                    "startup_and_overhead_seconds": counts["seconds"] - counts["busy_seconds"] / w,
                    "documents": counts["documents"],
                    "shards": counts["shards"],
                    "equals_single_process": ok,
                    "loadavg_before": before,
                    "loadavg_after": loadavg(),
                }
            )
        ray.shutdown()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    rates = [r["per_worker_tokens_per_second"] for r in runs]
    best, rate = max(rates), min(rates)  # least and most contended; cost from the slower one
    hours = 1_000_000 * args.chunk_tokens / rate / 3600
    best_hours = 1_000_000 * args.chunk_tokens / best / 3600
    result = {
        "passages": len(rows),
        "tokens": tokens,
        "mean_tokens_per_passage": tokens / len(rows),
        "batch_size": args.batch_size,
        "cpu_count": os.cpu_count(),
        "loadavg_start": load0,
        "single_process": single,
        "runs": runs,
        "caveat": CAVEAT,
        "extrapolation": {
            "chunk_tokens": args.chunk_tokens,
            "per_worker_tokens_per_second": rate,
            "worker_hours_per_million_chunks": hours,
            "per_worker_tokens_per_second_best": best,
            "worker_hours_per_million_chunks_best": best_hours,
            "usd_per_cpu_hour_assumed": args.usd_per_cpu_hour,
            "usd_per_million_chunks": hours * args.usd_per_cpu_hour,
            "wall_hours_on_32_workers_if_linear": hours / 32,
        },
    }
    print(
        f"warm_dataset on {len(rows)} NQ passages ({tokens} tokens, "
        f"{tokens / len(rows):.0f}/passage), MiniLM, batch {args.batch_size}; "
        f"{os.cpu_count()} CPUs, loadavg at start {' '.join(f'{x:.2f}' for x in load0)}"
    )
    print(f"{'':20}{'wall s':>8}{'tokens/s':>10}{'per worker':>12}{'overhead s':>12}{'load':>7}")
    print(
        f"{'single process':20}{single_s:8.1f}{single['tokens_per_second']:10.0f}"
        f"{single['tokens_per_second']:12.0f}{'':>12}{load0[0] if load0 else 0:7.2f}"
    )
    for r in runs:
        print(
            f"{'ray, ' + str(r['workers']) + ' worker(s)':20}{r['seconds']:8.1f}"
            f"{r['tokens_per_second']:10.0f}{r['per_worker_tokens_per_second']:12.0f}"
            f"{r['startup_and_overhead_seconds']:12.1f}"
            f"{r['loadavg_after'][0] if r['loadavg_after'] else 0:7.2f}"
            + ("" if r["equals_single_process"] else "  MISMATCH")
        )
    print(f"caveat: {CAVEAT}")
    e = result["extrapolation"]
    print(
        f"on paper: 1M chunks x {args.chunk_tokens} tokens at {rate:.0f} tokens/s per worker = "
        f"{hours:.0f} worker-hours ({best_hours:.0f} at the best rate, {best:.0f} tokens/s), "
        f"${e['usd_per_million_chunks']:.2f} at an assumed "
        f"${args.usd_per_cpu_hour}/CPU-hour; {e['wall_hours_on_32_workers_if_linear']:.1f} h "
        "on 32 workers if scaling were linear (not shown here)"
    )
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    return result


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


if __name__ == "__main__":
    main()
