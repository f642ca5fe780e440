"""The calibration section (issue 24), read from an optional JSON file beside the results
(``<results>/tuning/calibration.json``, written by ``python -m benchmarks.tuning.calibrate``)::

    {"command": "python -m benchmarks.tuning.calibrate ...",
     "sets": [...], "renderings": [...],
     "folds": [{"held_out": "hotpotqa",        # scored by the fit on the other sets
                "ece": 0.04,                   # expected calibration error of span scores
                "base_rate": 0.12,             # share of spans that hold evidence
                "mean_score": 0.13,            # mean span score
                "auc_doc": 0.91,               # document AUC of relevance_score (best span's)
                "auc_cosine": 0.88,            # the EmbeddingsFilter cosine's (NaN: not scored)
                "prior": 0.75}, ...]}          # the document-count prior's weight it chose
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .aggregate import NAMES
from .tables import table

#: Issue 24's targets: expected calibration error at most this on every fold.
ECE_TARGET = 0.10


def _num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _cell(x: float | None, miss: bool = False) -> str:
    return "n/a" if x is None else f"{x:.3f}" + (" **miss**" if miss else "")


def fold_row(f: dict[str, Any]) -> tuple[list[str], int]:
    """One held-out set's table row, and how many of its targets it misses."""
    ece, ours, cos = _num(f.get("ece")), _num(f.get("auc_doc")), _num(f.get("auc_cosine"))
    ece_miss = ece is not None and ece > ECE_TARGET
    auc_miss = ours is not None and cos is not None and ours < cos
    ds = str(f["held_out"])
    prior = _num(f.get("prior"))
    row = [
        NAMES.get(ds, ds),
        "n/a" if prior is None else f"{prior:.2f}",
        _cell(ece, ece_miss),
        _cell(_num(f.get("base_rate"))),
        _cell(_num(f.get("mean_score"))),
        _cell(ours, auc_miss),
        _cell(cos),
    ]
    return row, int(ece_miss) + int(auc_miss)


def calibration_lines(path: Path, shown: str) -> list[str]:
    """The "Calibration" section from the file at ``path`` (named ``shown`` in the text); one
    line saying so when the file does not exist or cannot be read."""
    out = ["## Calibration (span scores and document relevance)", ""]
    if not path.is_file():
        return out + [f"Not available for this run (no `{shown}`).", ""]
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = [fold_row(f) for f in data["folds"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        return out + [f"`{shown}` could not be read: {e}", ""]
    misses = sum(m for _, m in rows)
    renderings = ", ".join(f"`{r}`" for r in data.get("renderings") or []) or "(not recorded)"
    return out + [
        f"From `{shown}`" + (f", made by `{data['command']}`" if data.get("command") else "") + ".",
        "",
        "Each held-out set is scored by the calibration fitted on the other sets alone (spans "
        f"of every item in the renderings {renderings}, at 4x / 8x / 16x). ECE = expected "
        "calibration error of span scores against the label *the span holds evidence*, 10 "
        "equal-width bins; document AUC = the area under the ROC curve of `relevance_score` "
        "(a document's best span score), gold documents against the rest, pooled over the set's "
        "items; beside it the same AUC of the LangChain EmbeddingsFilter cosine (MiniLM, query "
        "against the whole document). Prior weight = the weight of the input's document count "
        "(its log) that the fold chose on the other sets alone (`PRIORS` in "
        f"`benchmarks/tuning/calibrate.py`). Targets (issue 24): ECE <= {ECE_TARGET:.2f} on every "
        "fold, and document AUC >= the cosine's on every set; a value that misses is marked "
        f"**miss** ({misses} in this table).",
        "",
        *table(
            [
                "held-out set",
                "prior weight",
                "ECE (10 bins)",
                "evidence base rate",
                "mean span score",
                "document AUC, ours",
                "document AUC, cosine",
            ],
            [r for r, _ in rows],
        ),
    ]
