"""Issue 12, item 3: simulate warns (VirtmodelWarning) when a run is too short to trust; numbers unchanged."""

from __future__ import annotations

import warnings

import pytest

import virtmodel as vm
from virtmodel.dists import Exponential
from virtmodel.errors import VirtmodelWarning


def single(rate, **kw):
    return vm.Scenario(1, [vm.VM("a", Exponential(rate), Exponential(1.0))], **kw)


def run(scenario, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = vm.simulate(scenario, **kw)
    return res, [w for w in caught if issubclass(w.category, VirtmodelWarning)]


def test_warning_class_is_documented_exported_and_a_userwarning():
    assert vm.VirtmodelWarning is VirtmodelWarning and "VirtmodelWarning" in vm.__all__
    assert issubclass(VirtmodelWarning, UserWarning) and not issubclass(VirtmodelWarning, RuntimeWarning)
    assert "what to do" in VirtmodelWarning.__doc__


def test_near_critical_load_warns_once_with_every_reason():
    """Load 0.999, 20,000 customers x 5: the issue's interval of about (34, 211) around 123."""
    res, caught = run(single(0.999), customers=20_000, replications=5, seed=1)
    assert len(caught) == 1
    text = str(caught[0].message)
    assert "too short to trust" in text and "warm-up cut" in text
    assert "half-width exceeds half the mean" in text and "mean_response[all]" in text
    assert "more customers" in text and "fewer replications of longer runs" in text
    low, high = res.ci("mean_response")
    assert (high - low) / 2 > res.mean("mean_response") / 2  # the number itself is not clipped


def test_overload_warns_about_littles_law_and_no_steady_state():
    res, caught = run(single(1.2, allow_overload=True), customers=2_000, replications=3, seed=1)
    assert len(caught) == 1
    text = str(caught[0].message)
    assert "overloaded" in text and "Little's law is off by more than 5%" in text
    assert "too short to trust" in text and "needs a lower load" in text


def test_overload_alone_says_a_longer_run_will_not_help():
    """A saturated host simulated long enough: only the overload reason, and advice that fits it."""
    text = overload_only_message()
    assert text.startswith("simulate: do not read these delays as steady-state values: the system is overloaded")
    assert "A longer run will not help" in text and "too short" not in text


def overload_only_message():
    from virtmodel.sim.trust import warn_if_untrusted

    res = vm.simulate(single(0.5), customers=20_000, replications=5, seed=1)  # a quiet run (see below), reused
    over = single(1.2, allow_overload=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_if_untrusted(res, over)
    assert len(caught) == 1
    return str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VirtmodelWarning)
        again = vm.simulate(single(1.2, allow_overload=True), customers=2_000, replications=3, seed=1)
    assert again.mean("mean_response") == res.mean("mean_response")  # warning never changes the number


def test_warning_points_at_the_callers_line():
    _, caught = run(single(0.999), customers=20_000, replications=5, seed=1)
    assert caught[0].filename == __file__


@pytest.mark.parametrize("customers, replications", [(20_000, 5), (2_000, 1)])
def test_a_sound_run_is_quiet(customers, replications):
    """M/M/1 at load 0.5: half-widths about 2-15 % of the mean, Little's gap well under 5 %."""
    _, caught = run(single(0.5), customers=customers, replications=replications, seed=1)
    assert caught == []


def short_point(load):
    return single(load)


@pytest.mark.parametrize("backend", ["serial", "processes"])
def test_sweep_reports_short_runs_once(backend):
    """Three short points (300 customers x 2): one VirtmodelWarning naming them, not one per point."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = vm.sweep(short_point, {"load": [0.5, 0.6, 0.7]}, replications=2, seed=1, customers=300,
                      backend=backend, workers=2, progress=False)
    mine = [w for w in caught if issubclass(w.category, VirtmodelWarning)]
    assert len(mine) == 1 and "of 3 sweep points gave simulations not to be trusted" in str(mine[0].message)
    assert df["error"].isna().all()
