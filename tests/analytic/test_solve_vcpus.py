"""FCFS with vCPU limits: dedicated vCPUs are exact per-VM queues; overcommitted ones give bounds."""

from __future__ import annotations

import pytest

import virtmodel as vm
from virtmodel.analytic import MG1, MMc
from virtmodel.dists import Deterministic, Exponential, HyperExponential
from virtmodel.errors import InvalidParameter, NoClosedForm, UnstableSystem


def _dedicated():
    return vm.Scenario(4, [
        vm.VM("web", Exponential(0.5), Exponential(1.0), vcpus=1),
        vm.VM("db", Exponential(1.0), Exponential(1.0), vcpus=2),
        vm.VM("batch", Exponential(0.4), HyperExponential.balanced(1.0, 3.0), vcpus=1),
    ])


def test_dedicated_values():
    sc = _dedicated()
    pred = vm.predict(sc)
    assert pred.exact and "dedicated" in pred.model
    assert pred.value("mean_wait", "web") == pytest.approx(MG1(0.5, Exponential(1.0)).mean_wait)
    assert pred.value("mean_response", "db") == pytest.approx(MMc(1.0, 1.0, 2).mean_response)
    assert pred.value("mean_wait", "batch") == pytest.approx(MG1(0.4, HyperExponential.balanced(1.0, 3.0)).mean_wait)
    lam = sc.arrival_rate
    overall = sum(v.arrival_rate * pred.value("mean_response", v.name) for v in sc.vms) / lam
    assert pred.value("mean_response") == pytest.approx(overall)
    assert pred.value("mean_number") == pytest.approx(sum(pred.value("mean_number", v.name) for v in sc.vms))
    assert pred.value("utilization") == pytest.approx(sc.utilization)
    assert pred.response_given_size(2.0, "web") == pytest.approx(pred.value("mean_wait", "web") + 2.0)
    with pytest.raises(InvalidParameter):
        pred.response_given_size(2.0, "all")


def test_dedicated_matches_simulation():
    tab = vm.compare(_dedicated(), customers=30_000, replications=8, seed=11)
    rows = tab[tab.metric.isin(["mean_wait", "mean_response", "mean_number"])]
    assert rows.exact.all()
    # 12 rows at 95 %: allow one chance miss
    assert (~rows.agrees).sum() <= 1, rows.to_string()


def test_limits_that_never_bind_fall_back_to_plain_fcfs():
    plain = vm.Scenario(2, [vm.VM("a", Exponential(1.0), Exponential(1.0))])
    capped = vm.Scenario(2, [vm.VM("a", Exponential(1.0), Exponential(1.0), vcpus=4)])
    assert vm.predict(capped).model == vm.predict(plain).model
    assert vm.predict(capped).value("mean_response") == pytest.approx(vm.predict(plain).value("mean_response"))


def test_overcommitted_is_a_lower_bound():
    # VM "b" has no vCPU limit, so it competes with "a" for both pCPUs
    sc = vm.Scenario(2, [vm.VM("a", Exponential(0.6), Exponential(1.0), vcpus=1),
                         vm.VM("b", Exponential(0.6), Deterministic(1.0))])
    pred = vm.predict(sc)
    assert not pred.exact and "lower bound" in pred.model
    res = vm.simulate(sc, customers=20_000, replications=5, seed=4)
    for group in ("a", "b", "all"):
        assert res.ci("mean_response", group)[1] >= pred.value("mean_response", group)


def test_vcpu_errors():
    with pytest.raises(UnstableSystem):  # host load 0.6 of 2 pCPUs, but VM "a" alone overloads its vCPU
        vm.predict(vm.Scenario(2, [vm.VM("a", Exponential(1.2), Exponential(1.0), vcpus=1)]))
    with pytest.raises(NoClosedForm):
        vm.predict(vm.Scenario(2, [vm.VM("a", Exponential(0.5), Exponential(1.0), vcpus=1)], capacity=5))
