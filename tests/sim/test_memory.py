"""Memory overcommit over time (virtmodel.sim.memory): targets, balloon, swapping and the latency penalty."""

from __future__ import annotations

import numpy as np
import pytest

from virtmodel.analytic.allocation import idle_memory_tax
from virtmodel.errors import InvalidParameter
from virtmodel.sim.memory import simulate_memory


def test_nothing_reclaimed_without_overcommit():
    out = simulate_memory(2000, [1000, 1000], [[100, 900], [500, 1000]])
    assert (out.balloon == 0).all() and (out.swapped == 0).all() and (out.miss == 0).all()
    assert (out.slowdown == 1).all()


def test_instant_balloon_targets_are_the_idle_memory_tax():
    w = np.array([[100.0, 200.0], [300.0, 250.0], [50.0, 50.0]])
    out = simulate_memory(1500, [1000, 1000, 1000], w)
    for t in range(2):
        target = idle_memory_tax(1500, [1, 1, 1], w[:, t], 0.75, limits=[1000] * 3)
        got = out[out.step == t]
        assert got.target.to_numpy() == pytest.approx(target)
        assert got.balloon.to_numpy() == pytest.approx(1000 - target)  # balloon takes it all, nothing swapped
        assert (got.swapped == 0).all() and (got.miss == 0).all()  # every target holds its working set


def test_slow_balloon_swaps_until_it_catches_up():
    """Constant working sets, balloon 100 per step: the hypervisor swaps the rest, less each step."""
    w = np.tile([[200.0], [300.0]], (1, 6))
    out = simulate_memory(1200, [1000, 1000], w, balloon_rate=100)
    vm0 = out[out.vm == 0]
    target = vm0.target.iloc[0]  # 562.5
    need = 1000 - target  # 437.5 to reclaim: 5 steps of 100
    expect_swapped = np.maximum(0, need - 100 * np.arange(1, 7))
    assert vm0.swapped.to_numpy() == pytest.approx(expect_swapped)
    # random hypervisor swapping: a fraction X / (L - B) of the working set is missing
    first = vm0.iloc[0]
    assert first.miss == pytest.approx(first.swapped / (1000 - first.balloon))
    assert vm0.miss.iloc[-1] == 0


def test_balloon_cap_and_guest_paging():
    # one VM, 1,000 MB configured on a host of 300 MB (with a second, idle reserved VM): target 300 at most
    w = np.array([[600.0], [0.0]])
    out = simulate_memory(400, [1000, 100], w, reservations=[0, 100], max_balloon=0.5,
                          accesses_per_unit=20, swap_latency=0.01)
    row = out[out.vm == 0].iloc[0]
    assert row.target == pytest.approx(300.0) and row.balloon == pytest.approx(500.0)  # capped at 50 %
    assert row.swapped == pytest.approx(200.0)  # 500 usable, 300 backed
    # by hand: resident = (1 - 200/500) * min(1, 500/600) = 0.5, so half the working set misses
    assert row.miss == pytest.approx(0.5)
    assert row.slowdown == pytest.approx(1 + 20 * 0.5 * 0.01)


def test_bad_input():
    with pytest.raises(InvalidParameter, match="must be >= reservations"):
        simulate_memory(1000, [100, 100], [[0], [0]], reservations=[200, 0])
    with pytest.raises(InvalidParameter, match="negative demand"):
        simulate_memory(1000, [100, 100], [[-1], [0]])
    with pytest.raises(InvalidParameter, match="configured size"):
        simulate_memory(1000, [100, 100], [[200], [0]])
    with pytest.raises(InvalidParameter, match="sum to at most memory"):
        simulate_memory(100, [100, 100], [[0], [0]], reservations=[60, 60])
    with pytest.raises(InvalidParameter):
        simulate_memory(100, [100, 100], [[0], [0]], balloon_rate=0)
