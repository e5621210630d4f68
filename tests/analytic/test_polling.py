"""Tests of virtmodel.analytic.polling: cyclic polling with switchover times.

Sections: textbook values (worked by hand from the cited formulas); reductions
(one queue = M/G/1 with multiple vacations; symmetric waits = pseudo-conservation
law / rho); properties (hypothesis); stability; bad input; predict(Scenario).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import virtmodel as vm
from virtmodel.analytic import MG1, PollingSystem
from virtmodel.analytic.polling import check_polling_stability
from virtmodel.dists import Deterministic, Erlang, Exponential, Gamma, HyperExponential, Uniform
from virtmodel.errors import InvalidParameter, NoClosedForm, UnstableSystem

EXP1 = Exponential(1.0)
SWITCH = Deterministic(0.1)


def gamma(mean, scv):
    """Gamma law with the given mean and squared coefficient of variation."""
    return Gamma(1.0 / scv, rate=1.0 / (scv * mean))


# --------------------------------------------------------------------------- textbook values


def test_symmetric_exhaustive_by_hand():
    # Takagi (1986), symmetric exhaustive: W = d^2/(2 r1) + (N lam E[S^2] + r1 (N - rho)) / (2 (1 - rho)).
    # N = 3, lam = 0.2, exponential service of mean 1 (E[S^2] = 2), switchover 0.1 fixed (d^2 = 0):
    # rho = 0.6, W = (1.2 + 0.1 * 2.4) / 0.8 = 1.8;  E[C] = 0.3 / 0.4 = 0.75.
    p = PollingSystem([0.2] * 3, [EXP1] * 3, Deterministic(0.1))
    assert p.mean_cycle == pytest.approx(0.75, rel=1e-14)
    np.testing.assert_allclose(p.mean_wait, 1.8, rtol=1e-14)
    np.testing.assert_allclose(p.mean_response, 2.8, rtol=1e-14)
    np.testing.assert_allclose(p.mean_number, 0.56, rtol=1e-14)
    np.testing.assert_allclose(p.mean_queue_length, 0.36, rtol=1e-14)
    assert p.overall_utilization == pytest.approx(0.6)
    assert p.overall_throughput == pytest.approx(0.6)


def test_symmetric_gated_by_hand():
    # gated: r1 (N + rho) instead of r1 (N - rho); exponential switchover of mean 0.1 (d^2 = 0.01):
    # W = 0.01 / 0.2 + (1.2 + 0.1 * 3.6) / 0.8 = 0.05 + 1.95 = 2.0
    p = PollingSystem([0.2] * 3, [EXP1] * 3, Exponential(10.0), "gated")
    np.testing.assert_allclose(p.mean_wait, 2.0, rtol=1e-13)


def test_symmetric_one_limited_by_hand():
    # Takagi (1986), symmetric 1-limited:
    # W = d^2/(2 r1) + (N lam E[S^2] + r1 (N + rho) + N lam d^2) / (2 (1 - rho - N lam r1))
    # with the numbers above and d^2 = 0: (1.2 + 0.36) / (2 * (1 - 0.6 - 0.06)) = 1.56 / 0.68
    p = PollingSystem([0.2] * 3, [EXP1] * 3, Deterministic(0.1), "limited", limit=1)
    np.testing.assert_allclose(p.mean_wait, 1.56 / 0.68, rtol=1e-13)


def test_pseudo_conservation_by_hand():
    # Boxma & Groenendijk (1987) with lam = (0.2, 0.3), E[S] = (1, 1), E[S^2] = (2, 1) (exp, det),
    # switchover 0.5 fixed per queue: rho = 0.5, W0 = (0.4 + 0.3)/2 = 0.35, r = 1, E[R^2] = 1,
    # sum rho_i^2 = 0.13.  Exhaustive: 0.5*0.35/0.5 + 0.5*1/2 + 1/(2*0.5)*(0.25 - 0.13) = 0.35 + 0.25 + 0.12
    p = PollingSystem([0.2, 0.3], [EXP1, Deterministic(1.0)], Deterministic(0.5))
    assert p.pseudo_conservation == pytest.approx(0.72, rel=1e-13)
    assert p.work_weighted_wait == pytest.approx(1.44, rel=1e-13)
    # gated adds r/(1 - rho) sum rho_i^2 = 0.26
    g = PollingSystem([0.2, 0.3], [EXP1, Deterministic(1.0)], Deterministic(0.5), "gated")
    assert g.pseudo_conservation == pytest.approx(0.98, rel=1e-13)
    # 1-limited: rho W0/(1-rho) + rho E[R^2]/(2r) + r/(2(1-rho)) (rho^2 + sum rho_i^2) = 0.35 + 0.25 + 0.38
    lim = PollingSystem([0.2, 0.3], [EXP1, Deterministic(1.0)], Deterministic(0.5), "limited", limit=1)
    assert lim.pseudo_conservation == pytest.approx(0.98, rel=1e-13)
    np.testing.assert_allclose(lim.pseudo_conservation_weights, [1 - 0.2 / 0.5, 1 - 0.3 / 0.5], rtol=1e-13)


def test_total_switchover_moments():
    p = PollingSystem([0.1, 0.1], [EXP1, EXP1], [Deterministic(0.5), Exponential(2.0)])
    assert p.total_switchover_mean == pytest.approx(1.0)
    assert p.total_switchover_second_moment == pytest.approx(0.25 + 1.0)  # Var = 0 + 0.25, r^2 = 1


# --------------------------------------------------------------------------- reductions


@pytest.mark.parametrize("service", [EXP1, Deterministic(1.0), HyperExponential.balanced(1.0, 4.0)])
@pytest.mark.parametrize("vacation", [Deterministic(0.3), Exponential(2.0), Uniform(0.1, 0.9)])
@pytest.mark.parametrize("load", [0.2, 0.7])
def test_one_queue_is_mg1_with_multiple_vacations(service, vacation, load):
    # Fuhrmann & Cooper (1985): W = W_{M/G/1} + E[V^2]/(2E[V]); gated service adds rho E[V]/(1-rho)
    lam = load / service.mean
    mg1 = MG1(lam, service).mean_wait
    residual = vacation.moment(2) / (2 * vacation.mean)
    exh = PollingSystem([lam], [service], vacation)
    gated = PollingSystem([lam], [service], vacation, "gated")
    assert exh.mean_wait[0] == pytest.approx(mg1 + residual, rel=1e-12)
    assert gated.mean_wait[0] == pytest.approx(mg1 + residual + load * vacation.mean / (1 - load), rel=1e-12)
    assert exh.symmetric and gated.symmetric


moments = st.tuples(st.floats(0.2, 3.0), st.floats(0.05, 5.0))  # (mean, scv)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 6), load=st.floats(0.05, 0.95), service=moments, switch=moments,
       discipline=st.sampled_from(["exhaustive", "gated", "limited"]))
def test_symmetric_waits_satisfy_pseudo_conservation(n, load, service, switch, discipline):
    s, sw = gamma(*service), gamma(*switch)
    lam = load / (n * s.mean)
    limit = 1 if discipline == "limited" else None
    try:
        p = PollingSystem([lam] * n, [s] * n, sw, discipline, limit)
    except UnstableSystem:
        assert discipline == "limited" and load + lam * n * sw.mean >= 1
        return
    w = p.mean_wait
    np.testing.assert_allclose(w, w[0], rtol=1e-14)
    weights = p.pseudo_conservation_weights
    assert float(np.sum(weights * p.utilization * w)) == pytest.approx(p.pseudo_conservation, rel=1e-10)
    assert p.work_weighted_wait == pytest.approx(w[0], rel=1e-10)


@settings(max_examples=60, deadline=None)
@given(rates=st.lists(st.floats(0.01, 1.0), min_size=2, max_size=5), load=st.floats(0.05, 0.95),
       switch=moments)
def test_gated_exceeds_exhaustive_by_the_gate_term(rates, load, switch):
    services = [gamma(1.0 + i, 1.0) for i in range(len(rates))]
    lam = np.array(rates) * load / np.dot(rates, [s.mean for s in services])
    exh = PollingSystem(lam, services, gamma(*switch))
    gated = PollingSystem(lam, services, gamma(*switch), "gated")
    rho_i = exh.utilization
    gate = exh.total_switchover_mean / (1 - exh.overall_utilization) * np.sum(rho_i**2)
    assert gated.pseudo_conservation - exh.pseudo_conservation == pytest.approx(gate, rel=1e-9)
    assert exh.work_weighted_wait == pytest.approx(exh.pseudo_conservation / exh.overall_utilization)


def test_single_switchover_equals_list():
    a = PollingSystem([0.1, 0.2], [EXP1, Erlang(2, 2.0)], Exponential(4.0), "gated")
    b = PollingSystem([0.1, 0.2], [EXP1, Erlang(2, 2.0)], [Exponential(4.0)] * 2, "gated")
    assert a.pseudo_conservation == b.pseudo_conservation and a.mean_cycle == b.mean_cycle


def test_symmetric_needs_only_two_moments_for_exhaustive():
    # Ferguson & Aminetzah (1985): exhaustive/gated waits depend on two moments only
    p = PollingSystem([0.2, 0.2], [EXP1, Gamma(1.0, rate=1.0)], [Exponential(5.0), Gamma(1.0, rate=5.0)])
    assert p.symmetric


# --------------------------------------------------------------------------- asymmetric systems


def test_asymmetric_has_no_per_queue_waits():
    p = PollingSystem([0.2, 0.3], [EXP1, EXP1], Deterministic(0.1))
    assert not p.symmetric
    with pytest.raises(NoClosedForm, match="arrival rates differ"):
        _ = p.mean_wait
    np.testing.assert_allclose(p.utilization, [0.2, 0.3])
    np.testing.assert_allclose(p.throughput, [0.2, 0.3])


def test_one_limited_unequal_rates_has_no_work_weighted_wait():
    p = PollingSystem([0.2, 0.3], [EXP1, EXP1], Deterministic(0.1), "limited", limit=1)
    with pytest.raises(NoClosedForm, match="same arrival rate"):
        _ = p.work_weighted_wait
    q = PollingSystem([0.2, 0.2], [EXP1, Deterministic(1.5)], Deterministic(0.1), "limited", limit=1)
    assert q.work_weighted_wait == pytest.approx(q.pseudo_conservation / (q.pseudo_conservation_weights[0] * 0.5))
    with pytest.raises(NoClosedForm, match="same service and switchover distribution"):
        _ = q.mean_wait


def test_k_limited_has_no_law():
    p = PollingSystem([0.2, 0.2], [EXP1, EXP1], Deterministic(0.1), "limited", limit=2)
    for attr in ("pseudo_conservation", "pseudo_conservation_weights", "work_weighted_wait", "mean_wait"):
        with pytest.raises(NoClosedForm, match="k = 2"):
            getattr(p, attr)
    assert p.mean_cycle == pytest.approx(0.2 / 0.6)


# --------------------------------------------------------------------------- stability


@pytest.mark.parametrize("discipline", ["exhaustive", "gated", "limited"])
def test_overload_is_unstable(discipline):
    with pytest.raises(UnstableSystem, match="rho = 1") as info:
        PollingSystem([0.5, 0.5], [EXP1, EXP1], Deterministic(0.1), discipline,
                      1 if discipline == "limited" else None)
    assert info.value.utilization == pytest.approx(1.0)


def test_limited_stability_condition():
    # rho = 0.6, r = 2 * 0.5 = 1: 1-limited needs 0.6 + lam_i * 1 / 1 < 1 -> fails for lam_i = 0.4
    with pytest.raises(UnstableSystem, match=r"rho \+ lambda_i E\[R\] / k < 1.*got 1 for queue 1"):
        PollingSystem([0.2, 0.4], [EXP1, Deterministic(1.0)], Deterministic(0.5), "limited", limit=1)
    # k = 2 halves the requirement: 0.6 + 0.4 / 2 = 0.8 < 1
    PollingSystem([0.2, 0.4], [EXP1, Deterministic(1.0)], Deterministic(0.5), "limited", limit=2)
    # exhaustive only needs rho < 1
    PollingSystem([0.2, 0.4], [EXP1, Deterministic(1.0)], Deterministic(0.5))
    with pytest.raises(UnstableSystem, match="'web'"):
        check_polling_stability([0.2, 0.4], [1.0, 1.0], 1.0, "limited", 1, names=["db", "web"])


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(discipline="fifo"), "discipline"),
    (dict(discipline="limited"), "limit must be an integer >= 1"),
    (dict(discipline="limited", limit=0), "limit"),
    (dict(discipline="gated", limit=2), "limit must be None"),
    (dict(switchovers=[Deterministic(0.1)]), "one entry per queue (2"),
    (dict(switchovers=0.1), "switchovers must be a Distribution"),
    (dict(switchovers=[0.1, 0.1]), "switchovers[0]"),
    (dict(services=[EXP1]), "one entry per class"),
    (dict(arrival_rates=[0.1, -0.1]), "arrival_rates must be > 0"),
])
def test_bad_input(kwargs, fragment):
    args = dict(arrival_rates=[0.1, 0.2], services=[EXP1, EXP1], switchovers=Deterministic(0.1))
    args.update(kwargs)
    with pytest.raises(InvalidParameter) as info:
        PollingSystem(**args)
    assert fragment in str(info.value)


# --------------------------------------------------------------------------- predict(Scenario)


def polling_scenario(rates, services, discipline="exhaustive", switchover=SWITCH, limit=None, **kw):
    vms = [vm.VM(f"vm{i}", Exponential(lam), s) for i, (lam, s) in enumerate(zip(rates, services, strict=True))]
    return vm.Scenario(kw.pop("pcpus", 1), vms, policy=vm.policies.Polling(discipline, switchover, limit), **kw)


def test_predict_symmetric():
    pred = vm.predict(polling_scenario([0.2] * 3, [EXP1] * 3))
    assert pred.exact and "symmetric" in pred.model
    for group in ("all", "vm0", "vm1", "vm2"):
        assert pred.value("mean_wait", group) == pytest.approx(1.8)
        assert pred.value("mean_response", group) == pytest.approx(2.8)
    assert pred.value("mean_number") == pytest.approx(3 * 0.56)
    assert pred.value("mean_queue_length") == pytest.approx(3 * 0.36)
    assert pred.value("work_weighted_wait") == pytest.approx(1.8)
    assert pred.value("utilization") == pytest.approx(0.6)


def test_predict_asymmetric():
    sc = polling_scenario([0.2, 0.3], [EXP1, Deterministic(1.0)], switchover=Deterministic(0.5))
    pred = vm.predict(sc)
    assert pred.exact and "pseudo-conservation" in pred.model
    assert set(pred.values["metric"]) == {"utilization", "throughput", "work_weighted_wait"}
    assert pred.value("work_weighted_wait") == pytest.approx(1.44)
    assert pred.value("utilization", "vm1") == pytest.approx(0.3)
    lim = vm.predict(polling_scenario([0.2, 0.3], [EXP1, EXP1], "limited", limit=1))
    assert set(lim.values["metric"]) == {"utilization", "throughput"}


def test_predict_one_vm_is_vacation_model():
    pred = vm.predict(polling_scenario([0.5], [EXP1], switchover=Exponential(5.0)))
    assert pred.value("mean_wait") == pytest.approx(1.0 + 0.2)  # M/M/1 wait + E[V^2]/(2E[V]) = 0.2
    assert "work_weighted_wait" not in set(pred.values["metric"])


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(pcpus=2), "pcpus=2"),
    (dict(capacity=10), "capacity=10"),
])
def test_predict_no_closed_form(kwargs, fragment):
    with pytest.raises(NoClosedForm, match=fragment):
        vm.predict(polling_scenario([0.2, 0.2], [EXP1, EXP1], **kwargs))


def test_predict_needs_poisson():
    vms = [vm.VM("a", Deterministic(5.0), EXP1), vm.VM("b", Exponential(0.2), EXP1)]
    sc = vm.Scenario(1, vms, policy=vm.policies.Polling("gated", Deterministic(0.1)))
    with pytest.raises(NoClosedForm, match=r"Poisson.*\['a'\]"):
        vm.predict(sc)


def test_predict_unstable_limited():
    # rho + lambda_i r / k = 0.6 + 0.3 * 1.4 > 1, although rho = 0.6 < 1
    sc = polling_scenario([0.3, 0.3], [EXP1, EXP1], "limited", switchover=Deterministic(0.7), limit=1)
    with pytest.raises(UnstableSystem, match="k-limited"):
        vm.predict(sc)
    assert math.isfinite(vm.predict(polling_scenario([0.3, 0.3], [EXP1, EXP1], "gated",
                                                     switchover=Deterministic(0.4))).value("utilization"))
