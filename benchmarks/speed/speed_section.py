"""Markdown for ``benchmarks/results/speed.json`` (:mod:`benchmarks.speed`): a section to paste
into BENCHMARKS.md.

Run:  python -m benchmarks.speed.speed_section benchmarks/results/speed.json > speed.md
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _f(x: Any, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x:,.{digits}f}"


def markdown(res: dict[str, Any]) -> str:
    parts = res["parts"]
    m = res["machine"]
    lines = [
        "## Speed: encoder backends, threads, scale (issue 14)",
        "",
        f"Command: `{res['command']}`. Machine: {m.get('cpu', '?')}, {m.get('cores')} cores "
        f"(shared with other jobs: load average given per part), Python {m.get('python')}, torch "
        f"{m.get('torch')}, onnxruntime {m.get('onnxruntime')}, openvino {m.get('openvino')}. "
        "Each part ran in its own process; compare ratios within this run.",
        "",
        "### Backends",
        "",
        "| backend | identity | load s | encoder tokens/s | x torch | cold ms (NQ-20 p50) | "
        "warm ms (p50 / p95) | warm / cold | loadavg |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    torch = parts.get("backend/torch", {})
    for key, b in sorted(parts.items()):
        if not key.startswith("backend/") or "error" in b:
            continue
        speed = b["tokens_per_s"] / torch["tokens_per_s"] if "tokens_per_s" in torch else None
        lines.append(
            f"| {b['backend']} | `{b['identity']}` | {_f(b['load_s'], 2)} | "
            f"{_f(b['tokens_per_s'], 0)} | {_f(speed, 2)} | {_f(b['cold_ms_p50'], 0)} | "
            f"{_f(b['warm_ms_p50'])} / {_f(b['warm_ms_p95'])} | "
            f"{b['warm_ms_p50'] / b['cold_ms_p50']:.1%} | {b['loadavg_before'].split()[0]} |"
        )
    lines += ["", "Answer recall (%) per set and budget; Δ = backend minus torch fp32.", ""]
    sets = sorted(
        {
            s
            for k, b in parts.items()
            if k.startswith("backend/")
            for s in b.get("answer_recall", {})
        }
    )
    header = "| backend | " + " | ".join(f"{s} {r}" for s in sets for r in ("4x", "8x", "16x"))
    lines += [header + " |", "|---|" + "---|" * (3 * len(sets))]
    for key, b in sorted(parts.items()):
        if not key.startswith("backend/") or "error" in b:
            continue
        cells = []
        for s in sets:
            for r in ("4x", "8x", "16x"):
                v = b["answer_recall"].get(s, {}).get(r)
                ref = torch.get("answer_recall", {}).get(s, {}).get(r)
                delta = "" if b is torch or v is None or ref is None else f" (Δ {v - ref:+.1f})"
                cells.append(f"{_f(v)}{delta}")
        lines.append(f"| {b['backend']} | " + " | ".join(cells) + " |")
    items = {s: torch.get("answer_recall", {}).get(s, {}).get("items") for s in sets}
    lines += ["", "Items: " + ", ".join(f"{s} {n}" for s, n in items.items()) + ".", ""]
    lines += [
        "### Threads: 16 threads sharing one compressor",
        "",
        "| backend | policy | 1 thread s | 16 threads s | throughput 16 / 1 | same results |",
        "|---|---|---|---|---|---|",
    ]
    for key, t in sorted(parts.items()):
        if not key.startswith("threads/") or "error" in t:
            continue
        for label in ("auto", "fixed_cores"):
            r = t[label]
            lines.append(
                f"| {t['backend']} | {label} | {_f(r['one_thread_s'], 2)} | "
                f"{_f(r['sixteen_threads_s'], 2)} | {_f(r['throughput_ratio'], 2)} | "
                f"{r['same_results']} |"
            )
    for key, sc in sorted(parts.items()):
        if not key.startswith("scale/"):
            continue
        lines += [
            "",
            f"### Scale ({sc['backend']}; each size in a fresh process; "
            f"slope {_f(sc['slope'], 3)})",
            "",
            "| input tokens | docs | seconds | tokens/s | peak RSS MB | encode s "
            "| other stages s |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in sc["rows"]:
            if "error" in r:
                lines.append(f"| {r['target_tokens']:,} | error | | | | | |")
                continue
            enc = r["timings"].get("encode", 0.0)
            lines.append(
                f"| {r['input_tokens']:,} | {r['documents']:,} | {_f(r['seconds'], 2)} | "
                f"{_f(r['input_tokens'] / r['seconds'], 0)} | {_f(r['peak_rss_mb'], 0)} | "
                f"{_f(enc, 2)} | {_f(r['seconds'] - enc, 2)} |"
            )
    for key, c in sorted(parts.items()):
        if not key.startswith("cache/") or "error" in c:
            continue
        lines += [
            "",
            f"### A persistent cache of {c['spans']:,} spans ({key.split('/')[1]})",
            "",
            "| save s | disk MB | load s (fresh process) | RSS after load MB | lookup µs/doc | "
            "warm ms, 1M cache | warm ms, small cache |",
            "|---|---|---|---|---|---|---|",
            f"| {_f(c['save_s'], 2)} | {_f(c['disk_mb'], 0)} | {_f(c['load_s'], 2)} | "
            f"{_f(c['rss_after_load_mb'], 0)} | {_f(c['lookup_us'], 0)} | "
            f"{_f(c['warm_ms_p50_1m_cache'])} | {_f(c['warm_ms_p50_small_cache'])} |",
        ]
    lines += ["", f"Load average after the run: {res.get('loadavg_after', 'n/a')}.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        print(markdown(json.load(f)))
