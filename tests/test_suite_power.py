"""benchmarks/suite_power.py: the power audit's family-wise rescaling and its classification of metrics.

The audit rescales an interval a test took at 95 % to the Bonferroni level over the test's rows by
the ratio of Student-t quantiles; that must equal what ``SimResult.ci`` gives at that level from
the same replication means, or the audit's half-widths would not be the ones a family-wise test sees.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import virtmodel as vm
from virtmodel.dists import Exponential

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "suite_power.py"
_spec = importlib.util.spec_from_file_location("suite_power", _PATH)
suite_power = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(suite_power)


def _record(res, metric, level, test="t::a", exact=None):
    low, high = res.ci(metric, level=level)
    return dict(kind="interval", source="SimResult.ci", metric=metric, group="all", level=level, low=low,
                high=high, n=res.replications, result=1, exact=exact, test=test)


def test_rescaled_95_percent_intervals_equal_the_family_wise_ci():
    res = vm.simulate(vm.Scenario(1, [vm.VM("a", Exponential(0.6), Exponential(1.0))]), customers=3_000,
                      replications=5, seed=4)
    metrics = ["mean_wait", "mean_response", "utilization"]
    records = [_record(res, m, 0.95) for m in metrics]
    rows = suite_power.family_wise_rows(records)
    level = 1 - 0.05 / len(metrics)
    for (got_level, rel, record), metric in zip(rows, metrics, strict=True):
        low, high = res.ci(metric, level=level)
        assert got_level == pytest.approx(level)
        assert rel == pytest.approx((high - low) / 2 / ((record["low"] + record["high"]) / 2), rel=1e-9)
    # an interval already at a family-wise level is the test's own: kept as it is, against the exact value
    own = _record(res, "mean_wait", level, exact=1.5)
    ((got_level, rel, _),) = suite_power.family_wise_rows([own])
    assert got_level == level and rel == pytest.approx((own["high"] - own["low"]) / 2 / 1.5)


def test_audit_reports_the_widest_mean_delay_per_test():
    res = vm.simulate(vm.Scenario(1, [vm.VM("a", Exponential(0.6), Exponential(1.0))]), customers=3_000,
                      replications=5, seed=4)
    records = [_record(res, m, 0.99) for m in ("mean_wait", "mean_response", "utilization")]
    records.append(dict(kind="test", outcome="passed", seconds=1.0, cpu=0.5, test="t::a"))
    (row,) = suite_power.audit(records)
    halves = {r["metric"]: (r["high"] - r["low"]) / (r["high"] + r["low"]) for r in records[:3]}
    assert row["delay"] == pytest.approx(max(halves["mean_wait"], halves["mean_response"]))
    assert row["other"] == pytest.approx(halves["utilization"])
    assert row["outcome"] == "passed" and not row["coverage"]


@pytest.mark.parametrize("metric, delay", [("mean_wait", True), ("work_weighted_wait", True),
                                           ("mean_throttle_delay", True), ("makespan", True),
                                           ("p95_response", False), ("delay_asymmetry", False),
                                           ("utilization", False), ("mean_number", False)])
def test_mean_delays_are_told_apart(metric, delay):
    assert suite_power.is_mean_delay(metric) is delay
