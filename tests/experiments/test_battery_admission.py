"""The admission area of the validation battery: entries exist and a loss check passes end to end."""

from __future__ import annotations

from virtmodel.cluster import Cluster
from virtmodel.experiments.validation import AREAS, battery, run_battery


def test_admission_area_entries():
    assert "admission" in AREAS
    checks = battery(("admission",))
    labels = [c.label for c in checks]
    assert sum(isinstance(c.scenario, Cluster) for c in checks) == 4
    assert any(label.startswith("minimum allocation") for label in labels)
    assert any(label.startswith("dynamic allocation") for label in labels)


def test_erlang_b_check_runs():
    check = [c for c in battery(("admission",)) if "Erlang B" in c.label]
    table = run_battery(check, customers=1, replications=6, seed=3, progress=False)
    rows = table[table.metric == "blocking_probability"]
    assert len(rows) == 2 and rows.exact.all() and rows.passes.all()
