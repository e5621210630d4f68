"""run_battery with workers > 1: whole checks side by side on one pool, the same table and warnings as workers=1."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from virtmodel.errors import VirtmodelError, VirtmodelWarning
from virtmodel.experiments.registry import Check
from virtmodel.experiments.validation import battery, run_battery

LABELS = ("M/M/1 load 0.5", "M/M/3/3 Erlang loss load 0.7", "SRPT, exp, load 0.5",
          "boot storm: 20 VMs on 4 slots, exp boots", "install: 20 VMs from local ISO images")


def _run(workers):
    checks = [c for c in battery() if c.label in LABELS]
    assert len(checks) == len(LABELS)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", VirtmodelWarning)
        # 100 customers x 2: short enough that simulate warns (the warnings must reach the parent)
        table = run_battery(checks, customers=100, replications=2, seed=11, workers=workers, progress=False)
    return table, [str(w.message) for w in caught if issubclass(w.category, VirtmodelWarning)]


def test_parallel_checks_give_the_serial_table_and_warnings():
    serial, serial_warnings = _run(1)
    parallel, parallel_warnings = _run(2)
    pd.testing.assert_frame_equal(serial, parallel)
    assert serial.attrs == parallel.attrs
    assert serial_warnings and parallel_warnings == serial_warnings
    assert list(dict.fromkeys(parallel.check)) == [c.label for c in battery() if c.label in LABELS]


def test_a_failing_check_raises_in_the_parent():
    good = [c for c in battery() if c.label == "M/M/1 load 0.5"][0]
    polling = [c for c in battery() if c.label.startswith("polling exhaustive")][0]
    bad = Check("fast engine on a polling host", polling.scenario, engine="fast")
    with pytest.raises(VirtmodelError):
        run_battery([good, bad, good], customers=400, replications=2, workers=2, progress=False)
