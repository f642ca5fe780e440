"""The report's figures (issue 26): rendered from a small finished run, each fits a browser
window at 100 %, has one legend outside its axes, draws ours last, and gives each peer one colour
in every figure."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("matplotlib")

from benchmarks.report import plots  # noqa: E402
from benchmarks.report.aggregate import aggregate, load_rows  # noqa: E402

METHODS = ["bm25", "doc_dense", "lc_filter", "ours", "ours_no_lexical", "ours_no_merging"]


def _run(folder: Path) -> tuple[Path, Path]:
    """Rows for two data sets (one scored by answers, one by evidence), latency and scaling."""
    rows, latency = [], []
    for ds in ("nq", "clapnq"):
        for i in range(3):
            for k, m in enumerate(METHODS):
                for b in ("2x", "4x", "8x", "16x"):
                    value = max(0.0, 1.0 - 0.04 * int(b[:-1]) - 0.05 * k)
                    rows.append(
                        {
                            "dataset": ds,
                            "item_id": f"{ds}-{i}",
                            "method": m,
                            "budget_label": b,
                            "ratio": float(b[:-1]) * (1.1 if m == "bm25" else 1.0),
                            "answer_recall": value if ds == "nq" else None,
                            "evidence_recall": value,
                            "overrun": 0,
                            "kept_tokens": 100,
                            "original_tokens": 100 * int(b[:-1]),
                        }
                    )
                latency.append(
                    {
                        "dataset": ds,
                        "method": m,
                        "input_tokens": 500 if ds == "nq" else 150,
                        "cold_s": 0.01 * (k + 1),
                    }
                )
    scaling = [
        {"input_tokens": n, "seconds": n / 4000, "encoder_pass_s": n / 3500} for n in (1e3, 1e4)
    ]
    jsonl, meta = folder / "t.jsonl", folder / "t.meta.json"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    meta.write_text(json.dumps({"latency": latency, "scaling": {"rows": scaling}}))
    return jsonl, meta


def _png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


def test_every_figure_fits_a_browser_window_with_one_legend_outside_the_axes(tmp_path) -> None:
    jsonl, meta_path = _run(tmp_path)
    agg = aggregate(load_rows(jsonl))
    meta = json.loads(meta_path.read_text())
    paths = plots.write_plots(agg, meta, ["nq", "clapnq"], METHODS, tmp_path, "t")
    assert [p.name for p in paths] == [
        "t_recall_vs_ratio.png",
        "t_ablations.png",
        "t_latency_vs_size.png",
    ]
    for p in paths:
        width, height = _png_size(p)
        assert width <= 1600 and height <= 1000, (p.name, width, height)
    figures = [
        plots.recall_figure(agg, ["nq", "clapnq"], METHODS),
        plots.ablation_figure(agg, ["nq", "clapnq"], METHODS),
        plots.latency_figure(meta),
    ]
    for fig in figures:
        assert fig is not None
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        axes = [ax for ax in fig.axes if ax.get_visible()]
        assert len(fig.legends) == 1 and all(ax.get_legend() is None for ax in axes)
        box = fig.legends[0].get_window_extent(renderer)
        for ax in axes:
            assert not box.overlaps(ax.get_window_extent(renderer)), "the legend covers a panel"
        assert all(ax.get_title() or fig.get_suptitle() for ax in axes)
        assert all(ax.get_xlabel() for ax in axes[-1:]) and (
            any(ax.get_ylabel() for ax in axes) or fig.get_supylabel()
        )


def _ours_on_top(ax: Any) -> bool:
    lines = sorted(ax.lines, key=lambda line: line.get_zorder())  # the order they are drawn
    top = lines[-1]
    return top.get_label() == "ours (semtoken-rag)" and top.get_zorder() > lines[-2].get_zorder()


def test_ours_is_drawn_last_and_bold_and_each_peer_keeps_its_colour(tmp_path) -> None:
    jsonl, meta_path = _run(tmp_path)
    agg = aggregate(load_rows(jsonl))
    recall = plots.recall_figure(agg, ["nq", "clapnq"], METHODS)
    latency = plots.latency_figure(json.loads(meta_path.read_text()))
    assert latency is not None
    for ax in recall.axes[:2]:
        assert _ours_on_top(ax)
        ours = next(line for line in ax.lines if line.get_label().startswith("ours"))
        assert ours.get_linewidth() >= 2 * plots.PEER_LINE["lw"]  # bold; peers muted
        assert not any(line.get_label().startswith("ours without") for line in ax.lines)
    colours = {}
    for ax in [*recall.axes[:2], *latency.axes]:
        for line in ax.lines:
            colours.setdefault(line.get_label(), set()).add(line.get_color())
    assert colours["sentence BM25"] == {plots.PEER_STYLE["bm25"]["color"]}
    assert all(len(c) == 1 for c in colours.values()), colours
