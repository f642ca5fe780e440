"""Latency, encoder throughput and scaling measurements (no embedding memo: real cold costs)."""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from .methods import Docs, Methods, Tokens

#: Named model shape for the labelled LLM estimates: Llama-3-8B (32 layers, 8 KV heads of dim 128,
#: fp16): 2 (K and V) x 32 x 8 x 128 x 2 bytes = 128 KiB of KV cache per token; ~8.03e9 parameters.
LLM_SHAPE = {
    "name": "Llama-3-8B (fp16)",
    "layers": 32,
    "kv_heads": 8,
    "head_dim": 128,
    "bytes_per_value": 2,
    "params": 8.03e9,
}


def kv_bytes_per_token(shape: dict[str, Any] = LLM_SHAPE) -> int:
    return 2 * shape["layers"] * shape["kv_heads"] * shape["head_dim"] * shape["bytes_per_value"]


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (MiB): ``VmHWM`` of ``/proc/self/status``.
    ``ru_maxrss`` is not used where ``/proc`` exists: a child started by fork + exec inherits its
    parent's peak in it, so every "fresh process" reported the parent's RSS."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def encoder_pass(model: Any, texts: Sequence[str], batch_size: int = 32) -> tuple[float, int]:
    """Time of one MiniLM forward pass over every token of ``texts`` (windows of the model's
    maximum length, batches of 32 sorted by length). Returns (seconds, MiniLM tokens)."""
    import torch

    tok = model.tokenizer
    limit = min(int(model.max_seq_length or 256), 512) - 2
    windows: list[list[int]] = []
    n_tokens = 0
    t0 = time.perf_counter()
    for text in texts:
        ids = tok(text, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
        n_tokens += len(ids)
        for s in range(0, max(len(ids), 1), limit):
            windows.append([tok.cls_token_id, *ids[s : s + limit], tok.sep_token_id])
    windows.sort(key=len)
    auto = model[0].auto_model
    for b in range(0, len(windows), batch_size):
        batch = windows[b : b + batch_size]
        width = max(len(w) for w in batch)
        ids_t = torch.zeros((len(batch), width), dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, w in enumerate(batch):
            ids_t[i, : len(w)] = torch.tensor(w)
            mask[i, : len(w)] = 1
        with torch.inference_mode():
            auto(input_ids=ids_t, attention_mask=mask)
    return time.perf_counter() - t0, n_tokens


def latency(
    methods: Methods, names: Sequence[str], items: Sequence[dict[str, Any]], ratio: int = 4
) -> list[dict[str, Any]]:
    """Cold and warm seconds per item and method, plus the one-encoder-pass reference.

    Cold: ours with a fresh compressor (empty cache); peers as they are (no cache exists in them).
    Warm: the same call again with the same documents (ours hits its fingerprint cache).
    The shared embedding memo is off throughout.
    """
    memo, methods.minilm.memo = methods.minilm.memo, None
    rows: list[dict[str, Any]] = []
    try:
        for item in items:
            docs: Docs = item["documents"]
            texts = [t for t, _ in docs]
            original = sum(methods.tokens.count(t) for t in texts)
            budget = max(1, original // ratio)
            enc_s, enc_tokens = encoder_pass(methods.minilm.model, texts)
            query = item["query"]
            for name in names:
                if name == "none":
                    continue
                if name.startswith("ours"):
                    comp = methods.ours_compressor(name, fresh=True)
                    call = partial(_call_ours, comp, query, list(docs), budget)
                else:
                    call = partial(methods.get(name), query, docs, budget)
                t = time.perf_counter()
                call()
                cold = time.perf_counter() - t
                t = time.perf_counter()
                call()
                warm = time.perf_counter() - t
                rows.append(
                    {
                        "dataset": item["dataset"],
                        "item_id": item["id"],
                        "method": name,
                        "input_tokens": original,
                        "encoder_tokens": enc_tokens,
                        "cold_s": cold,
                        "warm_s": warm,
                        "encoder_pass_s": enc_s,
                    }
                )
    finally:
        methods.minilm.memo = memo
    return rows


def _call_ours(comp: Any, query: str, docs: list[Any], budget: int) -> Any:
    return comp.compress(query, docs, budget=budget)


def scaling_documents(total_tokens: int, tokens: Tokens, chunk_tokens: int = 256) -> list[str]:
    """About ``total_tokens`` cl100k tokens of real text (QMSum turns, NQ and CLAPNQ passages), as
    RAG-sized chunks of ~``chunk_tokens`` tokens, no piece repeated."""
    from .datasets import scaling_text

    docs: list[str] = []
    cur: list[str] = []
    cur_n = total = 0
    for piece in scaling_text():
        n = tokens.count(piece) + 1
        cur.append(piece)
        cur_n += n
        if cur_n >= chunk_tokens:
            docs.append("\n".join(cur))
            total += cur_n
            cur, cur_n = [], 0
            if total >= total_tokens:
                return docs
    if cur:
        docs.append("\n".join(cur))
        total += cur_n
    if total < total_tokens:
        raise ValueError(f"only {total} tokens of real text available, asked for {total_tokens}")
    return docs


def scaling(
    sizes: Sequence[int],
    query: str = "What did the group decide about the budget?",
    with_encoder_pass: bool = True,
    backend: str = "torch",
) -> dict[str, Any]:
    """Cold compression time of ours (default preset, fresh compressor, ``backend``) at each input
    size, 4x. Run one size per process (``python -m benchmarks.measure SIZE``) for its own peak
    RSS: ``peak_rss_mb`` is this process's peak so far. Only ``backend``'s model is loaded (the
    torch one too when ``with_encoder_pass``)."""
    from semtoken_rag import SemTokenCompressor, SemTokenConfig

    from .methods import Tokens

    tokens = Tokens()
    methods = None
    if with_encoder_pass:
        methods = Methods()
        methods.minilm.memo = None
        encoder_pass(methods.minilm.model, ["warm up the model once"])
    cfg = SemTokenConfig(backend=backend)  # type: ignore[arg-type]
    shared = methods.minilm.model if methods is not None and backend == "torch" else None
    warm = SemTokenCompressor(cfg, encoder=shared)  # one torch model, not two
    warm.compress("warm up", ["Load the model once. Then time it."], ratio=0.5)
    rss_loaded = peak_rss_mb()
    rows = []
    for size in sorted(sizes):
        docs = scaling_documents(size, tokens)
        original = sum(tokens.count(d) for d in docs)
        comp = SemTokenCompressor(warm.config, encoder=warm.encoder)
        t = time.perf_counter()
        r = comp.compress(query, docs, budget=original // 4)
        secs = time.perf_counter() - t
        row = {
            "target_tokens": size,
            "input_tokens": original,
            "documents": len(docs),
            "backend": backend,
            "seconds": secs,
            "kept_tokens": r.kept_tokens,
            "rss_after_load_mb": rss_loaded,
            "peak_rss_mb": peak_rss_mb(),
            "timings": dict(r.timings),
        }
        if methods is not None:
            row["encoder_pass_s"], row["encoder_tokens"] = encoder_pass(methods.minilm.model, docs)
        rows.append(row)
        del comp, r
    slope = None
    if len(rows) >= 2:
        x = np.log([r["input_tokens"] for r in rows])
        slope = float(np.polyfit(x, np.log([r["seconds"] for r in rows]), 1)[0])
    return {"rows": rows, "slope": slope, "query": query}


def main() -> None:  # python -m benchmarks.measure [--no-encoder-pass] SIZE ... > json
    import argparse

    ap = argparse.ArgumentParser(description="cold compression time and peak RSS per size")
    ap.add_argument("sizes", nargs="+", type=int)
    ap.add_argument("--no-encoder-pass", action="store_true")
    ap.add_argument("--backend", help="default: $SEMTOKEN_BENCH_BACKEND or the core default")
    args = ap.parse_args()
    import os

    from semtoken_rag import SemTokenConfig

    backend = args.backend or os.environ.get("SEMTOKEN_BENCH_BACKEND") or SemTokenConfig().backend
    print(
        json.dumps(scaling(args.sizes, with_encoder_pass=not args.no_encoder_pass, backend=backend))
    )


if __name__ == "__main__":
    main()
