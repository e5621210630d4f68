"""validate --full runs long checks in bounded memory (records=False): which checks, and that the table says so.

At --full a load-0.95 scheduling check runs 25-270 million customers a replication, whose per-job
records (about 160 bytes a customer with two VMs, measured) would need 4-44 GB; the bounded-memory
kernels keep running sums instead.  The quick and default sizes keep per-job records.
"""

from __future__ import annotations

import dataclasses

import pytest

import virtmodel as vm
from virtmodel.dists import Exponential
from virtmodel.experiments import validation
from virtmodel.experiments.validation import SIZES, battery, run_battery, runs_bounded
from virtmodel.policies import FCFS
from virtmodel.sim.compiled import streaming


def _check(label):
    return next(c for c in battery() if c.label == label)


def test_only_above_the_default_size():
    for check in battery(("queues", "scheduling", "polling")):
        pred = vm.predict(check.scenario)
        for size in ("quick", "default"):
            assert not runs_bounded(check, SIZES[size][0], pred), (check.label, size)


@pytest.mark.parametrize("label, bounded", [
    ("SRPT, exp, load 0.95", True),                      # no percentiles predicted
    ("PS, H2 scv 4, load 0.8", True),
    ("polling gated, 3 alike VMs, load 0.6", True),
    ("M/M/1 load 0.5", False),                           # percentiles, 2.5 M customers: per-job records
    ("priority, exp, load 0.5", False),
    ("priority, H2 scv 4, load 0.95", True),             # percentiles, but 237 M customers a replication
    ("M/M/2+M Erlang-A load 1.2 (patience mean 2)", False),  # patience: no bounded kernel
])
def test_which_checks_run_bounded_at_full(label, bounded):
    check = _check(label)
    assert runs_bounded(check, SIZES["full"][0], vm.predict(check.scenario)) is bounded


def test_scenario_kinds_and_the_simpy_engine_keep_their_path():
    storm = next(c for c in battery(("hypervisor",)) if c.label.startswith("boot storm"))
    assert not runs_bounded(storm, SIZES["full"][0], vm.predict(storm.scenario))
    srpt = dataclasses.replace(_check("SRPT, exp, load 0.95"), engine="simpy")
    assert not runs_bounded(srpt, SIZES["full"][0], vm.predict(srpt.scenario))


@pytest.mark.filterwarnings("ignore::virtmodel.errors.VirtmodelWarning")  # short on purpose: the metrics' names
def test_bounded_metrics_are_what_a_bounded_run_estimates():
    """BOUNDED_METRICS lists exactly the metrics of a bounded run (capacity and two VMs: all of them)."""
    sc = vm.Scenario(2, [vm.VM("a", Exponential(0.5), Exponential(1.0)),
                         vm.VM("b", Exponential(0.4), Exponential(1.0))], policy=FCFS(), capacity=6)
    res = vm.simulate(sc, customers=4_000, replications=2, seed=1, records=False)
    assert set(res.summary["metric"]) == streaming.BOUNDED_METRICS


def test_a_full_size_table_from_bounded_runs(monkeypatch):
    """Above the default size: the picked checks run bounded, every row their prediction has is in the
    table (SRPT predicts no percentile), and a check over RECORDS_LIMIT loses exactly its percentile rows."""
    srpt = dataclasses.replace(_check("SRPT, exp, load 0.5"), length=0.05)
    prio = dataclasses.replace(_check("priority, exp, load 0.5"), length=0.05)
    monkeypatch.setattr(validation, "RECORDS_LIMIT", 1_000)  # priority (percentiles) now too long for records
    customers = 2 * SIZES["default"][0]
    table = run_battery([srpt, prio], customers=customers, replications=2, seed=5, progress=False)
    assert table.attrs["bounded_checks"] == [srpt.label, prio.label]
    assert set(table.engine) == {"compiled"}
    pred_srpt, pred_prio = vm.predict(srpt.scenario), vm.predict(prio.scenario)
    assert len(table[table.check == srpt.label]) == len(pred_srpt.values)
    percentiles = pred_prio.values["metric"].str.match(r"p\d+_").sum()
    assert percentiles > 0
    assert len(table[table.check == prio.label]) == len(pred_prio.values) - percentiles
    assert table.attrs["rows_not_simulated"] == percentiles
    # the numbers are those of simulate(records=False) with the check's seed and size
    direct = vm.simulate(srpt.scenario, customers=int(customers * srpt.length),
                         replications=table[table.check == srpt.label].replications.iloc[0], seed=5,
                         records=False)
    row = table[(table.check == srpt.label) & (table.metric == "mean_response") & (table.group == "all")]
    assert row.sim_mean.iloc[0] == direct.mean("mean_response", "all")


def test_default_size_tables_keep_per_job_records():
    srpt = dataclasses.replace(_check("SRPT, exp, load 0.5"), length=0.2)
    table = run_battery([srpt], customers=SIZES["default"][0], replications=2, seed=5, progress=False)
    assert table.attrs["bounded_checks"] == [] and table.attrs["rows_not_simulated"] == 0
