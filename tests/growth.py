"""Growth exponents for the "linear, not quadratic" tests: time at two sizes, compare the slope.

A busy machine slows both sizes alike, so the exponent ``log(t2 / t1) / log(n2 / n1)`` stays
meaningful where an absolute time would not: ~1 for linear work, ~2 for quadratic.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable
from typing import Any


def best_time(fn: Callable[[], Any], repeats: int = 3) -> float:
    """The least CPU time of ``repeats`` runs of ``fn`` (seconds).

    CPU time, not wall time: on a loaded machine a run's wall time includes the slices other
    processes took, which land on either size at random (two busy loops beside these tests on 2
    cores read segmentation at n^1.56 and assembly at n^1.47 in wall time)."""
    best = math.inf
    for _ in range(repeats):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def exponent(run: Callable[[int], Any], n1: int, n2: int, repeats: int = 3) -> float:
    """Growth exponent of ``run(n)`` between sizes ``n1`` and ``n2`` (best of ``repeats`` each).

    The two sizes are timed in turn (a burst of other load then slows both, not one) with the
    garbage collector off (its passes over a long test run's heap land on either size)."""
    run(n1)  # warm caches, imports and lazy loads
    t1 = t2 = math.inf
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeats):
            t1 = min(t1, best_time(lambda: run(n1), 1))
            t2 = min(t2, best_time(lambda: run(n2), 1))
    finally:
        if was_enabled:
            gc.enable()
    return math.log(max(t2, 1e-9) / max(t1, 1e-9)) / math.log(n2 / n1)
