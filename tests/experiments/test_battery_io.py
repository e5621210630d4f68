"""The ``io`` validation area: registered, every check exact, and the storage checks agree with simulation."""

from __future__ import annotations

import virtmodel as vm
from virtmodel.experiments.registry import BATTERY_AREAS
from virtmodel.experiments.validation import AREAS, battery, run_battery


def test_io_area_is_registered_and_every_prediction_exact():
    assert "io" in AREAS and "io" in BATTERY_AREAS
    checks = battery(["io"])
    labels = [c.label for c in checks]
    assert len(labels) == len(set(labels)) >= 6
    assert any(label.startswith("network:") for label in labels)   # the VM-to-VM network checks ride along
    for c in checks:
        assert vm.predict(c.scenario).exact, c.label


def test_io_battery_rows_pass_at_a_small_size():
    checks = [c for c in battery(["io"]) if c.label.startswith("io: hybrid") or c.label.startswith("io: FCFS disk")]
    tab = run_battery(checks, replications=5, progress=False)
    assert tab["passes"].all(), tab[~tab["passes"]]
