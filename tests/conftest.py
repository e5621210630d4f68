"""Shared fixtures of the test suite.

``slow_scale``: long statistical tests (``@pytest.mark.slow``) multiply their
experiment counts by it.  It is read from the environment variable
``VIRTMODEL_SLOW_SCALE`` (default 1.0); CI runs the slow tests with a reduced
scale, e.g. ``VIRTMODEL_SLOW_SCALE=0.25 pytest -m slow``.
"""

from __future__ import annotations

import math
import os

import pytest

SLOW_SCALE_VAR = "VIRTMODEL_SLOW_SCALE"


def _read_slow_scale() -> float:
    raw = os.environ.get(SLOW_SCALE_VAR, "1.0")
    try:
        value = float(raw)
    except ValueError:
        raise pytest.UsageError(f"{SLOW_SCALE_VAR} must be a positive number, got {raw!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise pytest.UsageError(f"{SLOW_SCALE_VAR} must be a positive number, got {raw!r}")
    return value


@pytest.fixture(scope="session")
def slow_scale() -> float:
    """Factor (> 0) by which slow tests scale their number of experiments."""
    return _read_slow_scale()


@pytest.fixture(scope="session")
def scaled(slow_scale):
    """``scaled(n, minimum)``: ``n * slow_scale`` rounded, at least ``minimum``."""

    def scale(n: int, minimum: int = 1) -> int:
        return max(minimum, round(n * slow_scale))

    return scale
