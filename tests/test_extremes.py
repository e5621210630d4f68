"""Issue 13 item 3: the package at the extremes of its parameters, one test each.

* load 0.999: predict finite and exact (M/M/1: E[T] = 1 / (mu - lambda) = 1000,
  Kleinrock, Queueing Systems I, eq. 3.26); a short simulation warns
  (VirtmodelWarning, virtmodel/sim/trust.py);
* c = 10,000 pCPUs in predict (Erlang C in log space) and c = 1,000 in a short
  simulation;
* round-robin quanta of 1e-6: simulated in bounded time or refused with the reason;
* service SCV 100 (log-normal): predict finite (Pollaczek-Khinchine), a short
  simulation warns; Pareto tails with infinite variance: predict raises
  NoClosedForm (E[S^2] = inf), simulate warns;
* rates 1e-9 and 1e9: no overflow, no underflow of the waits to zero.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pytest

import virtmodel as vm
from virtmodel import policies as P
from virtmodel.dists import Distribution, Exponential, LogNormal
from virtmodel.errors import NoClosedForm, VirtmodelError, VirtmodelWarning


def _mm1(arrival_rate, service_rate, **kw):
    return vm.Scenario(pcpus=1, vms=[vm.VM("a", Exponential(rate=arrival_rate), Exponential(rate=service_rate))], **kw)


def _simulate(scenario, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", VirtmodelWarning)
        res = vm.simulate(scenario, **kw)
    return res, [str(w.message) for w in caught if issubclass(w.category, VirtmodelWarning)]


# --------------------------------------------------------------------------- load 0.999
def test_load_0999_predict_finite_and_exact():
    pred = vm.predict(_mm1(0.999, 1.0))
    assert pred.exact
    assert math.isclose(pred.value("mean_response"), 1000.0, rel_tol=1e-9)   # 1 / (1 - 0.999)
    assert math.isclose(pred.value("mean_number"), 999.0, rel_tol=1e-9)      # rho / (1 - rho)
    assert np.isfinite(pred.to_frame()["value"]).all()


def test_load_0999_short_simulation_warns():
    res, warned = _simulate(_mm1(0.999, 1.0), customers=2_000, replications=3, seed=1)
    assert warned, "a 2,000-customer run at load 0.999 must say it cannot be trusted"
    assert "longer" in warned[0] or "customers" in warned[0]
    assert np.isfinite(res.to_frame()["mean"]).all()


# --------------------------------------------------------------------------- many pCPUs
def test_predict_10000_pcpus():
    """M/M/c with c = 10,000 at load 0.99: Erlang C without overflow, E[N] = c rho + C(c, a) rho / (1 - rho)."""
    c, rho = 10_000, 0.99
    sc = vm.Scenario(pcpus=c, vms=[vm.VM("a", Exponential(rate=rho * c), Exponential(rate=1.0))])
    pred = vm.predict(sc)
    assert pred.exact
    wait_probability = vm.analytic.erlang_c(c, rho * c)
    assert 0 < wait_probability < 1
    assert math.isclose(pred.value("mean_wait"), wait_probability / (c * (1 - rho)), rel_tol=1e-9)
    assert math.isclose(pred.value("mean_response"), 1.0 + pred.value("mean_wait"), rel_tol=1e-12)
    assert np.isfinite(pred.to_frame()["value"]).all()


def test_simulate_1000_pcpus_short_run():
    c, rho = 1_000, 0.9
    sc = vm.Scenario(pcpus=c, vms=[vm.VM("a", Exponential(rate=rho * c), Exponential(rate=1.0))])
    start = time.perf_counter()
    res, _ = _simulate(sc, customers=5_000, replications=2, seed=3)
    assert time.perf_counter() - start < 60
    util = res.mean("utilization")
    assert 0.8 < util < 1.0                       # 0.9 up to a short run's noise
    # E[T] = 1 + (a tiny wait) at c = 1000; 5,000 departures from 900 busy pCPUs favour short jobs
    # (the first to leave), so a run this short reads E[T] ~ 0.87: finite and positive is what holds
    assert 0 < res.mean("mean_response") < 2
    assert np.isfinite(res.to_frame()["mean"]).all()


# --------------------------------------------------------------------------- tiny quanta
def test_round_robin_quantum_1e6_bounded_or_refused():
    """Quantum 1e-6 against mean service 1: a million slices per job; the run ends in bounded time or is refused.

    The simulator neither refuses nor approximates: its cost is about (busy time / quantum) slices, so a
    horizon of 30 time units costs at most 3e7 slices per replication (about 4 s for two here).  By
    customers the cost is large: customers=300, replications=2 took 144 s on the 2-core test machine.
    """
    sc = vm.Scenario(pcpus=1, vms=[vm.VM("a", Exponential(0.3), Exponential(1.0)),
                                   vm.VM("b", Exponential(0.3), Exponential(1.0))],
                     policy=P.RoundRobin(quantum=1e-6))
    start = time.perf_counter()
    try:
        res, _ = _simulate(sc, horizon=30.0, replications=2, seed=5, warmup=0.0)
    except VirtmodelError as err:
        assert "quantum" in str(err)
        return
    assert time.perf_counter() - start < 60
    assert np.isfinite(res.to_frame()["mean"]).all()
    assert 0 <= res.mean("utilization") <= 1


# --------------------------------------------------------------------------- heavy tails
def test_lognormal_scv_100_predict_finite():
    """M/G/1 with SCV 100: Pollaczek-Khinchine E[W] = rho E[S] (1 + SCV) / (2 (1 - rho)) (Kleinrock I, eq. 5.76)."""
    rho = 0.5
    sc = vm.Scenario(pcpus=1, vms=[vm.VM("a", Exponential(rate=rho), LogNormal(mean=1.0, scv=100.0))])
    pred = vm.predict(sc)
    assert pred.exact
    assert math.isclose(pred.value("mean_wait"), rho * (1 + 100.0) / (2 * (1 - rho)), rel_tol=1e-9)


def test_lognormal_scv_100_short_simulation_warns():
    sc = vm.Scenario(pcpus=1, vms=[vm.VM("a", Exponential(rate=0.8), LogNormal(mean=1.0, scv=100.0))])
    res, warned = _simulate(sc, customers=1_000, replications=3, seed=2)
    assert warned, "1,000 customers with SCV 100 at load 0.8 must warn"
    assert np.isfinite(res.to_frame()["mean"]).all()


class Pareto(Distribution):
    """Pareto type I, P(S > x) = (x_m / x)^alpha for x >= x_m; E[S^k] = inf for k >= alpha (test-only)."""

    def __init__(self, alpha: float, minimum: float):
        self.alpha, self.minimum = alpha, minimum

    def _raw_moment(self, k):
        return math.inf if k >= self.alpha else self.alpha * self.minimum**k / (self.alpha - k)

    def _cdf(self, x):
        x = np.asarray(x, dtype=float)
        return np.where(x < self.minimum, 0.0, 1 - (self.minimum / np.maximum(x, self.minimum)) ** self.alpha)

    def _partial_moment(self, k, x):
        a, m = self.alpha, self.minimum
        x = np.maximum(np.asarray(x, dtype=float), m)
        if k == a:
            return a * m**a * np.log(x / m)
        return a * m**a * (x ** (k - a) - m ** (k - a)) / (k - a)

    def _laplace(self, s):
        from scipy import integrate

        s = np.asarray(s, dtype=float)
        f = np.vectorize(lambda v: integrate.quad(
            lambda t: math.exp(-v * t) * self.alpha * self.minimum**self.alpha / t ** (self.alpha + 1),
            self.minimum, math.inf)[0])
        return f(s)

    def _sample(self, rng, size):
        return self.minimum * (1 - rng.random(size)) ** (-1 / self.alpha)


def test_infinite_variance_predict_raises_no_closed_form():
    service = Pareto(alpha=1.5, minimum=1 / 3)   # mean alpha x_m / (alpha - 1) = 1, E[S^2] = inf
    assert math.isclose(service.mean, 1.0) and service.moment(2) == math.inf
    sc = vm.Scenario(pcpus=1, vms=[vm.VM("a", Exponential(rate=0.5), service)])
    with pytest.raises(NoClosedForm):
        vm.predict(sc)


def test_infinite_variance_simulate_warns():
    sc = vm.Scenario(pcpus=1, vms=[vm.VM("a", Exponential(rate=0.7), Pareto(alpha=1.5, minimum=1 / 3))])
    res, warned = _simulate(sc, customers=2_000, replications=3, seed=4)
    assert warned, "a run with infinite-variance service must warn (its mean wait does not exist)"


# --------------------------------------------------------------------------- tiny and huge rates
@pytest.mark.parametrize("scale", [1e-9, 1e9])
def test_extreme_rates_no_overflow_no_underflow(scale):
    """M/M/1 at rho = 0.5 with rates scaled by 1e-9 and 1e9: E[W] = rho / (mu - lambda) = 1 / scale."""
    sc = _mm1(0.5 * scale, 1.0 * scale)
    pred = vm.predict(sc)
    assert math.isclose(pred.value("mean_wait"), 1.0 / scale, rel_tol=1e-9)
    assert math.isclose(pred.value("mean_response"), 2.0 / scale, rel_tol=1e-9)
    res, _ = _simulate(sc, customers=5_000, replications=4, seed=6)
    wait = res.mean("mean_wait")
    assert np.isfinite(res.to_frame()["mean"]).all()
    assert wait > 0
    # the simulated wait is on the right scale: within a factor 2 of 1 / scale in a short run
    assert 0.5 / scale < wait < 2.0 / scale
    assert math.isclose(res.mean("throughput"), 0.5 * scale, rel_tol=0.1)
