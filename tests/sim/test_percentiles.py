"""Simulated percentiles (p50/p95/p99 of wait and response) against the exact distributions.

Intervals: Student-t over replication quantiles (R >= 2), sectioning with batch
quantiles (R = 1).  Power: a quantile needs far more customers than a mean;
at 20,000 customers x 10 replications the relative 95 % half-widths at load
0.8 are 3.5 % (p50), 5.3 % (p95) and about 8 % (p99) of the response.  The
default checks therefore run one pCPU on the Lindley fast path (the same
sample paths as the simpy model) at 200,000 x 10, where they are 1.3 %,
1.8 % and 3.2 % for M/M/1 (a 2 % error in p50/p95 of the response fails, a
3.5 % error in p99) and 0.8 %, 1.1 %, 1.8 % for M/H2/1; M/M/4 on simpy at
40,000 x 10 gets 1.9 %, 2.1 %, 4.5 %; the slow checks
run 400,000 x 10 (1.6 million at load 0.95).  Each test is family-wise
(Bonferroni) over all the rows it checks, so a correct model fails it with
probability at most 5 %.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

import virtmodel as vm
from virtmodel.dists import Exponential, HyperExponential
from virtmodel.sim.percentiles import required_departures

SEED = 20261201
KEYS = [f"{p}_{m}" for p in ("p50", "p95", "p99") for m in ("wait", "response")]


def _single(load, service, servers=1):
    return vm.Scenario(servers, [vm.VM("vm", Exponential(load * servers / service.mean), service)])


SCENARIOS = {
    # name: (scenario, customers per replication, engine)
    "M/M/1 load 0.8": (_single(0.8, Exponential(1.0)), 200_000, "fast"),
    "M/H2/1 load 0.5": (_single(0.5, HyperExponential.balanced(1.0, 4.0)), 200_000, "fast"),
    "M/M/4 load 0.8": (_single(0.8, Exponential(1.0), servers=4), 200_000, "compiled"),
    "two-class priority load 0.8": (vm.Scenario(1, [
        vm.VM("hi", Exponential(0.4), Exponential(1.0), priority=0),
        vm.VM("lo", Exponential(0.4), Exponential(1.0), priority=1)], policy=vm.policies.Priority()),
        200_000, "compiled"),
}


def _misses(sc, customers, replications, seed, level=0.95, engine="simpy"):
    pred = vm.predict(sc)
    res = vm.simulate(sc, customers=customers, replications=replications, seed=seed, engine=engine)
    misses, widths = [], {}
    groups = ["all"] + ([v.name for v in sc.vms] if len(sc.vms) > 1 else [])
    predicted = set(zip(pred.values["metric"], pred.values["group"], strict=True))
    for key, group in [(k, g) for k in KEYS for g in groups]:
        if (key, group) not in predicted:  # p50_wait at load 0.5: a jump of the quantile function, left out
            continue
        exact = pred.value(key, group)
        mean = res.mean(key, group)
        low, high = res.ci(key, group)
        if level != 0.95:  # widen to the family-wise level
            half = (high - low) / 2 * st.t.ppf(1 - (1 - level) / 2, replications - 1) / st.t.ppf(0.975,
                                                                                              replications - 1)
            low, high = mean - half, mean + half
        if exact > 0:
            widths[key, group] = (high - low) / 2 / exact
        if not low <= exact <= high:
            misses.append((key, group, exact, mean, low, high))
    return misses, widths


def _rows(scenarios):
    """Number of percentile rows checked over ``scenarios`` (each VM is a group beside "all")."""
    return sum(len(KEYS) * (1 + (len(sc.vms) if len(sc.vms) > 1 else 0)) for sc, _, _ in scenarios.values())


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_simulated_percentiles_cover_the_exact_ones(name):
    """Relative 95 % half-widths measured at seed SEED are in the module docstring (p50/p95/p99 of the
    response: M/M/1 1.3/1.8/3.2 %, M/H2/1 0.8/1.1/1.8 %, M/M/4 0.9/1.3/2.1 %, priority 0.6/2.1/3.5 %);
    the check itself is family-wise over its rows, about 1.3-1.5x wider."""
    sc, customers, engine = SCENARIOS[name]
    # family-wise (Bonferroni) over every row of every scenario of this test: at 95 % each, about one
    # row in 20 would miss by chance
    misses, widths = _misses(sc, customers, 10, SEED, level=1 - 0.05 / _rows(SCENARIOS), engine=engine)
    assert not misses, misses
    assert widths["p95_response", "all"] < 0.05 and widths["p99_response", "all"] < 0.08, widths


def test_percentiles_of_too_short_runs_are_left_out():
    assert [required_departures(q) for q in (0.5, 0.95, 0.99)] == [20, 200, 1000]
    sc = SCENARIOS["M/M/1 load 0.8"][0]
    res = vm.simulate(sc, customers=600, replications=3, seed=1, warmup=0.0)
    metrics = set(res.summary.metric)
    assert {"p50_response", "p95_response", "p50_wait", "p95_wait"} <= metrics
    assert "p99_response" not in metrics and "p99_wait" not in metrics
    # batch quantiles need the departures per batch: 20 batches of 100 give p50 only
    one = vm.simulate(sc, customers=2_000, replications=1, seed=1, warmup=0.0)
    assert "p50_response" in set(one.summary.metric) and "p95_response" not in set(one.summary.metric)


def test_one_run_uses_sectioning_around_the_whole_run_quantile():
    sc = SCENARIOS["M/M/1 load 0.8"][0]
    res = vm.simulate(sc, customers=100_000, replications=1, seed=3)
    resp = res.summary.set_index(["metric", "group"])
    for key in ("p95_response", "p99_wait"):
        row = resp.loc[(key, "all")]
        assert row["mean"] == pytest.approx((row["ci_low"] + row["ci_high"]) / 2, rel=1e-12)
        assert row["ci_low"] <= vm.predict(sc).value(key) <= row["ci_high"]


@pytest.mark.slow
@pytest.mark.parametrize("load", [0.5, 0.8, 0.95])
@pytest.mark.parametrize("kind", ["M/M/1", "M/M/4", "M/H2/1", "priority"])
def test_simulated_percentiles_at_three_loads(kind, load, scaled):
    service = HyperExponential.balanced(1.0, 4.0) if kind == "M/H2/1" else Exponential(1.0)
    if kind == "priority":
        sc = vm.Scenario(1, [vm.VM("hi", Exponential(load / 2), Exponential(1.0), priority=0),
                             vm.VM("lo", Exponential(load / 2), Exponential(1.0), priority=1)],
                         policy=vm.policies.Priority())
    else:
        sc = _single(load, service, servers=4 if kind == "M/M/4" else 1)
    customers = scaled(400_000 * (4 if load > 0.9 else 1), 50_000)
    rows = 3 * (3 * 6 + 18)  # every percentile row of the 12 checks of this test (Bonferroni)
    misses, _ = _misses(sc, customers, 10, SEED + int(load * 100), level=1 - 0.05 / rows,
                        engine="compiled")
    assert not misses, misses


@pytest.mark.slow
def test_percentile_interval_coverage(scaled):
    """Share of 95 % intervals (5 replications x 5,000 customers, M/M/1 at load 0.5) that cover the exact
    p95 response: inside the binomial band around 0.95 (a 90 %-coverage interval fails it at n = 200)."""
    n = scaled(200, 60)
    sc = _single(0.5, Exponential(1.0))
    exact = vm.predict(sc).value("p95_response")
    covered = 0
    for i in range(n):
        res = vm.simulate(sc, customers=5_000, replications=5, seed=1000 + i)
        low, high = res.ci("p95_response")
        covered += low <= exact <= high
    band = st.binom.ppf([0.005, 0.995], n, 0.95) / n
    assert band[0] <= covered / n <= band[1], (covered / n, band)
    assert np.isfinite(exact)
