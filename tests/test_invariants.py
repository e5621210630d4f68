"""Issue 13 item 2: model invariants on random valid scenarios.

Hypothesis draws a scenario -- 1 to 3 pCPUs, 1 to 4 VMs, every queueing
policy (Polling on one pCPU, which it requires), total load 0.05 to 0.95 split
at random among the VMs, service SCV 0 to 16 (Deterministic, Gamma,
Exponential, LogNormal), sometimes a finite capacity -- and checks:

* ``predict`` returns finite numbers (never NaN) or raises ``NoClosedForm``;
* ``simulate`` (engine "auto": the compiled kernels where they apply) gives
  utilizations in [0, 1], waits, responses and numbers >= 0, Little's law
  L = X W within its interval (the interval of L meets the X W interval
  built from the intervals of X and W), throughput equal to the arrival rate
  times (1 - simulated blocking probability) inside its interval, and every
  exact prediction inside its interval.

"Inside its interval" is family-wise over the whole test: every interval is a
Bonferroni interval at 1 - 0.05 / (m n), m the checks of one scenario and n
the scenarios of the test, so a correct model fails the test with
probability at most 5 %.  The exact
predictions are compared only when ``simulate`` itself trusts the run (no
VirtmodelWarning: warm-up ended, Little's law within 5 %, half-widths below
half the mean): at load 0.95 with SCV 16 a short run is biased and says so,
which is item 3's business (tests/test_extremes.py), not a model error.

The default suite runs a few derandomised examples per policy (short runs,
compiled engine where it applies); ``-m slow`` runs many more, longer.

Power is not what this test is for: it looks for broken invariants over the
whole parameter range, and its runs are short (2,000 customers x 5 in the
default suite), so the family-wise relative half-widths of its exact mean
delays range from about 9 % to several hundred per cent (measured: Credit
9 %, RoundRobin 21 %, FCFS 91 %, gated polling 640 % at load 0.95 and SCV
16).  A 2 % error is caught by the sized checks (tests/sim/test_run.py,
test_schedulers.py, test_percentiles.py, analytic/test_solve_vcpus.py, and
``virtmodel validate``), each asserting its own half-width.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import virtmodel as vm
from virtmodel import policies as P
from virtmodel.dists import Deterministic, Exponential, Gamma, LogNormal
from virtmodel.errors import NoClosedForm, VirtmodelWarning

NAMES = ["vm0", "vm1", "vm2", "vm3"]
COMPARED: list[int] = []  # exact predictions compared per scenario (to see the check is not vacuous)


def _policy(kind: str, names):
    weights = {n: float(1 + i) for i, n in enumerate(names)}
    return {
        "FCFS": P.FCFS(), "SJF": P.SJF(), "SRPT": P.SRPT(), "PSJF": P.PSJF(),
        "Priority": P.Priority(preemptive=False), "PreemptivePriority": P.Priority(preemptive=True),
        "ProcessorSharing": P.ProcessorSharing(), "RoundRobin": P.RoundRobin(quantum=0.1),
        "DelayDependentPriority": P.DelayDependentPriority(slope=weights),
        "PollingExhaustive": P.Polling("exhaustive", Deterministic(0.01)),
        "PollingGated": P.Polling("gated", Exponential(100.0)),
        "PollingLimited": P.Polling("limited", Deterministic(0.01), limit=2),
        "ProportionalShare": P.ProportionalShare(weights=weights),
        # coarse time units (1 unit = 100 s / 1000 s) keep the tick-level simulators fast
        "Credit": P.Credit(weights={n: 256.0 * w for n, w in weights.items()}, seconds_per_unit=0.01),
        "LinuxFair": P.LinuxFair(weights={n: 1024.0 * w for n, w in weights.items()}, seconds_per_unit=0.001),
    }[kind]


POLICIES = ["FCFS", "SJF", "SRPT", "PSJF", "Priority", "PreemptivePriority", "ProcessorSharing", "RoundRobin",
            "DelayDependentPriority", "PollingExhaustive", "PollingGated", "PollingLimited", "ProportionalShare",
            "Credit", "LinuxFair"]
ONE_PCPU = {"PollingExhaustive", "PollingGated", "PollingLimited"}
#: finite capacity is drawn only for the policies whose simulators and solvers implement a waiting room
CAPACITY = {"FCFS"}


def _service(mean: float, scv: float):
    """A service law with the given mean and squared coefficient of variation."""
    if scv < 1e-6:  # 0, or so close (hypothesis draws subnormal floats) that 1 / scv overflows
        return Deterministic(mean)
    if abs(scv - 1) < 1e-12:
        return Exponential(rate=1 / mean)
    if scv < 1:
        return Gamma(shape=1 / scv, rate=1 / (scv * mean))
    return LogNormal(mean=mean, scv=scv)


@st.composite
def scenarios(draw, policy: str):
    pcpus = 1 if policy in ONE_PCPU else draw(st.integers(1, 3), label="pcpus")
    n = draw(st.integers(1, 4), label="vms")
    load = draw(st.floats(0.05, 0.95), label="load")
    split = np.asarray(draw(st.lists(st.floats(0.1, 1.0), min_size=n, max_size=n), label="split"))
    split = split / split.sum()
    vms = []
    for i in range(n):
        scv = draw(st.sampled_from([0.0, 0.25, 1.0, 4.0, 16.0]) | st.floats(0.0, 16.0), label=f"scv{i}")
        mean = draw(st.floats(0.5, 2.0), label=f"mean{i}")
        rate = load * split[i] * pcpus / mean
        vms.append(vm.VM(NAMES[i], Exponential(rate=rate), _service(mean, scv), priority=i % 2))
    capacity = None
    if policy in CAPACITY and draw(st.booleans(), label="finite capacity"):
        capacity = pcpus + draw(st.integers(0, 6), label="waiting room")
    names = [v.name for v in vms]
    return vm.Scenario(pcpus=pcpus, vms=vms, policy=_policy(policy, names), capacity=capacity)


def _finite_prediction(scenario):
    try:
        pred = vm.predict(scenario)
    except NoClosedForm:
        return None
    values = pred.to_frame()["value"].to_numpy(dtype=float)
    assert not np.isnan(values).any(), f"predict returned NaN for {scenario}"
    assert np.isfinite(values).all(), f"predict returned inf for a stable {scenario}"
    return pred


def _check(scenario, customers: int, replications: int, seed: int, family: int, heavy_tails: bool = True):
    """All checks on one scenario; ``family``: how many scenarios share the 5 % family-wise error.

    ``heavy_tails=False`` compares exact predictions only when every service law has scv <= 1: with
    heavy-tailed (log-normal, scv > 1) service, runs of a few thousand customers have skewed
    replication means and their Student-t intervals undercover (seen: SRPT at 5,000 customers 15 %
    off with a 2 % interval, while 200,000 x 10 agrees), which the random slow test would report
    as a model error.
    """
    pred = _finite_prediction(scenario)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", VirtmodelWarning)
        res = vm.simulate(scenario, customers=customers, replications=replications, seed=seed)
    trusted = not any(issubclass(w.category, VirtmodelWarning) for w in caught)
    frame = res.to_frame()
    groups = list(dict.fromkeys(frame["group"]))  # "all" and, with several VMs, each VM
    assert np.isfinite(frame["mean"]).all()

    # utilization in [0, 1] (per pCPU for "all", the VM's share of the c pCPUs for a VM)
    util = frame[frame["metric"] == "utilization"]["mean"].to_numpy()
    assert (util >= 0).all() and (util <= 1 + 1e-12).all(), util
    # delays and numbers are never negative
    nonneg = frame[frame["metric"].str.contains("wait|response|number|queue_length")]
    assert (nonneg["mean"] >= 0).all() and (nonneg["ci_low"].isna() | (nonneg["mean"] >= 0)).all()

    # the family of interval checks of this scenario, Bonferroni-adjusted
    metrics = set(frame["metric"])
    estimated = set(zip(frame["metric"], frame["group"], strict=True))  # p99_wait: maybe "all" only
    exact_rows = []
    light = all(v.service.scv <= 1 + 1e-12 for v in scenario.vms)
    if pred is not None and pred.exact and trusted and (heavy_tails or light):
        exact_rows = [(m, g, v) for m, g, v in pred.to_frame().itertuples(index=False)
                      if (m, g) in estimated and m not in ("utilization",)]
    m = 2 * len(groups) + len(exact_rows)
    level = 1 - 0.05 / (m * family)

    def ci(metric, group):
        return res.ci(metric, group, level=level)

    rates = {v.name: v.arrival_rate for v in scenario.vms}
    rates["all"] = sum(rates.values())
    for g in groups:
        # Little's law L = X W: the interval of L meets the X W interval
        (l_lo, l_hi), (x_lo, x_hi), (w_lo, w_hi) = (ci("mean_number", g), ci("throughput", g),
                                                     ci("mean_response", g))
        assert l_lo <= x_hi * w_hi and x_lo * w_lo <= l_hi, (g, (l_lo, l_hi), (x_lo * w_lo, x_hi * w_hi))
        # throughput = arrival rate - blocked (nothing else leaves unserved here)
        blocked = res.mean("blocking_probability", g) if "blocking_probability" in metrics else 0.0
        lo, hi = ci("throughput", g)
        expected = rates[g] * (1 - blocked)
        assert lo <= expected <= hi, (g, expected, (lo, hi))
    COMPARED.append(len(exact_rows))
    for metric, group, value in exact_rows:
        lo, hi = ci(metric, group)
        slack = 1e-9 * max(1.0, abs(value))  # deterministic metrics give a zero-width interval
        assert lo - slack <= value <= hi + slack, (metric, group, value, (lo, hi), scenario)
    return trusted


NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]  # a shrink re-simulates dozens of times
FAST = settings(max_examples=2, derandomize=True, deadline=None, database=None, phases=NO_SHRINK,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(max_examples=25, derandomize=True, deadline=None, database=None, phases=NO_SHRINK,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("policy", POLICIES)
@FAST
@given(data=st.data())
def test_invariants_on_random_scenarios(policy, data):
    scenario = data.draw(scenarios(policy), label="scenario")
    _check(scenario, customers=2_000, replications=5, seed=data.draw(st.integers(0, 2**32 - 1), label="seed"),
           family=len(POLICIES) * FAST.max_examples)


@pytest.mark.slow
@pytest.mark.parametrize("policy", POLICIES)
@SLOW
@given(data=st.data())
def test_invariants_on_random_scenarios_many(policy, data, scaled):
    scenario = data.draw(scenarios(policy), label="scenario")
    _check(scenario, customers=scaled(20_000, 2_000), replications=10,
           seed=data.draw(st.integers(0, 2**32 - 1), label="seed"), family=len(POLICIES) * SLOW.max_examples)


def test_predict_never_nan_on_random_scenarios():
    """predict alone over many random scenarios of every policy (cheap: no simulation)."""

    @settings(max_examples=60, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def run(data):
        policy = data.draw(st.sampled_from(POLICIES), label="policy")
        _finite_prediction(data.draw(scenarios(policy), label="scenario"))

    run()


def test_scenarios_cover_the_ranges():
    """The strategy reaches the corners the issue names (so the properties are tested there)."""
    seen = []

    @settings(max_examples=200, derandomize=True, database=None, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(scenarios("FCFS"))
    def grab(sc):
        seen.append(sc)

    grab()
    assert {sc.pcpus for sc in seen} == {1, 2, 3} and {len(sc.vms) for sc in seen} == {1, 2, 3, 4}
    loads = [sc.utilization for sc in seen]
    assert min(loads) < 0.1 and max(loads) > 0.9 and max(loads) <= 0.95 + 1e-9
    assert any(sc.capacity is not None for sc in seen)
    scvs = [v.service.scv for sc in seen for v in sc.vms]
    assert min(scvs) == 0 and math.isclose(max(scvs), 16.0)
