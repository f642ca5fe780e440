"""The PNG plots: recall against achieved compression per data set, latency against input size."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from .aggregate import NAMES, Agg


def write_plots(
    agg: Agg,
    meta: dict[str, Any],
    datasets: list[str],
    methods: list[str],
    plot_dir: Path,
    stem: str,
) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    ratio_b = ["2x", "4x", "8x", "16x"]
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.8), squeeze=False)
    for ax, ds in zip(axes[0], datasets, strict=False):
        has_ans = any(a["answer_recall"] is not None for (d, _, _), a in agg.items() if d == ds)
        metric = "answer_recall" if has_ans else "evidence_recall"
        for m in methods:
            pts = [
                (agg[(ds, m, b)]["ratio"], agg[(ds, m, b)][metric])
                for b in ratio_b
                if (ds, m, b) in agg and agg[(ds, m, b)][metric] is not None
            ]
            if pts:
                x, y = zip(*pts, strict=True)
                ax.plot(x, y, marker="o", label=m, lw=2.2 if m == "ours" else 1.0)
        ax.set_xscale("log", base=2)
        ax.set_title(f"{NAMES.get(ds, ds)}")
        ax.set_xlabel("achieved compression (input/kept tokens)")
        ax.set_ylabel(metric.replace("_", " "))
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    p = plot_dir / f"{stem}_recall_vs_ratio.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    paths.append(p)

    lat = meta.get("latency", [])
    sc = (meta.get("scaling") or {}).get("rows", [])
    if lat or sc:
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        by: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for r in lat:
            by[r["method"]].append((r["input_tokens"], r["cold_s"]))
        for m, pts in sorted(by.items()):
            x, y = zip(*pts, strict=True)
            ax.scatter(x, y, s=14, label=f"{m} (cold, items)")
        if sc:
            ax.plot(
                [r["input_tokens"] for r in sc],
                [r["seconds"] for r in sc],
                "k-o",
                label="ours scaling (cold)",
            )
            if all(r.get("encoder_pass_s") for r in sc):
                ax.plot(
                    [r["input_tokens"] for r in sc],
                    [r["encoder_pass_s"] for r in sc],
                    "k--",
                    label="one MiniLM pass",
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("input tokens (cl100k)")
        ax.set_ylabel("seconds")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
        fig.tight_layout()
        p = plot_dir / f"{stem}_latency_vs_size.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)
    return paths
