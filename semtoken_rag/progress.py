"""Progress of long calls, for whoever shows it (the CLI's bars), and silence for the progress
bars of the libraries underneath: the library itself never prints.

- :func:`window_progress`: receive the planned and finished encoder windows of the calls made
  in this thread or task while a block runs (the planned count is known once the documents are
  segmented and tokenised, so a bar can show a total and an ETA).
- :func:`no_third_party_bars`: transformers' own bars (its "Loading weights" bar when a model
  loads) switched off for a block, and restored after it.
- :class:`StageClock`: the seconds of each stage of one compress call
  (:attr:`~semtoken_rag.types.CompressionResult.timings`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

WindowReport = Callable[[int, int], None]
"""``report(planned, done)``: windows newly planned, windows newly finished."""

_report: ContextVar[WindowReport | None] = ContextVar("semtoken_rag_window_report", default=None)
_bars_lock = threading.Lock()
_bars_quiet = 0  # blocks inside no_third_party_bars, over every thread
_bars_were_on = False


@contextmanager
def window_progress(report: WindowReport) -> Iterator[None]:
    """Call ``report(planned, 0)`` when an encoder pass over documents is planned, and
    ``report(0, done)`` as each batch of its windows finishes, for the calls of this thread (or
    asyncio task) inside the block.

    Example:
        >>> seen = []
        >>> with window_progress(lambda planned, done: seen.append((planned, done))):
        ...     report_windows(3, 0)
        ...     report_windows(0, 3)
        >>> seen
        [(3, 0), (0, 3)]
        >>> report_windows(1, 0)  # outside the block: nobody listens
    """
    token = _report.set(report)
    try:
        yield
    finally:
        _report.reset(token)


def report_windows(planned: int, done: int) -> None:
    """Tell the listener of :func:`window_progress`, if any (the encoder calls this)."""
    report = _report.get()
    if report is not None:
        report(planned, done)


@contextmanager
def no_third_party_bars() -> Iterator[None]:
    """Switch transformers' progress bars off while the block runs (a model load), then back on
    if they were on; safe when blocks overlap in several threads. A no-op without transformers.

    Example:
        >>> with no_third_party_bars():
        ...     pass  # SentenceTransformer(...) here prints no "Loading weights" bar
    """
    global _bars_quiet, _bars_were_on
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # pragma: no cover - the int8 backends run without transformers
        yield
        return
    with _bars_lock:
        if _bars_quiet == 0:
            _bars_were_on = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()
        _bars_quiet += 1
    try:
        yield
    finally:
        with _bars_lock:
            _bars_quiet -= 1
            if _bars_quiet == 0 and _bars_were_on:
                hf_logging.enable_progress_bar()


class StageClock:
    """Seconds per stage, for :attr:`~semtoken_rag.types.CompressionResult.timings`: each
    :meth:`lap` records the time since the previous one; :meth:`done` adds ``total``.

    Example:
        >>> clock = StageClock()
        >>> clock.lap("count")
        >>> sorted(clock.done())
        ['count', 'total']
    """

    def __init__(self) -> None:
        self.t0 = self.t = time.perf_counter()
        self.times: dict[str, float] = {}

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.times[stage] = now - self.t
        self.t = now

    def done(self) -> dict[str, float]:
        self.times["total"] = time.perf_counter() - self.t0
        return self.times
