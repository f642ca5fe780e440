"""The Markdown section of :mod:`benchmarks.e2e` (for BENCHMARKS.md), from its result JSON."""

from __future__ import annotations

from typing import Any

PATHS = (
    ("retrieve", "retrieve (k chunks, query embedding included)"),
    ("encode", "one query encode alone"),
    ("compress", "compress alone, warm (ingested fingerprints)"),
    ("warm", "**retrieve + compress, warm** (ingested fingerprints)"),
    ("cold", "retrieve + compress, cold (no fingerprints)"),
)


def markdown(r: dict[str, Any]) -> str:
    """The section: command, machine, load, corpus, ingestion, query latency, targets."""
    m, c, q = r["machine"], r["corpus"], r["questions"]
    load = lambda key: " ".join(f"{x:.2f}" for x in r.get(key, []))  # noqa: E731
    lines = [
        "## End to end: fingerprint at ingestion, retrieve + compress per question",
        "",
        f"Command: `{r['command'].strip()}` (with `HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1`).",
        f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']} on {m['torch_threads']} "
        f"threads, Python {m['python']}; /proc/loadavg before {load('loadavg_before')}, between "
        f"the frameworks {load('loadavg_mid')}, after {load('loadavg_after')} (a shared "
        "machine: compare ratios within this run, not times across runs).",
        "",
        f"Corpus: {c['chunks']:,} chunks, {c['tokens']:,} cl100k tokens (median "
        f"{c['tokens_per_chunk_p50']:.0f} per chunk): "
        + ", ".join(f"{k} {v:,}" for k, v in c["by_source"].items())
        + f". Questions: {q['n']} ("
        + ", ".join(f"{k} {v}" for k, v in q["by_source"].items())
        + f"), k = {r['k']}, budget {r['budget']} tokens; bundled MiniLM on CPU.",
        "",
        "### Ingestion (whole corpus)",
        "",
        "| framework | path | seconds | chunks/s | vs embed only |",
        "|---|---|---:|---:|---:|",
    ]
    for fw, name in (
        ("langchain", "LangChain InMemoryVectorStore"),
        ("llamaindex", "LlamaIndex VectorStoreIndex"),
    ):
        ing = r[fw]["ingestion"]
        base = ing["embed_only_s"]
        rows = [("embed only (sentence-transformers pooling)", ing["embed_only_s"])]
        if "two_passes_s" in ing:
            rows.append(("fingerprinter, then embed (two passes)", ing["two_passes_s"]))
        rows.append(("fingerprint + embed, one pass", ing["one_pass_s"]))
        for label, secs in rows:
            lines.append(
                f"| {name} | {label} | {secs:.1f} | {c['chunks'] / secs:.1f} | {secs / base:.2f}x |"
            )
    for fw in ("langchain", "llamaindex"):
        k = r[fw]["cache"]
        lines.append("")
        lines.append(
            f"{fw} cache: {k['documents']:,} chunks, {k['spans']:,} spans "
            f"({k['spans_per_chunk']:.1f} per chunk), {k['disk_bytes'] / 1e6:.1f} MB on disk "
            f"({k['disk_bytes_per_chunk'] / 1e3:.1f} kB per chunk); save {k['save_s']:.2f} s, "
            f"read-only load {k['load_s']:.2f} s."
        )
    v = r["langchain"]["vectors"]
    fmt = lambda d: ", ".join(f"{k} {x:.4f}" for k, x in d.items()) or "none"  # noqa: E731
    lines += [
        "",
        "One-pass vectors vs sentence-transformers' own embeddings of the same chunks (cosine): "
        f"all chunks {fmt(v['cosine_all'])}; titled chunks {fmt(v['cosine_titled'])}; untitled "
        f"{fmt(v['cosine_untitled'])}.",
        "",
        "### Per question (p50 / p95 ms)",
        "",
        "| store | "
        + " | ".join(label for _, label in PATHS)
        + " | warm / cold | warm / (retrieve + encode) | misses | gold in top k |",
        "|---|" + "---:|" * (len(PATHS) + 4),
    ]
    for fw in ("langchain", "llamaindex"):
        for store, s in r[fw]["query"].items():
            if "latency" not in s:
                lines.append(f"| {store} | {s.get('skipped', '')} |")
                continue
            lat = s["latency"]
            cells = [f"{lat[p]['p50_ms']:.1f} / {lat[p]['p95_ms']:.1f}" for p, _ in PATHS]
            hit = s["hit_rate"]
            st = s.get("hit_rate_st_pooling")
            hits = (
                "n/a"
                if hit is None
                else f"{hit:.2f}" + (f" (ST vectors {st:.2f})" if st is not None else "")
            )
            lines.append(
                f"| {store} | "
                + " | ".join(cells)
                + f" | {s['warm_over_cold']:.3f} | {s['warm_over_retrieve_plus_encode']:.2f}"
                + f" | {s['cache_misses']} | {hits} |"
            )
    lines += ["", "### Targets (issue 18)", "", "| target | measured | met |", "|---|---:|---|"]
    for t in r["targets"]:
        val = t["value"]
        shown = f"{val:.3f}" if isinstance(val, float) else str(val)
        lines.append(f"| {t['target']} | {shown} | {'yes' if t['met'] else '**no**'} |")
    return "\n".join(lines) + "\n"
