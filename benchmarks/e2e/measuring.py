"""What :mod:`benchmarks.e2e` measures with: the machine and its load, thread settings, timings
and their percentiles, the query loop, retrieval hit rate, the cache's numbers."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from semtoken_rag import FingerprintCache

from .corpus import Question

Timed = dict[str, list[float]]


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def machine() -> dict[str, Any]:
    import torch

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
    }


def set_threads(n: int) -> None:
    """Torch's and faiss's OpenMP threads (in this thread, where everything runs)."""
    import torch

    torch.set_num_threads(n)
    try:
        import faiss
    except ImportError:  # pragma: no cover - faiss-cpu is a core dependency
        return
    faiss.omp_set_num_threads(n)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def stats(xs: list[float]) -> dict[str, float]:
    a = np.array(xs, dtype=np.float64) * 1e3
    return {"p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95))}


def query_loop(
    questions: list[Question], paths: dict[str, Callable[[str], Any]], ids: Callable[[Any], list]
) -> tuple[dict[str, dict[str, float]], dict[str, list[list[str]]], dict[str, list[str]]]:
    """Each path once per question, interleaved (load drifts hit them alike); after one untimed
    warm-up call each. Returns percentiles, the ids each returned, and their kept texts."""
    for fn in paths.values():
        fn("warm up the model and the store")
    times: Timed = {name: [] for name in paths}
    got: dict[str, list[list[str]]] = {name: [] for name in paths}
    texts: dict[str, list[str]] = {name: [] for name in paths}
    for q in questions:
        for name, fn in paths.items():
            out, dt = timed(lambda fn=fn, text=q.text: fn(text))  # type: ignore[misc]
            times[name].append(dt)
            if isinstance(out, list):
                got[name].append(ids(out))
                texts[name].append("\n".join(_text(x) for x in out))
    return {n: stats(v) for n, v in times.items()}, got, texts


def _text(x: Any) -> str:
    node = getattr(x, "node", None)
    return node.get_content() if node is not None else str(getattr(x, "page_content", x))


def hit_rate(questions: list[Question], retrieved: list[list[str]]) -> float | None:
    """Share of questions (with a gold chunk in the corpus) with one among the retrieved."""
    pairs = [(set(q.gold), set(r)) for q, r in zip(questions, retrieved, strict=True) if q.gold]
    return sum(1 for g, r in pairs if g & r) / len(pairs) if pairs else None


def cache_numbers(cache: FingerprintCache, saved: float, loaded: float) -> dict[str, Any]:
    s = cache.stats()
    return {
        "documents": int(s["documents"]),
        "spans": int(s["entries"]),
        "disk_bytes": int(s["disk_bytes"]),
        "disk_bytes_per_chunk": s["disk_bytes"] / max(1, s["documents"]),
        "spans_per_chunk": s["entries"] / max(1, s["documents"]),
        "save_s": saved,
        "load_s": loaded,
    }
