"""Issue 18 item 1: every validate row states its relative half-width and the smallest relative error it detects."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from virtmodel.experiments.validation import SIZES, battery, run_battery
from virtmodel.experiments.validation_summary import area_of_checks, area_summary


@pytest.fixture(scope="module")
def table():
    checks = [c for c in battery(("queues",)) if c.label in ("M/M/1 load 0.5", "M/M/3/3 Erlang loss load 0.7")]
    return run_battery(checks, customers=2_000, replications=4, seed=7, progress=False)


def test_half_width_and_detectable_error_columns(table):
    exact = table[table.exact & (table.analytic != 0)]
    assert len(exact) > 5
    np.testing.assert_allclose(exact.half_width, (exact.ci_high - exact.ci_low) / 2 / exact.analytic.abs())
    # replication intervals: the family-wise half-width is the 95 % one times the ratio of Student-t quantiles
    level = table.attrs["family_level"]
    reps = exact.replications.to_numpy()
    ratio = stats.t.ppf(1 - (1 - level) / 2, reps - 1) / stats.t.ppf(0.975, reps - 1)
    np.testing.assert_allclose(exact.detectable_error, exact.half_width * ratio, rtol=1e-9)
    # a row fails exactly when the analytic value is further from the estimate than the detectable error
    outside = (exact.sim_mean - exact.analytic).abs() / exact.analytic.abs() > exact.detectable_error
    assert (outside == ~exact.passes).all()


def test_rows_with_zero_analytic_value_have_no_relative_width(table):
    zero = table[table.analytic == 0]
    assert zero.half_width.isna().all() and zero.detectable_error.isna().all()


def test_area_summary_reports_the_detectable_error(table):
    summary = area_summary(table, area_of_checks(("queues",))).set_index("area")
    exact = table[table.exact & table.metric.isin(["mean_wait", "mean_response"])]
    assert summary.loc["queues", "detects_delays"] == f"{exact.detectable_error.max():.2%}"


def test_check_replications_scale_the_battery_replications():
    storm = [c for c in battery(("hypervisor",)) if c.label.startswith("boot storm")][:1]
    assert storm[0].replications > 1
    tab = run_battery(storm, customers=1, replications=2, seed=3, progress=False)
    assert (tab.replications == round(2 * storm[0].replications)).all()


def test_sizes_give_the_family_wise_t_factor_room():
    # 5 replications made the family-wise Student-t factor about 20 (issue 18): every size has >= 10
    assert all(reps >= 10 for _, reps in SIZES.values())
    assert SIZES["full"][0] >= 10 * SIZES["default"][0]
    # --full: 15x the default's customers x replications, so its at most 0.99 % becomes <= 0.3 %
    (full, full_reps), (default, default_reps) = SIZES["full"], SIZES["default"]
    assert full * full_reps >= 15 * default * default_reps


def test_full_size_multiplies_the_replications_of_fixed_length_checks():
    """A scenario kind ignores ``customers``: above the default size it takes more replications instead
    (--full: 10x), and the queueing checks keep theirs; at or below the default nothing changes."""
    from virtmodel.experiments.validation import check_replications

    default_customers, reps = SIZES["default"]
    full_customers, full_reps = SIZES["full"]
    for check in battery():
        base = max(2, round(full_reps * check.replications))
        got = check_replications(check, full_customers, full_reps)
        if hasattr(check.scenario, "replicate"):
            assert got == max(2, round(full_reps * check.replications * full_customers / default_customers))
        else:
            assert got == base
        for customers, r in (SIZES["quick"], SIZES["default"]):
            assert check_replications(check, customers, r) == max(2, round(r * check.replications))
    storm = [c for c in battery(("hypervisor",)) if c.label.startswith("boot storm")][:1]
    tab = run_battery(storm, customers=2 * default_customers, replications=2, seed=3, progress=False)
    assert (tab.replications == round(2 * storm[0].replications * 2)).all()
