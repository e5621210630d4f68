"""Tests of predict() for the scheduling policies (virtmodel.analytic.solve, non-FCFS part)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import virtmodel as vm
from virtmodel.analytic.queues import MG1, MM1, MMc
from virtmodel.analytic.scheduling import MG1SRPT, MMcPriority
from virtmodel.dists import Deterministic, Erlang, Exponential, HyperExponential
from virtmodel.errors import InvalidParameter, NoClosedForm
from virtmodel.policies import (
    FCFS,
    PSJF,
    SJF,
    SRPT,
    DelayDependentPriority,
    Priority,
    ProcessorSharing,
    RoundRobin,
)

EXP = Exponential(1.0)


def _scenario(policy, vms, pcpus=1):
    return vm.Scenario(pcpus, vms, policy=policy)


def _vm(name, rate, service=EXP, priority=0, arrival=None):
    return vm.VM(name, arrival or Exponential(rate), service, priority=priority)


def _check_little(pred, groups):
    for g in groups:
        assert pred.value("mean_number", g) == pytest.approx(
            pred.value("throughput", g) * pred.value("mean_response", g), rel=1e-12)


def test_priority_non_preemptive_cobham():
    sc = _scenario(Priority(), [_vm("web", 0.4, priority=0), _vm("batch", 0.4, priority=1)])
    p = vm.predict(sc)
    assert p.exact and "non-preemptive" in p.model
    assert p.value("mean_wait", "web") == pytest.approx(4 / 3)
    assert p.value("mean_wait", "batch") == pytest.approx(20 / 3)
    assert p.value("mean_wait") == pytest.approx(MM1(0.8, 1.0).mean_wait)
    assert p.value("mean_queue_length", "batch") == pytest.approx(0.4 * 20 / 3)
    assert p.value("mean_queue_length") == pytest.approx(p.value("mean_number") - 0.8)
    _check_little(p, ["all", "web", "batch"])
    assert p.response_given_size(2.0, "batch") == pytest.approx(20 / 3 + 2.0)
    with pytest.raises(InvalidParameter, match="VM name"):
        p.response_given_size(2.0)


def test_priority_vms_sharing_a_class():
    # web and api share priority 0 (one FCFS class): same wait, own service time added
    vms = [_vm("web", 0.2, Deterministic(0.5), 0), _vm("api", 0.2, Erlang(2, 2.0), 0),
           _vm("batch", 0.3, HyperExponential.balanced(1.0, 4.0), 1)]
    p = vm.predict(_scenario(Priority(), vms))
    r = (0.2 * 0.25 + 0.2 * Erlang(2, 2.0).moment(2) + 0.3 * 5.0) / 2
    sigma0 = 0.2 * 0.5 + 0.2 * 1.0
    w0 = r / (1 - sigma0)
    assert p.value("mean_wait", "web") == pytest.approx(w0)
    assert p.value("mean_wait", "api") == pytest.approx(w0)
    assert p.value("mean_response", "web") == pytest.approx(w0 + 0.5)
    assert p.value("mean_response", "api") == pytest.approx(w0 + 1.0)
    assert p.value("mean_wait", "batch") == pytest.approx(r / ((1 - sigma0) * (1 - sigma0 - 0.3)))
    # preemptive resume: VM i's response = E[S_i]/(1 - sigma_{k-1}) + R_k/((1 - sigma_{k-1})(1 - sigma_k))
    pp = vm.predict(_scenario(Priority(preemptive=True), vms))
    r0 = (0.2 * 0.25 + 0.2 * Erlang(2, 2.0).moment(2)) / 2
    assert pp.value("mean_response", "api") == pytest.approx(1.0 + r0 / (1 - sigma0))
    assert pp.value("mean_response", "batch") == pytest.approx(
        1.0 / (1 - sigma0) + r / ((1 - sigma0) * (1 - sigma0 - 0.3)))
    assert "mean_wait" not in set(pp.values["metric"])
    _check_little(pp, ["all", "web", "api", "batch"])


def test_priority_several_pcpus():
    vms = [_vm("a", 0.8, priority=0), _vm("b", 0.6, priority=1)]
    p = vm.predict(_scenario(Priority(), vms, pcpus=2))
    ref = MMcPriority([0.8, 0.6], 1.0, 2)
    assert p.value("mean_wait", "b") == pytest.approx(ref.mean_wait[1])
    assert p.value("mean_wait") == pytest.approx(MMc(1.4, 1.0, 2).mean_wait)
    pp = vm.predict(_scenario(Priority(preemptive=True), vms, pcpus=2))
    assert pp.value("mean_response") == pytest.approx(MMc(1.4, 1.0, 2).mean_response)
    with pytest.raises(NoClosedForm, match="exponential service with one common rate"):
        vm.predict(_scenario(Priority(), [_vm("a", 0.8), _vm("b", 0.6, Exponential(2.0))], pcpus=2))


@pytest.mark.parametrize("policy", [SJF(), SRPT(), PSJF(), ProcessorSharing()])
def test_size_based_rows(policy):
    vms = [_vm("a", 0.3, HyperExponential.balanced(1.0, 6.0)), _vm("b", 0.4, Deterministic(0.5))]
    p = vm.predict(_scenario(policy, vms))
    assert p.exact
    metrics = set(p.values["metric"])
    assert {"utilization", "throughput", "mean_response", "mean_number"} <= metrics
    assert ("mean_wait" in metrics) == isinstance(policy, (SJF, ProcessorSharing))
    assert set(p.values["group"]) == {"all", "a", "b"}
    assert p.value("utilization") == pytest.approx(0.5)
    assert p.value("throughput", "b") == pytest.approx(0.4)
    _check_little(p, ["all", "a", "b"])
    if "mean_queue_length" in metrics:
        assert p.value("mean_queue_length") == pytest.approx(p.value("mean_number") - 0.5)
    assert np.isfinite(p.response_given_size(1.0))


def test_srpt_prediction_matches_model_and_beats_fcfs():
    vms = [_vm("a", 0.5, HyperExponential.balanced(1.0, 8.0)), _vm("b", 0.3, EXP)]
    p = vm.predict(_scenario(SRPT(), vms))
    model = MG1SRPT([0.5, 0.3], [vm_.service for vm_ in vms])
    assert p.value("mean_response", "b") == pytest.approx(model.mean_response[1])
    fcfs = vm.predict(_scenario(FCFS(), vms))
    assert p.value("mean_response") < fcfs.value("mean_response")
    assert p.response_given_size(0.7, "a") == pytest.approx(model.response_given_size(0.7))


def test_ps_equals_fcfs_for_exponential_and_mmc_on_several_pcpus():
    vms = [_vm("a", 0.3), _vm("b", 0.5)]
    p = vm.predict(_scenario(ProcessorSharing(), vms))
    assert p.value("mean_response") == pytest.approx(MM1(0.8, 1.0).mean_response)
    assert p.value("mean_wait") == 0.0
    p2 = vm.predict(_scenario(ProcessorSharing(), [_vm("a", 0.9), _vm("b", 0.9)], pcpus=2))
    assert p2.value("mean_number") == pytest.approx(MMc(1.8, 1.0, 2).mean_number)
    rr2 = vm.predict(_scenario(RoundRobin(quantum=0.2), [_vm("a", 0.9), _vm("b", 0.9)], pcpus=2))
    assert rr2.value("mean_response", "a") == pytest.approx(MMc(1.8, 1.0, 2).mean_response)
    with pytest.raises(NoClosedForm, match="switch_cost"):
        vm.predict(_scenario(RoundRobin(quantum=0.2, switch_cost=0.01), [_vm("a", 0.5)], pcpus=2))
    with pytest.raises(NoClosedForm, match="exponential"):
        vm.predict(_scenario(ProcessorSharing(), [_vm("a", 0.5, Deterministic(1.0))], pcpus=2))


def test_round_robin_prediction():
    vms = [_vm("a", 0.3), _vm("b", 0.4)]
    p0 = vm.predict(_scenario(RoundRobin(quantum=0.1), vms))
    assert p0.exact
    assert p0.value("mean_response") == pytest.approx(MM1(0.7, 1.0).mean_response)
    assert p0.value("mean_queue_length") == pytest.approx(MM1(0.7, 1.0).mean_queue_length)
    p1 = vm.predict(_scenario(RoundRobin(quantum=0.1, switch_cost=0.005), vms))
    assert p1.exact and p1.value("mean_response") > p0.value("mean_response")
    assert p1.value("utilization") > 0.7
    assert "mean_queue_length" not in set(p1.values["metric"])
    with pytest.raises(NoClosedForm):
        p1.response_given_size(1.0)
    approx = vm.predict(_scenario(RoundRobin(quantum=0.1, switch_cost=0.005),
                                  [_vm("a", 0.3, Erlang(2, 2.0)), _vm("b", 0.4)]))
    assert not approx.exact and "approximation" in approx.model
    assert approx.response_given_size(0.25, "a") == pytest.approx(
        (0.25 + 3 * 0.005) / (1 - approx.value("utilization")))


def test_delay_dependent_prediction():
    vms = [_vm("web", 0.3), _vm("batch", 0.4)]
    p = vm.predict(_scenario(DelayDependentPriority(slope={"web": 4.0, "batch": 1.0}), vms))
    assert p.exact
    assert p.value("mean_wait", "web") < p.value("mean_wait") < p.value("mean_wait", "batch")
    # conservation: sum rho_i W_i = rho W0 / (1 - rho)
    lhs = 0.3 * p.value("mean_wait", "web") + 0.4 * p.value("mean_wait", "batch")
    assert lhs == pytest.approx(0.7 * 0.7 / 0.3)
    equal = vm.predict(_scenario(DelayDependentPriority(), vms))
    assert equal.value("mean_wait", "web") == pytest.approx(MM1(0.7, 1.0).mean_wait)
    with pytest.raises(NoClosedForm, match=r"offsets a_i != 0"):
        vm.predict(_scenario(DelayDependentPriority(offset={"web": 1.0}), vms))
    with pytest.raises(NoClosedForm, match="one pCPU"):
        vm.predict(_scenario(DelayDependentPriority(), vms, pcpus=2))


@pytest.mark.parametrize("policy", [SJF(), SRPT(), PSJF(), Priority(), ProcessorSharing(),
                                    RoundRobin(0.1), DelayDependentPriority()])
def test_non_poisson_arrivals_have_no_closed_form(policy):
    vms = [_vm("a", 0.3), _vm("b", 0.3, arrival=Deterministic(2.0))]
    with pytest.raises(NoClosedForm, match="not Poisson"):
        vm.predict(_scenario(policy, vms))


@pytest.mark.parametrize("policy", [SJF(), SRPT(), PSJF()])
def test_size_based_several_pcpus_have_no_closed_form(policy):
    with pytest.raises(NoClosedForm, match="one pCPU"):
        vm.predict(_scenario(policy, [_vm("a", 0.5), _vm("b", 0.5)], pcpus=2))


def test_single_vm_reports_all_only_and_fcfs_conditional():
    p = vm.predict(_scenario(SJF(), [_vm("a", 0.5)]))
    assert set(p.values["group"]) == {"all"}
    fcfs = vm.predict(_scenario(FCFS(), [_vm("a", 0.5, Deterministic(1.0)), _vm("b", 0.2)]))
    wait = MG1(0.7, _Mix()).mean_wait
    assert fcfs.response_given_size(3.0, "b") == pytest.approx(wait + 3.0)
    assert fcfs.response_given_size(np.array([0.0, 1.0])) == pytest.approx([wait, wait + 1.0])
    with pytest.raises(InvalidParameter, match="group"):
        fcfs.response_given_size(1.0, "nope")
    bare = vm.Prediction(fcfs.values, True, "m", "s")
    with pytest.raises(NoClosedForm):
        bare.response_given_size(1.0)


class _Mix:
    """Service of the merged stream of test_single_vm_reports_all_only_and_fcfs_conditional."""

    mean = (0.5 * 1.0 + 0.2 * 1.0) / 0.7

    @staticmethod
    def moment(k):
        return (0.5 * 1.0 + 0.2 * math.factorial(k)) / 0.7
