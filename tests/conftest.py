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


@pytest.fixture(scope="session")
def data_dir():
    """Directory holding the real datasets (``virtmodel.data``): ``$VIRTMODEL_DATA``, else the user cache.

    Skips the test, saying why, when neither holds the data.  Use it with
    ``vm.data.load(name, directory=data_dir)``; ``data_loaded`` caches frames.
    """
    from virtmodel import data

    env = os.environ.get(data.ENV_VAR)
    root = data.data_dir()
    if not root.is_dir() or not any(root.iterdir()):
        reason = (f"{data.ENV_VAR}={env} is not a data directory" if env else
                  f"{data.ENV_VAR} is unset and the cache {root} is empty")
        pytest.skip(f"real data not available: {reason}; set {data.ENV_VAR}=/path/to/data or run "
                    "`virtmodel data fetch --all`")
    return root


@pytest.fixture(scope="session")
def data_loaded(data_dir):
    """``data_loaded(name, **options)``: ``vm.data.load`` once per session and arguments (skips if absent).

    The frames are shared between tests: do not modify them in place.
    """
    from virtmodel import data

    cache = {}

    def load(name, **options):
        key = (name, tuple(sorted(options.items())))
        if key not in cache:
            if not data.available(name, data_dir):
                pytest.skip(f"dataset {name!r} is not in {data_dir}; `virtmodel data fetch {name}`")
            cache[key] = data.load(name, directory=data_dir, **options)
        return cache[key]

    return load
