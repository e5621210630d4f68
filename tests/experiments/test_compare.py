"""Tests of ``compare`` (virtmodel.experiments.compare)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import virtmodel as vm
from virtmodel.analytic.solve import predict
from virtmodel.dists import Deterministic, Erlang, Exponential, LogNormal
from virtmodel.errors import InvalidParameter, NoClosedForm
from virtmodel.experiments.compare import COLUMNS, agreement_summary, compare, family_wise

SEED = 2024
CONTRACT = ["metric", "group", "analytic", "sim_mean", "ci_low", "ci_high", "rel_error", "agrees"]


def two_vms():
    return vm.Scenario(1, [vm.VM("web", Exponential(0.3), Deterministic(1.0)),
                           vm.VM("batch", Exponential(0.2), Erlang(k=2, rate=1.0))])


def mm1():
    return vm.Scenario(1, [vm.VM("a", Exponential(0.5), Exponential(1.0))])


@pytest.fixture(scope="module")
def table():
    return compare(two_vms(), customers=5000, replications=5, seed=SEED)


def test_columns(table):
    assert COLUMNS == CONTRACT
    assert list(table.columns) == CONTRACT + ["exact", "model", "n", "engine"]
    assert vm.compare is compare


def test_rows_cover_every_predicted_metric(table):
    pred = predict(two_vms())
    assert len(table) == len(pred.values)
    assert set(map(tuple, table[["metric", "group"]].to_numpy())) == set(
        map(tuple, pred.values[["metric", "group"]].to_numpy()))
    assert set(table.group) == {"all", "web", "batch"}


def test_values_come_from_predict_and_simulate(table):
    pred = predict(two_vms())
    res = vm.simulate(two_vms(), customers=5000, replications=5, seed=SEED)
    for row in table.itertuples():
        assert row.analytic == pred.value(row.metric, row.group)
        assert row.sim_mean == res.mean(row.metric, row.group)
        assert (row.ci_low, row.ci_high) == res.ci(row.metric, row.group)
    assert (table["n"] == 5).all()
    assert (table["exact"] == pred.exact).all() and (table["model"] == pred.model).all()


def test_agrees_is_bool_and_means_inside_the_interval(table):
    assert table["agrees"].dtype == bool
    inside = (table["ci_low"] <= table["analytic"]) & (table["analytic"] <= table["ci_high"])
    assert table["agrees"].tolist() == inside.tolist()


def test_rel_error_formula(table):
    want = (table["sim_mean"] - table["analytic"]).abs() / table["analytic"].abs()
    assert np.allclose(table["rel_error"], want, rtol=1e-15, atol=0)
    assert (table["rel_error"] >= 0).all()


def test_rel_error_when_the_exact_value_is_zero():
    """Erlang loss: nobody waits, so mean_wait = 0; rel_error is then |sim_mean| (no division)."""
    sc = vm.Scenario(2, [vm.VM("a", Exponential(1.5), Exponential(1.0))], capacity=2)
    tab = compare(sc, customers=3000, replications=3, seed=SEED)
    zero = tab[tab.analytic == 0]
    assert set(zero.metric) == {"mean_wait", "mean_queue_length"}
    assert np.all(zero.rel_error == zero.sim_mean.abs())
    assert np.all(np.isfinite(tab.rel_error))
    assert "blocking_probability" in set(tab.metric)


def test_agrees_false_when_the_analytic_value_is_outside():
    sc = mm1()
    pred = predict(sc)
    shifted = dataclasses.replace(pred, values=pred.values.assign(value=pred.values["value"] * 1.5 + 0.1),
                                  model="shifted", exact=False)
    tab = compare(sc, prediction=shifted, customers=3000, replications=4, seed=SEED)
    assert (tab["model"] == "shifted").all() and not tab["exact"].any()
    assert not tab["agrees"].any()
    assert np.allclose(tab["analytic"], pred.values["value"] * 1.5 + 0.1)
    inside = (tab["ci_low"] <= tab["analytic"]) & (tab["analytic"] <= tab["ci_high"])
    assert tab["agrees"].tolist() == inside.tolist()


def test_inner_join_keeps_only_metrics_both_sides_report():
    sc = mm1()
    pred = predict(sc)
    partial = dataclasses.replace(pred, values=pd.concat([
        pred.values[pred.values.metric.isin(["mean_wait", "throughput"])],
        pd.DataFrame([("clock_offset_rms", "all", 1.0)], columns=["metric", "group", "value"]),
    ], ignore_index=True))
    tab = compare(sc, prediction=partial, customers=2000, replications=2, seed=SEED)
    assert sorted(tab.metric) == ["mean_wait", "throughput"]


def test_batch_means_n():
    tab = compare(mm1(), customers=4000, replications=1, seed=SEED, batches=10)
    assert (tab["n"] == 10).all()


def test_no_closed_form_raises_before_simulating():
    sc = vm.Scenario(1, [vm.VM("a", Exponential(0.5), LogNormal(1.0, 2.0))], capacity=3)
    with pytest.raises(NoClosedForm, match="capacity"):
        compare(sc, customers=10**9, replications=10**6, seed=SEED)  # would take forever if it simulated


def test_bad_simulate_arguments_are_reported():
    with pytest.raises(InvalidParameter, match="customers"):
        compare(mm1(), replications=2, seed=SEED)
    with pytest.raises(InvalidParameter, match="seed"):
        compare(mm1(), customers=100, seed=-3)


def test_family_wise_equals_the_bonferroni_interval_of_the_same_means():
    """family_wise rescales each 95 % Student-t interval to level 1 - 0.05 / m (m exact rows): the interval
    SimResult.ci gives at that level from the same replication means, to rounding."""
    res = vm.simulate(two_vms(), customers=5000, replications=5, seed=SEED)
    tab = compare(two_vms(), customers=5000, replications=5, seed=SEED)
    wide = family_wise(tab)
    m = int(tab["exact"].sum())
    assert m == len(tab) > 1 and wide.attrs["exact_rows"] == m
    assert np.allclose(wide["level"], 1 - 0.05 / m)
    for row in wide.itertuples():
        low, high = res.ci(row.metric, row.group, level=1 - 0.05 / m)
        assert row.ci_low == pytest.approx(low, rel=1e-9, abs=1e-12)
        assert row.ci_high == pytest.approx(high, rel=1e-9, abs=1e-12)
        assert row.agrees == (low <= row.analytic <= high)
    # wider than the 95 % intervals, same centre; the input is left alone
    assert (wide.ci_high - wide.ci_low >= tab.ci_high - tab.ci_low).all()
    assert np.allclose(wide.ci_low + wide.ci_high, tab.ci_low + tab.ci_high)
    assert "level" not in tab.columns


def test_family_wise_counts_only_exact_rows_and_a_row_outside_fails():
    tab = pd.DataFrame({"analytic": [1.0, 2.0, 5.0], "ci_low": [0.9, 1.5, 1.0], "ci_high": [1.1, 1.7, 1.2],
                        "n": [10, 10, 10], "exact": [True, True, False]})
    wide = family_wise(tab, level=0.9)
    assert np.allclose(wide["level"], 1 - 0.1 / 2)
    assert wide["agrees"].tolist() == [True, False, False]
    assert agreement_summary(wide, "t") == ("t: 1 of 2 exact rows inside their family-wise 90 % intervals "
                                            "(Bonferroni, each row at level 0.95)")


def test_family_wise_rejects_bad_tables():
    good = pd.DataFrame({"analytic": [1.0], "ci_low": [0.9], "ci_high": [1.1], "n": [5], "exact": [True]})
    with pytest.raises(InvalidParameter, match=r"missing \['n'\]"):
        family_wise(good.drop(columns="n"))
    with pytest.raises(InvalidParameter, match="n must be >= 2"):
        family_wise(good.assign(n=1))
    with pytest.raises(InvalidParameter, match="level"):
        family_wise(good, level=1.0)
    with pytest.raises(InvalidParameter, match="family_wise"):
        agreement_summary(good)
