"""``python -m benchmarks.report RESULTS_DIR STEM [MARKDOWN]``: re-render a finished run."""

from __future__ import annotations

from .markdown import main

raise SystemExit(main())
