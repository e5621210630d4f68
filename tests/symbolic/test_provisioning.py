"""Issue 16 derivations (derive layer) agree with virtmodel.analytic.lifecycle (predict layer) to 1e-9.

Each derivation builds (its internal sympy checks run: the PS mean completion
against the completion-spacing argument, the order-statistics form against
the phase-by-phase telescoping for N = 4, the level maximum against
inclusion-exclusion), and its lambdified result equals the numeric model
over the valid parameter range (hypothesis).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import virtmodel as vm
from virtmodel.analytic import lifecycle as lc
from virtmodel.dists import Exponential
from virtmodel.symbolic import derivations, derive

REL = 1e-9
NAMES = ["lifecycle.shared_install_makespan", "lifecycle.ps_mean_completion_exponential",
         "lifecycle.ps_order_statistic", "lifecycle.max_two_exponentials", "lifecycle.dynamic_loading_crossover"]
pos = st.floats(min_value=1e-3, max_value=1e3)
ns = st.integers(min_value=1, max_value=200)


@pytest.mark.parametrize("name", NAMES)
def test_registered_and_builds(name):
    assert name in derivations()
    d = derive(name)
    assert d.steps and d.latex()


@settings(max_examples=25, deadline=None)
@given(n=ns, size=pos, bandwidth=pos)
def test_shared_install(n, size, bandwidth):
    got = derive("lifecycle.shared_install_makespan")(n_vms=n, image_size=size, bandwidth=bandwidth)
    assert math.isclose(got, lc.shared_install_makespan(n, size, bandwidth), rel_tol=REL)


@settings(max_examples=25, deadline=None)
@given(n=ns, rate=pos, bandwidth=pos)
def test_ps_mean_exponential(n, rate, bandwidth):
    got = derive("lifecycle.ps_mean_completion_exponential")(n_vms=n, size_rate=rate, bandwidth=bandwidth)
    assert math.isclose(got, lc.ps_mean_completion(n, Exponential(rate), bandwidth), rel_tol=REL)


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(pos, min_size=4, max_size=4), bandwidth=pos)
def test_ps_order_statistic(sizes, bandwidth):
    s = sorted(sizes)
    got = derive("lifecycle.ps_order_statistic")(s1=s[0], s2=s[1], s3=s[2], bandwidth=bandwidth)
    assert math.isclose(got, sorted(lc.ps_completion_times(sizes, bandwidth))[2], rel_tol=REL)


@settings(max_examples=20, deadline=None)
@given(a=st.floats(min_value=0.05, max_value=20.0), b=st.floats(min_value=0.05, max_value=20.0))
def test_level_of_two(a, b):
    got = derive("lifecycle.max_two_exponentials")(rate_a=a, rate_b=b)
    host = vm.HostBringUp([], [vm.Component("x", Exponential(a)), vm.Component("y", Exponential(b))],
                          initialisation="hybrid")
    assert math.isclose(got, vm.predict(host).value("host_ready_time"), rel_tol=REL)


@settings(max_examples=20, deadline=None)
@given(load=st.floats(min_value=1e-2, max_value=1e2), over=st.floats(min_value=1e-2, max_value=1e2))
def test_crossover(load, over):
    f = derive("lifecycle.dynamic_loading_crossover")(load_time=load, on_demand_overhead=over)
    m = 20  # at the crossover fraction, static and dynamic bring the last VM up together
    mods = [vm.Module(f"m{i}", load) for i in range(m)]
    needs = {"vm": [f"m{i}" for i in range(m)]}
    static = vm.predict(vm.HostBringUp(mods, loading="static", vm_modules=needs)).value("makespan")
    dynamic = vm.predict(vm.HostBringUp(mods, loading="dynamic", vm_modules=needs,
                                        on_demand_overhead=over)).value("makespan")
    assert math.isclose(f * dynamic, static, rel_tol=REL)
