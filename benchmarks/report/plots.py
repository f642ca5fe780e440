"""The PNG plots, each readable at 100 % in a browser (at most :data:`MAX_WIDTH_PX` wide):

- ``<stem>_recall_vs_ratio.png``: per data set, recall against achieved compression, ours
  against the peers;
- ``<stem>_ablations.png``: per data set, each ablation's difference from ours;
- ``<stem>_latency_vs_size.png``: cold time per call against input size.

Ours is bold, in its own colour and drawn last; each peer has one muted colour and marker in
every figure; each figure has one legend, outside its axes.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..methods import ABLATIONS, PEERS, describe
from .aggregate import NAMES, Agg
from .compare import MARGIN_BUDGETS, primary_metric

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 100
MAX_WIDTH_PX = 1500
OURS_COLOUR = "#c0392b"
#: Ours: bold, on top of everything else.
OURS_STYLE: dict[str, Any] = {"color": OURS_COLOUR, "lw": 3.2, "marker": "o", "ms": 7, "zorder": 10}
#: One muted colour and marker per peer, the same in every figure (red is ours alone).
PEER_STYLE: dict[str, dict[str, Any]] = {
    "truncation": {"color": "#8c8c8c", "marker": "v", "ls": "--"},
    "random": {"color": "#ccb974", "marker": ".", "ls": ":"},
    "bm25": {"color": "#4c72b0", "marker": "s"},
    "sbert": {"color": "#64b5cd", "marker": "D"},
    # wide and pale: the LangChain filters rank documents the same way and are drawn over it
    "doc_dense": {"color": "#55a868", "marker": "^", "lw": 5.0, "alpha": 0.45, "zorder": 1},
    "lc_filter": {"color": "#8172b3", "marker": "x"},
    "lc_pipeline": {"color": "#da8bc3", "marker": "+"},
    "llamaindex": {"color": "#937860", "marker": "P"},
    "vecr": {"color": "#dd8452", "marker": "*"},
}
#: What every peer's line shares: thin and translucent.
PEER_LINE: dict[str, Any] = {"lw": 1.4, "ms": 5, "alpha": 0.8, "zorder": 2}
#: One colour per ablation (the ablation figure only).
ABLATION_COLOURS = dict(
    zip(ABLATIONS, ["#4c72b0", "#55a868", "#8172b3", "#dd8452", "#64b5cd", "#937860", "#da8bc3"])
)
#: What each figure shows, printed above it in the report.
CAPTIONS = {
    "recall_vs_ratio": "Recall against the compression each method achieved at the 2x / 4x / "
    "8x / 16x budgets, per data set: ours in bold red, each peer in its own muted colour.",
    "ablations": "Ablations: each variant's recall minus ours at 4x / 8x / 16x, in percentage "
    "points; a bar below the red zero line means the signal switched off helps there.",
    "latency_vs_size": "Cold time per call against input size (log-log): each method's median "
    "per data set, ours on one large input per size, and one MiniLM pass over that input.",
}
_BUDGET_X = {"2x": 2.0, "4x": 4.0, "8x": 8.0, "16x": 16.0}


def _grid(n: int, title: str) -> tuple[Figure, list[Any]]:
    """A figure of ``n`` panels, four per row, with room for a legend below them."""
    import matplotlib.pyplot as plt

    cols = min(4, max(n, 1))
    rows = -(-max(n, 1) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(MAX_WIDTH_PX / DPI, 1.0 + 3.4 * rows), dpi=DPI, squeeze=False
    )
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=13)
    return fig, flat[:n]


def _finish(fig: Figure, handles: list[Any], labels: list[str], ncol: int) -> None:
    """One legend for the figure, below the panels (outside every axes)."""
    rows = -(-len(labels) // ncol)
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False, fontsize=10)
    bottom = (0.35 + 0.28 * rows) / fig.get_figheight()
    fig.tight_layout(rect=(0, bottom, 1, 0.96))


def _style(method: str) -> dict[str, Any]:
    """Ours: :data:`OURS_STYLE`; a peer: its :data:`PEER_STYLE` over the muted defaults."""
    return OURS_STYLE if method == "ours" else {**PEER_LINE, **PEER_STYLE.get(method, {})}


def _metric_label(metric: str) -> str:
    return metric.replace("_", " ")


def _title(agg: Agg, ds: str, metric: str) -> str:
    n = max((a[f"n_{metric.split('_')[0]}"] for (d, _, _), a in agg.items() if d == ds), default=0)
    return f"{NAMES.get(ds, ds)}\n{_metric_label(metric)}, {n} items"


def recall_figure(agg: Agg, datasets: list[str], methods: list[str]) -> Figure:
    """Per data set: recall (answer recall where the set has answers) against the achieved
    compression at each budget; the peers that ran, then ours on top."""
    drawn = [m for m in PEERS if m in methods] + (["ours"] if "ours" in methods else [])
    fig, axes = _grid(len(datasets), "Recall against compression: ours (bold red) and the peers")
    handles: dict[str, Any] = {}
    for i, (ax, ds) in enumerate(zip(axes, datasets, strict=True)):
        metric = primary_metric(agg, ds)
        right = 16.0
        for m in drawn:
            pts = [
                (agg[(ds, m, b)]["ratio"], agg[(ds, m, b)][metric])
                for b in _BUDGET_X
                if (ds, m, b) in agg and agg[(ds, m, b)][metric] is not None
            ]
            if not pts:
                continue
            x, y = zip(*pts, strict=True)
            (line,) = ax.plot(x, y, label=describe(m)[0], **_style(m))
            handles.setdefault(m, line)
            right = max(right, *x)
        ax.set_xscale("log", base=2)
        ticks = [2.0**k for k in range(1, int(np.log2(right * 1.25)) + 1)]
        ax.set_xticks(ticks, [f"{v:g}x" for v in ticks])
        ax.set_xlim(1.6, right * 1.25)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(_title(agg, ds, metric), fontsize=10)
        if i % 4 == 0:
            ax.set_ylabel("recall (share of items, 0-1)")
        if i >= len(datasets) - 4:
            ax.set_xlabel("compression (input / kept tokens)")
        ax.grid(alpha=0.3)
    order = [m for m in drawn if m in handles]
    _finish(fig, [handles[m] for m in order], [describe(m)[0] for m in order], ncol=5)
    return fig


def ablation_figure(agg: Agg, datasets: list[str], methods: list[str]) -> Figure | None:
    """Per data set: each ablation's recall minus ours at 4x / 8x / 16x, in percentage points
    (below zero: the signal it removes helps there); ``None`` when no ablation ran."""
    ran = [v for v in ABLATIONS if v in methods]
    if not ran or "ours" not in methods:
        return None
    title = (
        "Ablations: recall of ours with one signal off, minus ours (below zero: the signal helps)"
    )
    fig, axes = _grid(len(datasets), title)
    budgets = list(MARGIN_BUDGETS)
    width = 0.8 / len(ran)
    handles: dict[str, Any] = {}
    for i, (ax, ds) in enumerate(zip(axes, datasets, strict=True)):
        metric = primary_metric(agg, ds)
        for k, v in enumerate(ran):
            xs, ys = [], []
            for j, b in enumerate(budgets):
                a = agg.get((ds, v, b), {}).get(metric)
                o = agg.get((ds, "ours", b), {}).get(metric)
                if a is not None and o is not None:
                    xs.append(j - 0.4 + width * (k + 0.5))
                    ys.append(100.0 * (a - o))
            if xs:
                colour = ABLATION_COLOURS.get(v)
                bars = ax.bar(xs, ys, width, color=colour, alpha=0.85, zorder=2)
                ax.plot(xs, ys, "o", color=colour, ms=4, mec="white", mew=0.6, zorder=11)
                handles.setdefault(v, bars)
        handles["ours"] = ax.axhline(0.0, color=OURS_COLOUR, lw=2.6, zorder=10)
        ax.set_xticks(range(len(budgets)), budgets)
        ax.set_title(_title(agg, ds, metric), fontsize=10)
        if i >= len(datasets) - 4:
            ax.set_xlabel("budget (input tokens / N)")
        ax.grid(alpha=0.3, axis="y")
    fig.supylabel("recall difference from ours (percentage points)")
    order = [v for v in ran if v in handles] + ["ours"]
    labels = [describe(v)[0] for v in order[:-1]] + ["ours, default config (zero)"]
    _finish(fig, [handles[v] for v in order], labels, ncol=3)
    return fig


def latency_figure(meta: dict[str, Any]) -> Figure | None:
    """Cold seconds per call against input tokens: per method the median over each data set's
    timed items (peers muted, ours bold), ours on one large input per size, and one MiniLM pass
    over the same input; ``None`` when the run timed nothing."""
    import matplotlib.pyplot as plt

    lat = meta.get("latency", [])
    sc = (meta.get("scaling") or {}).get("rows", [])
    if not lat and not sc:
        return None
    fig, ax = plt.subplots(figsize=(11.0, 6.2), dpi=DPI)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in lat:
        groups[(r["method"], r["dataset"])].append(r)
    drawn = [m for m in [*PEERS, "ours"] if any(k[0] == m for k in groups)]
    for m in drawn:
        pts = sorted(
            (
                float(np.median([r["input_tokens"] for r in g])),
                float(np.median([r["cold_s"] for r in g])),
            )
            for (mm, _), g in groups.items()
            if mm == m
        )
        x, y = zip(*pts, strict=True)
        ax.plot(x, y, label=describe(m)[0], **_style(m))
    if sc:
        tokens = [r["input_tokens"] for r in sc]
        ax.plot(tokens, [r["seconds"] for r in sc], label="ours, one large input per size",
                **{**OURS_STYLE, "ls": "--", "marker": "s", "zorder": 11})  # fmt: skip
        if all(r.get("encoder_pass_s") for r in sc):
            ax.plot(tokens, [r["encoder_pass_s"] for r in sc], "k:", lw=1.5,
                    label="one MiniLM pass over the same input", zorder=3)  # fmt: skip
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("input size (cl100k tokens, log scale)")
    ax.set_ylabel("cold time per call (seconds, log scale)")
    fig.suptitle(
        "Cold time per call against input size (median over each data set's timed items; "
        "lower is better)",
        fontsize=12,
    )
    ax.grid(alpha=0.3, which="both")
    fig.legend(loc="center right", frameon=False, fontsize=9)
    fig.tight_layout(rect=(0, 0, 0.72, 0.96))
    return fig


def write_plots(
    agg: Agg,
    meta: dict[str, Any],
    datasets: list[str],
    methods: list[str],
    plot_dir: Path,
    stem: str,
) -> list[Path]:
    """Write the figures of one run into ``plot_dir`` (``<stem>_<name>.png``); their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = {
        "recall_vs_ratio": recall_figure(agg, datasets, methods),
        "ablations": ablation_figure(agg, datasets, methods),
        "latency_vs_size": latency_figure(meta),
    }
    paths = []
    for name, fig in figures.items():
        if fig is None:
            continue
        path = plot_dir / f"{stem}_{name}.png"
        fig.savefig(path, dpi=DPI)
        plt.close(fig)
        paths.append(path)
    return paths
