"""The benchmark report, one module per part, in the order a run uses them:

- :mod:`.aggregate`: JSONL rows -> per (data set, method, budget) means; the best peer of a cell
- :mod:`.tables`: Markdown table primitives and each data set's tables
- :mod:`.targets`: quality targets against floors and the best peer; speed targets
- :mod:`.compare`: ours minus the best peer per cell (the worst margin), ablations
- :mod:`.layout_table`: the layout table (each set in each rendering, ours against the best peer on
  the same rendering, ours' spread across renderings), from the ``layout`` part's rows
- :mod:`.tight`: the tight-budget table (24 / 48 / 96 tokens), from the ``tight`` part's rows
- :mod:`.lodo`: the LODO tables, from the optional ``tuning/layouts/lodo-4x-8x-16x.json`` beside
  the results (written by ``python -m benchmarks.tuning.layouts lodo``)
- :mod:`.calibration`: the calibration table, from the optional ``tuning/calibration.json``
- :mod:`.provenance`: the tuning table (``SemTokenConfig().tuning``, when the core has one)
- :mod:`.measurements`: latency, scaling, labelled LLM estimates
- :mod:`.plots`: the PNG plots
- :mod:`.markdown`: assembles the report (:func:`write_report`) and re-renders a finished run

``python -m benchmarks.report RESULTS_DIR STEM [MARKDOWN]`` re-renders a run without re-running it.
"""

from __future__ import annotations

from .aggregate import NAMES, aggregate, best_peer, load_rows
from .markdown import main, write_report
from .targets import TARGETS

__all__ = ["NAMES", "TARGETS", "aggregate", "best_peer", "load_rows", "main", "write_report"]
