"""Hypothesis profiles for the robustness suite (issue 8).

Profiles (pick one with ``HYPOTHESIS_PROFILE``; the default is ``ci``):

- ``ci``: sized so the whole robustness suite runs in under 3 minutes on two busy cores;
  derandomized, so CI is reproducible.
- ``thorough``: ten times as many cases, random seeds, for a nightly or a local hunt.
- ``dev``: a handful of cases per property, for editing the tests.

The profiles are registered here but never loaded globally: :func:`cases` hands each test its
settings, so the other hypothesis tests of the repository keep their own.

Example:
    >>> from hypothesis_profiles import cases
    >>> cases(10).max_examples >= 1
    True
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("ci", max_examples=400, derandomize=True, database=None, **_COMMON)
settings.register_profile("thorough", max_examples=4000, **_COMMON)
settings.register_profile("dev", max_examples=10, **_COMMON)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE not in ("ci", "thorough", "dev"):
    PROFILE = "ci"  # another suite's profile name: use ours


def cases(percent: int = 100) -> settings:
    """The active profile's settings with ``percent`` % of its ``max_examples`` (at least 1)."""
    base = settings.get_profile(PROFILE)
    return settings(base, max_examples=max(1, base.max_examples * percent // 100))
