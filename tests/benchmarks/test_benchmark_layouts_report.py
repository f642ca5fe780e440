"""The report's layout, tight-budget and calibration sections (issues 23 and 24), rendered from a
small synthetic run (rows + meta, no model), and the main sections left as they were."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from benchmarks.report import write_report
from benchmarks.report.compare import paired_interval

ITEMS = ("i0", "i1", "i2", "i3")
#: (data set, part, rendering, method, budget) -> per-item values of the set's primary metric
#: (answer recall for hotpotqa, the share of gold text kept for clapnq), in ITEMS order.
CELLS: dict[tuple[str, str, str, str, str], tuple[float, ...]] = {}
for b in ("4x", "8x"):
    CELLS.update(
        {
            ("hotpotqa", "main", "meta", "ours", b): (1, 1, 1, 0),
            ("hotpotqa", "main", "meta", "bm25", b): (1, 1, 0, 0),
            ("hotpotqa", "main", "meta", "ours_no_entropy", b): (1, 1, 1, 1),  # not a peer
            ("hotpotqa", "layout", "title_line", "ours", b): (1, 1, 0, 0),
            ("hotpotqa", "layout", "title_line", "bm25", b): (1, 1, 1, 0),
            ("hotpotqa", "layout", "title_line", "sbert", b): (1, 0, 0, 0),
            ("hotpotqa", "layout", "wrapped", "ours", b): (1, 1, 1, 0),
            ("hotpotqa", "layout", "wrapped", "bm25", b): (1, 1, 0, 0),
            ("clapnq", "main", "meta", "ours", b): (0.8,) * 4,
            ("clapnq", "main", "meta", "bm25", b): (0.6,) * 4,
            ("clapnq", "layout", "title_line", "ours", b): (0.78,) * 4,
            ("clapnq", "layout", "title_line", "bm25", b): (0.6,) * 4,
        }
    )
CELLS.update(
    {
        ("hotpotqa", "tight", "meta", "ours", "24"): (1, 0, 0, 0),
        ("hotpotqa", "tight", "meta", "bm25", "24"): (1, 1, 0, 0),
        ("hotpotqa", "tight", "meta", "lc_filter", "24"): (0, 0, 0, 0),
        ("hotpotqa", "tight", "meta", "ours", "48"): (1, 1, 1, 0),
        ("hotpotqa", "tight", "meta", "bm25", "48"): (1, 1, 0, 0),
        ("hotpotqa", "tight", "meta", "lc_filter", "48"): (1, 0, 0, 0),
    }
)


def _row(ds: str, part: str, rendering: str, method: str, b: str, item: str, v: float) -> dict:
    gold = ds == "clapnq"
    return {
        "suite": "t",
        "part": part,
        "rendering": rendering,
        "dataset": ds,
        "item_id": item,
        "method": method,
        "budget_label": b,
        "budget": 400 // int(b[:-1]) if b.endswith("x") else int(b),
        "original_tokens": 400,
        "kept_tokens": 100,
        "overrun": 0,
        "ratio": 4.0,
        "answer_recall": None if gold else float(v),
        "answer_recall_any": None if gold else float(v),
        "evidence_recall": 0.5,
        "gold_text": float(v) if gold else 0.125,  # hotpotqa is read on answer recall
        "n_docs": 10,
        "seconds_memo": 0.0,
        "meta": {},
    }


def _write(folder: Path, rows: list[dict[str, Any]]) -> None:
    (folder / "t.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    meta = {
        "command": "python -m benchmarks.run --suite t",
        "started": "2026-01-01T00:00:00",
        "loadavg_start": "0 0 0",
        "machine": {"cpu": "test"},
        "layouts": {"datasets": ["hotpotqa", "clapnq"], "limit": 4},
    }
    (folder / "t.meta.json").write_text(json.dumps(meta))


def _rows() -> list[dict[str, Any]]:
    rows = [
        _row(ds, part, rend, m, b, item, v)
        for (ds, part, rend, m, b), vals in CELLS.items()
        for item, v in zip(ITEMS, vals, strict=True)
    ]
    # a main-run item outside the layout part: its meta cells leave it out (ours 0.6 with it)
    rows += [
        _row("hotpotqa", "main", "meta", m, "4x", "i4", v) for m, v in (("ours", 0), ("bm25", 1))
    ]
    return rows


def _report(folder: Path, rows: list[dict[str, Any]]) -> str:
    _write(folder, rows)
    write_report(folder / "t.jsonl", folder / "t.meta.json", folder / "r.md", folder, "t")
    return (folder / "r.md").read_text()


def _ci(ours: tuple[float, ...], peer: tuple[float, ...]) -> str:
    lo, hi, _ = paired_interval(dict(zip(ITEMS, ours)), dict(zip(ITEMS, peer)))  # type: ignore[misc]
    return f"[{lo:+.3f}, {hi:+.3f}]"


def _section(md: str, title: str) -> str:
    return md.split(f"\n## {title}", 1)[1].split("\n## ", 1)[0]


def test_layout_table_margins_intervals_and_spread(tmp_path: Path) -> None:
    md = _report(tmp_path, _rows())
    layouts = _section(md, "Layouts")
    hp = (
        CELLS[("hotpotqa", "main", "meta", "ours", "4x")],
        CELLS[("hotpotqa", "main", "meta", "bm25", "4x")],
    )
    tl = (
        CELLS[("hotpotqa", "layout", "title_line", "ours", "4x")],
        CELLS[("hotpotqa", "layout", "title_line", "bm25", "4x")],
    )
    # meta: the main run's rows of the layout items only (i4 left out); the ablation is no peer
    meta_cell = f"0.750 vs 0.500 `bm25`: **+0.250** {_ci(*hp)}"
    line_cell = f"0.500 vs 0.750 `bm25`: **-0.250** {_ci(*tl)} miss"
    assert f"| `meta` | {meta_cell} | {meta_cell} |" in layouts
    assert f"| `title_line` | {line_cell} | {line_cell} |" in layouts
    assert (
        "| ours' spread | 0.250 (meta over title_line) miss | 0.250 (meta over title_line) miss |"
        in layouts
    )
    assert "**HotpotQA (distractor)**, answer recall (n = 4 items scored a cell)" in layouts
    # clapnq on the share of gold text kept; a spread within 0.03 is no miss
    clap = "0.800 vs 0.600 `bm25`: **+0.200** [+0.200, +0.200]"
    assert f"| `meta` | {clap} | {clap} |" in layouts
    assert "**CLAPNQ (answerable dev)**, gold text kept" in layouts
    assert (
        "| ours' spread | 0.020 (meta over title_line) | 0.020 (meta over title_line) |" in layouts
    )
    summary = md.split("## The run", 1)[0]
    assert (
        "ours wins 8 of 10 cells (4 clearly), ties 0 and loses 2 (0 clearly); its worst spread "
        "across renderings is 0.250 (HotpotQA (distractor) 4x, target <= 0.03)."
    ) in summary


def test_tight_budget_table_names_every_peer_and_the_margin(tmp_path: Path) -> None:
    tight = _section(_report(tmp_path, _rows()), "Tight budgets")
    c24 = _ci(
        CELLS[("hotpotqa", "tight", "meta", "ours", "24")],
        CELLS[("hotpotqa", "tight", "meta", "bm25", "24")],
    )
    c48 = _ci(
        CELLS[("hotpotqa", "tight", "meta", "ours", "48")],
        CELLS[("hotpotqa", "tight", "meta", "bm25", "48")],
    )
    assert (
        "| data set | metric | budget | ours | bm25 | lc_filter | ours - best peer [95 %] |"
        in tight
    )
    assert (
        "| HotpotQA (distractor) | answer recall | 24 | 0.250 | 0.500 | 0.000 | "
        f"**-0.250** {c24} miss (`bm25`) |" in tight
    )
    assert (
        "| HotpotQA (distractor) | answer recall | 48 | 0.750 | 0.500 | 0.250 | "
        f"**+0.250** {c48} (`bm25`) |" in tight
    )


def test_main_sections_read_the_main_part_alone(tmp_path: Path) -> None:
    """The layout and tight rows change no main table, plot or margin: the report of the whole
    run, less its two new sections and the summary's layout line, is the main part's report."""
    rows = _rows()
    (tmp_path / "all").mkdir()
    (tmp_path / "main").mkdir()
    whole = _report(tmp_path / "all", rows)
    main = _report(tmp_path / "main", [r for r in rows if r["part"] == "main"])

    def strip(md: str) -> str:
        for title in ("Layouts", "Tight budgets"):
            md = md.replace(f"\n## {title}" + _section(md, title), "")
        return re.sub(r"\n\*\*Layouts\*\*[^\n]*\n", "", md)

    assert "Not measured in this run (no layout part)." in main
    assert "\n**Layouts**" in whole and "\n**Layouts**" not in main
    assert strip(whole) == strip(main)
    assert "| ours_no_entropy |" in whole  # the ablation table is there, from the main rows


def test_calibration_table_marks_the_misses(tmp_path: Path) -> None:
    (tmp_path / "tuning").mkdir()
    folds = [
        {"held_out": "hotpotqa", "ece": 0.04, "base_rate": 0.1, "mean_score": 0.11,
         "auc_doc": 0.9, "auc_cosine": 0.85, "prior": 0.75},
        {"held_out": "clapnq", "ece": 0.15, "base_rate": 0.2, "mean_score": 0.3,
         "auc_doc": 0.8, "auc_cosine": math.nan},
        {"held_out": "nq", "ece": 0.1, "base_rate": 0.05, "mean_score": 0.05,
         "auc_doc": 0.7, "auc_cosine": 0.75},
    ]  # fmt: skip
    data = {
        "command": "python -m benchmarks.tuning.calibrate --sets nq hotpotqa clapnq",
        "renderings": ["meta", "wrapped"],
        "folds": folds,
    }
    (tmp_path / "tuning" / "calibration.json").write_text(json.dumps(data))  # NaN as JSON does
    cal = _section(_report(tmp_path, _rows()), "Calibration")
    assert "made by `python -m benchmarks.tuning.calibrate --sets nq hotpotqa clapnq`" in cal
    assert "renderings `meta`, `wrapped`" in cal and "(2 in this table)" in cal
    assert "ECE <= 0.10 on every fold" in cal and "{" not in cal  # every field filled in
    assert "| HotpotQA (distractor) | 0.75 | 0.040 | 0.100 | 0.110 | 0.900 | 0.850 |" in cal
    assert "| CLAPNQ (answerable dev) | n/a | 0.150 **miss** | 0.200 | 0.300 | 0.800 | n/a |" in cal
    assert "| NQ-20 | n/a | 0.100 | 0.050 | 0.050 | 0.700 **miss** | 0.750 |" in cal
    (tmp_path / "tuning" / "calibration.json").write_text('{"folds": [{"ece": 1}]}')
    assert "`tuning/calibration.json` could not be read" in _report(tmp_path, _rows())


def test_calibration_section_says_when_the_file_is_absent(tmp_path: Path) -> None:
    cal = _section(_report(tmp_path, _rows()), "Calibration")
    assert "Not available for this run (no `tuning/calibration.json`)." in cal
