"""How many intra-op threads an encoder forward uses, so concurrent calls never oversubscribe.

Every :meth:`~semtoken_rag.SemTokenCompressor.compress` call (and ``compress_many``) runs inside
:func:`call_scope`, which counts the calls in flight in this process. An encoder forward then asks
:func:`forward_threads` how many threads to use:

- ``SemTokenConfig(threads=n)`` fixes ``n`` for that compressor's calls;
- otherwise (``threads=None``, the default) a forward of fewer than :data:`SMALL_FORWARD_TOKENS`
  tokens (a query) uses one thread (splitting a small matrix product costs more than it
  gains), and a larger one uses ``cores // calls in flight`` (at least one): all cores for one big
  batch, one thread per call when as many calls as cores run at once.

``cores`` is the CPUs this process may run on (``os.sched_getaffinity``), or
``$SEMTOKEN_RAG_THREADS`` when set. torch splits each forward's matrix products over that many
intra-op threads; the int8 backends run each sequence alone on one thread and run that many
sequences of a forward at once (:func:`run_parallel`). The thread count never changes results:
each backend's kernels give the same bits whatever the thread count (tested).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from functools import wraps
from typing import Any, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])

ENV_THREADS = "SEMTOKEN_RAG_THREADS"
SMALL_FORWARD_TOKENS = 512
"""Forwards of fewer tokens (rows x width) run on one thread: a query encode (~20 tokens) took
17-21 ms on one thread against ~500 ms on two threads of the loaded 2-core machine (issue 14)."""

_fixed: ContextVar[int | None] = ContextVar("semtoken_threads", default=None)
_inside: ContextVar[bool] = ContextVar("semtoken_in_call", default=False)
_active = 0
_active_lock = threading.Lock()


def cores() -> int:
    """CPUs available to this process (``$SEMTOKEN_RAG_THREADS`` overrides).

    Example:
        >>> cores() >= 1
        True
    """
    env = os.environ.get(ENV_THREADS, "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def active_calls() -> int:
    """Compress calls in flight in this process."""
    return _active


@contextlib.contextmanager
def call_scope(threads: int | None = None) -> Iterator[None]:
    """Count one call in flight for the duration; ``threads`` fixes the forward thread count of
    the encoder calls made inside (``None``: the automatic policy). A scope opened inside another
    (``compress`` called by ``compress_many``) is the same call: it is not counted again."""
    global _active
    if _inside.get():
        yield
        return
    with _active_lock:
        _active += 1
    tokens = _fixed.set(threads), _inside.set(True)
    try:
        yield
    finally:
        _fixed.reset(tokens[0])
        _inside.reset(tokens[1])
        with _active_lock:
            _active -= 1


def counted(method: _F) -> _F:
    """Run a compressor method inside :func:`call_scope` with its ``config.threads``."""

    @wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        with call_scope(self.config.threads):
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def forward_threads(tokens: int) -> int:
    """Threads for one encoder forward over ``tokens`` tokens (rows x width), by the policy.

    Example:
        >>> forward_threads(20)
        1
    """
    fixed = _fixed.get()
    if fixed is not None:
        return fixed
    if tokens < SMALL_FORWARD_TOKENS:
        return 1
    return max(1, cores() // max(1, _active))


def run_parallel(fn: Callable[[int], None], count: int, threads: int) -> None:
    """``fn(0)``, ..., ``fn(count - 1)`` on up to ``threads`` threads (the caller's among them;
    each takes the next index when it is done with one), inline when one is enough. The first
    exception is raised once all have stopped.

    Example:
        >>> seen = []
        >>> run_parallel(seen.append, 5, 2)
        >>> sorted(seen)
        [0, 1, 2, 3, 4]
    """
    threads = min(threads, count)
    if threads <= 1:
        for i in range(count):
            fn(i)
        return
    order = itertools.count()  # next() is atomic: each index is taken once

    def work() -> None:
        while (i := next(order)) < count:
            fn(i)

    with ThreadPoolExecutor(threads - 1, thread_name_prefix="semtoken-forward") as pool:
        helpers = [pool.submit(work) for _ in range(threads - 1)]
        try:
            work()
        finally:
            errors = [f.exception() for f in helpers]  # waits for every helper
    for error in errors:
        if error is not None:
            raise error


def set_torch_threads(n: int) -> None:
    """torch's intra-op threads in the calling thread (OpenMP keeps the count per thread)."""
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
