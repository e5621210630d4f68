"""The I/O device derivations (derive layer) agree with virtmodel.analytic.io and IOScenario.predict to 1e-9.

Each derivation builds, and its lambdified result equals the numeric code
over the valid parameter range (hypothesis).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import virtmodel as vm
from virtmodel.analytic import io as A
from virtmodel.dists import Deterministic, Empirical, Gamma
from virtmodel.symbolic import derivations, derive

REL = 1e-9
NAMES = ["io.request_time_mean", "io.request_time_second_moment", "io.fcfs_mean_response",
         "io.partition_mean_response", "io.gps_saturated_mean_response", "io.token_bucket_delay"]

pos = st.floats(min_value=1e-3, max_value=1e3)
frac = st.floats(min_value=0.01, max_value=0.95)
scv = st.floats(min_value=0.05, max_value=20.0)


def close(a, b):
    return math.isclose(float(a), float(b), rel_tol=REL)


@pytest.mark.parametrize("name", NAMES)
def test_derivation_builds(name):
    assert name in derivations()
    d = derive(name)
    assert len(d.steps) >= 2 and d.source
    assert d.result.free_symbols <= {s for _, s in d.parameters}


@settings(max_examples=60, deadline=None)
@given(a=st.floats(min_value=0.0, max_value=10.0), bw=pos, mean=pos, c=scv, exits=st.integers(0, 5),
       cost=st.floats(min_value=1e-4, max_value=1.0))
def test_request_time_moments(a, bw, mean, c, exits, cost):
    size = Gamma(1 / c, 1 / mean)  # mean `mean`, scv c
    law = A.request_time(size, bw, a, Deterministic(float(exits)) if exits else None, Deterministic(cost))
    p = dict(overhead=a, bandwidth=bw, size_mean=size.mean, size_second_moment=size.moment(2),
             exits_mean=float(exits), exits_second_moment=float(exits**2), cost_mean=cost,
             cost_second_moment=cost**2)
    assert close(derive("io.request_time_mean")(**{k: p[k] for k in derive("io.request_time_mean").parameter_names}),
                 law.mean)
    assert close(derive("io.request_time_second_moment")(**p), law.moment(2))


@settings(max_examples=60, deadline=None)
@given(batch=st.integers(1, 16), cost=st.floats(min_value=1e-3, max_value=1.0))
def test_virtio_exits_second_moment(batch, cost):
    # Bernoulli(1/b) notifications: E[N] = E[N^2] = 1/b
    law = A.request_time(Deterministic(1.0), 1.0, 0.0, A.notifications(batch), Deterministic(cost))
    d = derive("io.request_time_second_moment")
    assert close(d(overhead=0.0, bandwidth=1.0, size_mean=1.0, size_second_moment=1.0, exits_mean=1 / batch,
                   exits_second_moment=1 / batch, cost_mean=cost, cost_second_moment=cost**2), law.moment(2))
    assert isinstance(A.notifications(batch), Empirical)


@settings(max_examples=60, deadline=None)
@given(loads=st.tuples(frac, frac, frac), means=st.tuples(pos, pos, pos), scvs=st.tuples(scv, scv, scv))
def test_fcfs_mean_response(loads, means, scvs):
    total = sum(loads)
    rho = [x / total * 0.9 for x in loads]
    laws = [Gamma(1 / c, 1 / m) for m, c in zip(means, scvs, strict=True)]
    lam = [r_ / law.mean for r_, law in zip(rho, laws, strict=True)]
    numeric = A.fcfs_response(lam, laws)[0].mean_response
    params = {f"arrival_rate_{k + 1}": lam[k] for k in range(3)}
    params |= {f"mean_{k + 1}": laws[k].mean for k in range(3)}
    params |= {f"second_moment_{k + 1}": laws[k].moment(2) for k in range(3)}
    assert close(derive("io.fcfs_mean_response")(**params), numeric)


@settings(max_examples=60, deadline=None)
@given(load=frac, share=st.floats(min_value=0.05, max_value=1.0), mean=pos, c=scv)
def test_partition_mean_response(load, share, mean, c):
    law = Gamma(1 / c, 1 / mean)
    lam = load * share / law.mean
    numeric = A.partition_response(lam, law, share).mean_response
    assert close(derive("io.partition_mean_response")(arrival_rate=lam, service_mean=law.mean,
                                                      service_second_moment=law.moment(2), share=share), numeric)


@settings(max_examples=40, deadline=None)
@given(load=frac, w=st.floats(min_value=0.1, max_value=10), others=st.lists(st.floats(0.1, 10), min_size=1,
                                                                               max_size=3))
def test_gps_against_backlogged_neighbours(load, w, others):
    rate = w / (w + sum(others))
    lam = load * rate
    vms = [vm.IOVM("x", vm.IOStream(lam, Deterministic(1.0)))]
    vms += [vm.IOVM(f"o{i}", vm.IOStream(math.inf, Deterministic(1.0))) for i in range(len(others))]
    weights = {"x": w} | {f"o{i}": o for i, o in enumerate(others)}
    sc = vm.IOScenario(vm.Device(1.0), vms, strategy=vm.io.Dynamic("fair", weights=weights))
    p = vm.predict(sc)
    assert p.exact
    expected = derive("io.gps_saturated_mean_response")(arrival_rate=lam, service_mean=1.0,
                                                         service_second_moment=1.0, weight=w,
                                                         others_weight=sum(others))
    assert close(p.value("mean_response", "x"), expected)


@settings(max_examples=60, deadline=None)
@given(load=frac, rate=pos)
def test_token_bucket_depth_one(load, rate):
    lam = load * rate
    assert close(derive("io.token_bucket_delay")(arrival_rate=lam, token_rate=rate), A.token_bucket_delay(lam, rate))
