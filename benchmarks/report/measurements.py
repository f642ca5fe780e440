"""The measurement sections: latency per query (cold, warm, one encoder pass), scaling with input
size, and the labelled LLM estimates (KV cache, prefill compute) computed from kept tokens."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from ..measure import LLM_SHAPE, kv_bytes_per_token
from .aggregate import Agg
from .tables import fmt, table


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q)) if xs else float("nan")


def latency_lines(meta: dict[str, Any]) -> list[str]:
    lat = meta.get("latency", [])
    if not lat:
        return ["## Latency", "", "Not measured in this run.", ""]
    out = [
        "## Latency (per query, seconds, budget 4x, no embedding memo)",
        "",
        "Cold: ours with a fresh compressor (empty cache); peers have no cache. Warm: the same "
        "call again with the same documents. Encoder pass: one MiniLM forward over every token "
        "of the input (256-token windows, batch 32), the floor for any method that embeds it "
        "all.",
        "",
    ]
    body = []
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in lat:
        groups[(r["dataset"], r["method"])].append(r)
    for (ds, m), g in sorted(groups.items()):
        cold = [r["cold_s"] for r in g]
        warm = [r["warm_s"] for r in g]
        enc = [r["encoder_pass_s"] for r in g]
        body.append(
            [
                ds,
                m,
                str(len(g)),
                f"{np.mean([r['input_tokens'] for r in g]):.0f}",
                f"{_pct(cold, 50):.3f}",
                f"{_pct(cold, 95):.3f}",
                f"{_pct(warm, 50):.3f}",
                f"{_pct(warm, 95):.3f}",
                f"{_pct(enc, 50):.3f}",
            ]
        )
    out += table(
        [
            "data",
            "method",
            "items",
            "input tokens",
            "cold p50",
            "cold p95",
            "warm p50",
            "warm p95",
            "encoder pass p50",
        ],
        body,
    )
    seen: dict[str, tuple[float, int]] = {}
    for r in lat:
        seen[r["item_id"]] = (r["encoder_pass_s"], r["encoder_tokens"])
    secs = sum(s for s, _ in seen.values())
    toks = sum(n for _, n in seen.values())
    if secs > 0:
        out += [
            f"Encoder throughput (MiniLM, this machine, this run): {toks / secs:,.0f} MiniLM "
            f"tokens/s over {toks:,} tokens.",
            "",
        ]
    return out


def scaling_lines(meta: dict[str, Any]) -> list[str]:
    sc = meta.get("scaling")
    if not sc:
        return ["## Scaling", "", "Not run (`--scaling-max 0`).", ""]
    if "error" in sc:
        return ["## Scaling", "", "The scaling run failed:", "", "```", sc["error"], "```", ""]
    out = [
        "## Scaling (ours, default preset, cold, budget 4x)",
        "",
        "Real text (QMSum turns, then NQ and CLAPNQ passages, never repeated) in ~256-token "
        f"chunks; query `{sc['query']}`. Run in a separate process (its own peak RSS).",
        "",
    ]
    body = [
        [
            f"{r['input_tokens']:,}",
            str(r["documents"]),
            f"{r['seconds']:.2f}",
            fmt(r.get("encoder_pass_s"), 2),
            f"{r['input_tokens'] / r['seconds']:,.0f}",
            f"{r['peak_rss_mb']:.0f}",
        ]
        for r in sc["rows"]
    ]
    out += table(
        ["input tokens", "documents", "seconds", "encoder pass s", "tokens/s", "peak RSS MiB"], body
    )
    return out + [f"Log-log slope of time vs input tokens: **{fmt(sc.get('slope'), 2)}**.", ""]


def estimate_lines(agg: Agg, datasets: list[str], budgets: list[str]) -> list[str]:
    per_tok = kv_bytes_per_token()
    out = [
        "## LLM estimates (ESTIMATES, not measurements)",
        "",
        f"Computed from kept tokens for a named model shape, {LLM_SHAPE['name']}: "
        f"{LLM_SHAPE['layers']} layers, {LLM_SHAPE['kv_heads']} KV heads of dim "
        f"{LLM_SHAPE['head_dim']}, {per_tok // 1024} KiB of KV cache per token; prefill "
        f"compute ~ 2 x {LLM_SHAPE['params']:.2e} FLOPs per token (attention term ignored). No "
        "LLM was run: no perplexity, F1 or measured LLM latency is reported.",
        "",
    ]
    body = []
    for ds in datasets:
        base = agg.get((ds, "none", "none"))
        if base is None:
            base_tok = next((a["original_tokens"] for (d, _, _), a in agg.items() if d == ds), 0)
        else:
            base_tok = base["kept_tokens"]
        for b in budgets:
            a = agg.get((ds, "ours", b))
            if a is None:
                continue
            k = a["kept_tokens"]
            body.append(
                [
                    ds,
                    b,
                    f"{base_tok:.0f}",
                    f"{k:.0f}",
                    f"{base_tok * per_tok / 2**20:.0f} -> {k * per_tok / 2**20:.0f}",
                    f"{2 * LLM_SHAPE['params'] * base_tok / 1e12:.1f} -> "
                    f"{2 * LLM_SHAPE['params'] * k / 1e12:.1f}",
                    f"{base_tok / max(k, 1):.1f}x",
                ]
            )
    if not body:
        return out + ["(ours not run)", ""]
    return out + table(
        [
            "data",
            "budget",
            "input tokens",
            "kept tokens (ours)",
            "est. KV cache MiB",
            "est. prefill TFLOPs",
            "est. prefill speed-up",
        ],
        body,
    )
