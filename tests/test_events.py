"""Scripted VM lifecycle: validation at construction and behaviour in the simulator."""

import numpy as np
import pytest

import virtmodel as vm
from virtmodel.dists import Deterministic, Exponential
from virtmodel.errors import InvalidParameter, LifecycleError, VirtmodelError
from virtmodel.events import Pause, Resume, Start, Stop
from virtmodel.sim.vmm import Hypervisor


def vms(**b_kwargs):
    return [vm.VM("a", Exponential(0.3), Exponential(1.0)), vm.VM("b", Exponential(0.3), Exponential(1.0), **b_kwargs)]


@pytest.mark.parametrize("events, state", [
    ([Stop("b", 10), Pause("b", 20)], "stopped"),
    ([Resume("a", 5)], "running"),
    ([Start("a", 3)], "running"),
    ([Pause("a", 1), Pause("a", 2)], "paused"),
    ([Pause("a", 1, duration=10), Resume("a", 5)], "running"),  # the duration's own resume at 11 finds it running
])
def test_impossible_transitions_name_the_state(events, state):
    with pytest.raises(LifecycleError, match=f"it is {state}") as info:
        vm.Scenario(1, vms(), events=events)
    assert isinstance(info.value, VirtmodelError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize("make, needle", [
    (lambda: vm.Scenario(1, vms(), events=[Pause("c", 1)]), "'c'"),
    (lambda: vm.Scenario(1, vms(), events=["pause b"]), "events must be"),
    (lambda: vm.Scenario(1, vms(), events=[Stop("b", 1), Start("b", 2, warm=True)]), "warm_boot"),
    (lambda: Pause("b", -1.0), "at must be >= 0"),
    (lambda: Pause("b", 1.0, duration=0), "duration must be > 0"),
    (lambda: Start("b", 1.0, warm="yes"), "warm must be True or False"),
    (lambda: vm.VM("b", Exponential(1), Exponential(2), boot=3.0), "boot must be"),
    (lambda: vm.Scenario(1, vms(), events=[Pause("b", 1)], policy=vm.policies.ProcessorSharing()).policy
     and vm.simulate(vm.Scenario(1, vms(), events=[Pause("b", 1)], policy=vm.policies.ProcessorSharing()),
                     horizon=10, replications=2, seed=1), "pCPU loop"),
])
def test_bad_lifecycle_input(make, needle):
    with pytest.raises(InvalidParameter, match=needle):
        make()


def test_pause_holds_work_until_resume_and_records_transitions():
    sc = vm.Scenario(1, vms(), events=[Pause("b", 100, duration=50)])
    hv = Hypervisor(sc, seed=3)
    hv.run_until(400)
    assert hv.transitions == [(100.0, "b", "paused"), (150.0, "b", "running")]
    rec = hv.records()
    held = (rec.vm == 1) & (rec.arrival > 100) & (rec.arrival < 150)
    assert held.any() and np.all(rec.start[held] >= 150.0)
    other = (rec.vm == 0) & (rec.arrival > 100) & (rec.arrival < 150)
    assert np.nanmin(rec.start[other] - rec.arrival[other]) < 1.0  # VM a keeps running


def test_boot_stages_then_stop_and_warm_start():
    sc = vm.Scenario(1, vms(create=Deterministic(1.0), boot=Deterministic(20.0), warm_boot=Deterministic(2.0)),
                     events=[Stop("b", 300), Start("b", 400, warm=True)])
    hv = Hypervisor(sc, seed=1)
    hv.run_until(1000)
    assert hv.transitions == [(0.0, "b", "created"), (1.0, "b", "booting"), (21.0, "b", "running"),
                              (300.0, "b", "stopped"), (400.0, "b", "booting"), (402.0, "b", "running")]
    rec = hv.records()
    early = (rec.vm == 1) & (rec.arrival < 21)
    assert early.any() and np.all(rec.start[early] >= 21.0)
    refused = (rec.vm == 1) & (rec.arrival > 300) & (rec.arrival < 400)
    assert refused.any() and rec.blocked[refused].all()
    assert not rec.blocked[rec.vm == 0].any()


def test_blocking_reported_when_vms_stop_and_same_seed_same_result():
    """b is stopped for the middle third of the run; its jobs are tiny (mean 0.001) on 2 pCPUs, so none is
    waiting at the stop: the blocking reported is exactly the share of b's arrivals that fall in the stopped
    window, replication by replication (about 1/3; Binomial(n, 1/3) given n Poisson arrivals)."""
    sc = vm.Scenario(2, [vm.VM("a", Exponential(0.3), Exponential(1.0)), vm.VM("b", Exponential(0.3),
                                                                              Exponential(1000.0))],
                     events=[Stop("b", 500), Start("b", 1500)])
    res = vm.simulate(sc, horizon=3000, replications=5, seed=5, warmup=0.0)
    shares = []
    for r in range(5):
        hv = Hypervisor(sc, seed=5, replication=r)
        hv.run_until(3000)
        rec = hv.records()
        b = rec.vm == 1
        stopped = b & (rec.arrival > 500) & (rec.arrival <= 1500)
        assert np.array_equal(rec.blocked[b], stopped[b])  # refused exactly while stopped
        shares.append(stopped.sum() / b.sum())
    assert res.mean("blocking_probability", "b") == pytest.approx(np.mean(shares), rel=1e-12)
    assert res.mean("blocking_probability", "a") == 0
    assert vm.simulate(sc, horizon=3000, replications=5, seed=5, warmup=0.0).equals(res)


def test_pause_during_boot_takes_effect_when_boot_ends():
    sc = vm.Scenario(1, vms(boot=Deterministic(10.0)), events=[Pause("b", 5, duration=20)])
    hv = Hypervisor(sc, seed=2)
    hv.run_until(100)
    assert hv.transitions == [(0.0, "b", "booting"), (10.0, "b", "paused"), (25.0, "b", "running")]
