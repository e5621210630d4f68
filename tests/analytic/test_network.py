"""Closed forms for VM-to-VM networks (virtmodel.analytic.network, virtmodel.network).

Textbook values: the M/M/1 sojourn 1/(mu - lambda) (Kleinrock 1975, vol. 1,
eq. 3.26) summed along a path (Jackson 1963; Kleinrock 1975, §4.8); the
Pollaczek-Khinchine mean wait (Kleinrock 1975, eq. 5.105) for QNA with
Poisson arrivals; Erlang-k quantiles (scipy.stats.gamma) for the
hypoexponential with equal rates.  Derivations: the sympy results equal the
numeric code over the valid range (hypothesis, 1e-9 relative).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import virtmodel as vm
from virtmodel.analytic import network as N
from virtmodel.analytic.queues import MM1
from virtmodel.dists import Deterministic, Exponential, LogNormal
from virtmodel.errors import InvalidParameter, UnstableSystem
from virtmodel.symbolic import derive


def tandem(lam=0.5, b1=1.0, b2=1.25, mode="independent", size=None):
    topo = vm.Topology([vm.NetworkHost("h1", None, None), vm.NetworkHost("h2", None, None)],
                       [vm.Link("h1", "tor", b1), vm.Link("tor", "h2", b2)], switches=["tor"])
    return vm.NetworkScenario(topo, {"a": "h1", "b": "h2"}, [vm.Flow("a", "b", lam, size or Exponential(1.0))],
                              service_times=mode)


def test_two_station_tandem_equals_jackson_product_form_exactly():
    """E[T] = 1/(mu1 - lambda) + 1/(mu2 - lambda) with the M/M/1 sojourns of Kleinrock eq. 3.26."""
    pred = vm.predict(tandem())
    assert pred.exact and "Jackson" in pred.model
    expected = MM1(0.5, 1.0).mean_response + MM1(0.5, 1.25).mean_response
    assert pred.value("mean_response", "a->b") == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(2.0 + 1.0 / 0.75, rel=1e-15)
    assert pred.value("mean_number", "a->b") == pytest.approx(0.5 * expected, rel=1e-12)   # Little
    assert pred.value("utilization", "link:h1->tor") == pytest.approx(0.5)
    assert pred.value("throughput", "a->b") == pytest.approx(0.5)
    # p95 of the hypoexponential Exp(0.5) + Exp(0.75), from the closed-form CDF
    p95 = pred.value("p95_response", "a->b")
    assert derive("network.tandem_sojourn_cdf")(rate_1=0.5, rate_2=0.75, t=p95) == pytest.approx(0.95, rel=1e-9)


def test_merging_flows_and_propagation():
    """Two flows share a link: each station's sojourn is the M/M/1 one at the total rate; latencies add."""
    topo = vm.Topology([vm.NetworkHost("h1", 10.0, 5.0), vm.NetworkHost("h2", 10.0, 5.0)],
                       [vm.Link("h1", "h2", 2.0, latency=0.25)])
    sc = vm.NetworkScenario(topo, {"a": "h1", "c": "h1", "b": "h2"},
                            [vm.Flow("a", "b", 0.6, Exponential(1.0)), vm.Flow("c", "b", 0.8, Exponential(1.0)),
                             vm.Flow("a", "c", 1.0, Exponential(1.0))], service_times="independent")
    pred = vm.predict(sc)
    assert pred.exact
    cross = (MM1(2.4, 10.0).mean_response + MM1(1.4, 5.0).mean_response + MM1(1.4, 2.0).mean_response
             + MM1(1.4, 5.0).mean_response + MM1(1.4, 10.0).mean_response + 0.25)
    assert pred.value("mean_response", "a->b") == pytest.approx(cross, rel=1e-12)
    assert pred.value("mean_response", "a->c") == pytest.approx(MM1(2.4, 10.0).mean_response, rel=1e-12)
    assert N.jackson_tandem_response([2.4, 1.4, 1.4, 1.4, 1.4], [10, 5, 2, 5, 10], 0.25) == pytest.approx(cross)


def test_packet_mode_is_the_independence_approximation():
    """Same numbers as Jackson (Kleinrock's independence assumption), but exact=False and the reason said."""
    exact, approx = vm.predict(tandem()), vm.predict(tandem(mode="packet"))
    assert not approx.exact and "independence" in approx.model
    assert approx.value("mean_response", "a->b") == pytest.approx(exact.value("mean_response", "a->b"), rel=1e-12)
    assert "p95_response" not in set(approx.values["metric"])


def test_qna_with_poisson_arrivals_is_pollaczek_khinchine_at_the_first_station():
    """Lognormal sizes (SCV 4) on one station: QNA's wait = lambda E[S^2] / (2 (1 - rho))."""
    topo = vm.Topology([vm.NetworkHost("h", 2.0, None)], [])
    size = LogNormal(mean=1.0, scv=4.0)
    sc = vm.NetworkScenario(topo, {"a": "h", "b": "h"}, [vm.Flow("a", "b", 1.2, size)])
    pred = vm.predict(sc)
    es, es2 = 0.5, size.moment(2) / 4.0
    pk = 1.2 * es2 / (2 * (1 - 0.6)) + es
    assert pred.value("mean_response", "a->b") == pytest.approx(pk, rel=1e-12)
    assert pred.exact and "Pollaczek-Khinchine" in pred.model     # one station per path: an M/G/1 queue
    assert N.qna_wait(0.5, 1.0, 1.0, 1.0) == pytest.approx(MM1(0.5, 1.0).mean_wait)
    assert N.qna_departure_scv(0.7, 1.0, 1.0) == pytest.approx(1.0)


@settings(max_examples=30, deadline=None)
@given(lam=st.floats(0.01, 10.0), u1=st.floats(0.01, 0.99), u2=st.floats(0.01, 0.99))
def test_tandem_derivation_equals_numeric(lam, u1, u2):
    mu1, mu2 = lam / u1, lam / u2
    sym = derive("network.jackson_tandem_mean_response")(arrival_rate=lam, service_rate_1=mu1, service_rate_2=mu2)
    assert math.isclose(sym, N.jackson_tandem_response([lam, lam], [mu1, mu2]), rel_tol=1e-9)


@settings(max_examples=20, deadline=None)
@given(a=st.floats(0.05, 20.0), ratio=st.floats(1.05, 20.0), q=st.floats(0.05, 0.99))
def test_sojourn_cdf_derivation_equals_phase_type(a, ratio, q):
    b = a * ratio
    t = N.hypoexponential_quantile(q, [a, b])
    assert math.isclose(derive("network.tandem_sojourn_cdf")(rate_1=a, rate_2=b, t=t), q, rel_tol=1e-9)


@pytest.mark.parametrize("k", [1, 2, 5])
def test_hypoexponential_equal_rates_is_erlang(k):
    assert N.hypoexponential_quantile(0.95, [1.5] * k) == pytest.approx(stats.gamma(k, scale=1 / 1.5).ppf(0.95),
                                                                        rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(mu=st.floats(1.0, 100.0), u_to=st.floats(0.01, 0.95), u_from=st.floats(0.01, 0.95))
def test_sync_offset_error_derivation_equals_scenario(mu, u_to, u_from):
    """One bottleneck per direction (the link), everything else effectively free; equal latencies."""
    topo = vm.Topology([vm.NetworkHost("h1", None, None), vm.NetworkHost("h2", None, None)],
                       [vm.Link("h1", "h2", mu, latency=0.1)])
    sc = vm.NetworkScenario(topo, {"c": "h1", "s": "h2"},
                            [vm.Flow("c", "s", u_to * mu, Exponential(1.0), name="req"),
                             vm.Flow("s", "c", u_from * mu, Exponential(1.0), name="rep")],
                            service_times="independent", sync=[("req", "rep")])
    want = derive("network.sync_offset_error")(service_rate=mu, to_server_rate=u_to * mu,
                                               from_server_rate=u_from * mu)
    pred = vm.predict(sc)
    assert math.isclose(pred.value("sync_offset_error", "req/rep"), want, rel_tol=1e-9, abs_tol=1e-15)
    path = sc.sync_path("req", "rep")
    assert math.isclose(path.offset_error, want, rel_tol=1e-9, abs_tol=1e-15) and path.exact


def test_sync_path_feeds_the_clock_model():
    """An unfiltered NTP exchange over the path: the clock model's mean offset error is asymmetry / 2."""
    topo = vm.Topology([vm.NetworkHost("h1", 50.0, 20.0), vm.NetworkHost("h2", 50.0, 20.0)],
                       [vm.Link("h1", "h2", 2.0, latency=0.1)])
    sc = vm.NetworkScenario(topo, {"c": "h1", "s": "h2", "bulk": "h1", "sink": "h2"},
                            [vm.Flow("c", "s", 0.05, Exponential(1.0), name="req"),
                             vm.Flow("s", "c", 0.05, Exponential(1.0), name="rep"),
                             vm.Flow("bulk", "sink", 1.5, Exponential(1.0))], service_times="independent")
    path = sc.sync_path("req", "rep")
    assert path.asymmetry > 0 and path.exact
    clock = vm.ClockScenario(n_vms=2, horizon=640.0, step=64.0, sync=path.ntp(poll_interval=64.0, filter_length=1))
    assert vm.predict(clock).value("sync_offset_error") == pytest.approx(path.offset_error, rel=1e-9)
    assert path.to_server.mean == pytest.approx(vm.predict(sc).value("mean_response", "req"), rel=1e-12)


def test_overtake_free():
    topo = vm.Topology([vm.NetworkHost("h1", 10.0, 5.0), vm.NetworkHost("h2", 10.0, 5.0)], [vm.Link("h1", "h2", 2.0)])
    one_way = vm.NetworkScenario(topo, {"a": "h1", "b": "h2", "c": "h1"},
                                 [vm.Flow("a", "b", 0.5, Exponential(1.0)), vm.Flow("a", "c", 0.5, Exponential(1.0))],
                                 service_times="independent")
    assert one_way.overtake_free("a->b") and one_way.overtake_free("a->c")
    both = vm.NetworkScenario(topo, {"a": "h1", "b": "h2"},
                              [vm.Flow("a", "b", 0.5, Exponential(1.0)), vm.Flow("b", "a", 0.5, Exponential(1.0))],
                              service_times="independent")
    assert not both.overtake_free("a->b")          # b->a leaves vswitch:h2 and comes back to vswitch:h1
    assert "p95_response" not in set(vm.predict(both).values["metric"])


# -- bad input: a VirtmodelError naming parameter, value and rule ----------------------------------


def test_negative_bandwidth():
    with pytest.raises(InvalidParameter, match=r"Link\('h1', 'h2'\)\.bandwidth must be > 0, got -1"):
        vm.Link("h1", "h2", -1.0)
    with pytest.raises(InvalidParameter, match=r"NetworkHost\('h'\)\.nic_bandwidth must be > 0, got -2"):
        vm.NetworkHost("h", 1.0, -2.0)
    with pytest.raises(InvalidParameter, match=r"latency must be >= 0, got -0.5"):
        vm.Link("h1", "h2", 1.0, latency=-0.5)


def test_flow_between_hosts_with_no_link_path():
    topo = vm.Topology([vm.NetworkHost("h1", 1.0, 1.0), vm.NetworkHost("h2", 1.0, 1.0),
                        vm.NetworkHost("h3", 1.0, 1.0)], [vm.Link("h1", "h2", 1.0)])
    with pytest.raises(InvalidParameter, match=r"route from 'h1' to 'h3' must exist: no path of links"):
        vm.NetworkScenario(topo, {"a": "h1", "b": "h3"}, [vm.Flow("a", "b", 0.1, Exponential(10.0))])


def test_unknown_vm_host_and_bad_sync():
    topo = vm.Topology([vm.NetworkHost("h1", 1.0, 1.0)], [])
    with pytest.raises(InvalidParameter, match=r"placement\['a'\] must be a host of the topology \['h1'\], got 'hx'"):
        vm.NetworkScenario(topo, {"a": "hx"}, [vm.Flow("a", "a", 0.1, Exponential(10.0))])
    with pytest.raises(InvalidParameter, match=r"Flow\('a->z'\)\.dst must be a placed VM \['a'\], got 'z'"):
        vm.NetworkScenario(topo, {"a": "h1"}, [vm.Flow("a", "z", 0.1, Exponential(10.0))])
    with pytest.raises(InvalidParameter, match=r"Link\('h1', 'h9'\) end must be a host or switch, got 'h9'"):
        vm.Topology([vm.NetworkHost("h1", 1.0, 1.0)], [vm.Link("h1", "h9", 1.0)])
    with pytest.raises(InvalidParameter, match=r"sync pair \('x', 'y'\) must be a request c -> s and a reply s -> c"):
        vm.NetworkScenario(topo, {"a": "h1", "b": "h1"}, [vm.Flow("a", "b", 0.1, Exponential(10.0), name="x"),
                                                           vm.Flow("a", "b", 0.1, Exponential(10.0), name="y")],
                           sync=[("x", "y")])
    with pytest.raises(InvalidParameter, match="service_times must be one of"):
        vm.NetworkScenario(topo, {"a": "h1"}, [vm.Flow("a", "a", 0.1, Exponential(10.0))], service_times="same")
    with pytest.raises(InvalidParameter, match=r"Flow\('a->a'\)\.size must be a Distribution"):
        vm.Flow("a", "a", 0.1, 3.0)


def test_overload_raises_unless_allowed():
    with pytest.raises(UnstableSystem, match=r"station link:h1->tor must have utilization < 1, got 1.2"):
        tandem(lam=1.2, b2=5.0)
    topo = vm.Topology([vm.NetworkHost("h1", None, None), vm.NetworkHost("h2", None, None)],
                       [vm.Link("h1", "tor", 1.0), vm.Link("tor", "h2", 5.0)], switches=["tor"])
    sc = vm.NetworkScenario(topo, {"a": "h1", "b": "h2"},
                            [vm.Flow("a", "b", 1.2, Exponential(1.0))], allow_overload=True)
    assert vm.predict(sc).value("mean_response", "a->b") == math.inf


def test_deterministic_sizes_are_approximate():
    pred = vm.predict(tandem(size=Deterministic(1.0)))
    assert not pred.exact and "not exponential" in pred.model


@pytest.mark.parametrize("rates", [[0.5, 1.0, 2.0], [1.0, 1.0, 4.0, 4.0], [3.0]])
def test_uniformization_equals_the_matrix_exponential(rates, monkeypatch):
    """The series (nonnegative terms) and scipy's expm, used for widely spread rates, agree to 1e-12."""
    series = N.hypoexponential_cdf([0.1, 1.0, 5.0], rates)
    monkeypatch.setattr(N, "_UNIFORMIZATION_TERMS", 0)
    np.testing.assert_allclose(N.hypoexponential_cdf([0.1, 1.0, 5.0], rates), series, rtol=1e-12, atol=1e-14)


def _random_network(rates, mode):
    """Three hosts in a line, flows between random VM pairs (all exponential sizes of mean 1)."""
    topo = vm.Topology([vm.NetworkHost(f"h{i}", 20.0, 10.0) for i in range(3)],
                       [vm.Link("h0", "h1", 8.0, latency=0.1), vm.Link("h1", "h2", 8.0, latency=0.2)])
    placement = {f"v{i}": f"h{i % 3}" for i in range(6)}
    flows = [vm.Flow(f"v{s}", f"v{d}", r, Exponential(1.0), name=f"f{k}") for k, (s, d, r) in enumerate(rates)]
    return vm.NetworkScenario(topo, placement, flows, service_times=mode)


flow_specs = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.floats(0.05, 1.2)), min_size=1, max_size=5)


@settings(max_examples=15, deadline=None)
@given(specs=flow_specs)
def test_qna_reduces_to_jackson_with_exponential_service(specs):
    """On random multi-flow networks, QNA's code path (packet mode) gives Jackson's numbers (independent mode)."""
    jackson, qna = _random_network(specs, "independent"), _random_network(specs, "packet")
    pj, pq = vm.predict(jackson), vm.predict(qna)
    assert pj.exact
    for f in jackson.flows:
        assert pq.value("mean_response", f.name) == pytest.approx(pj.value("mean_response", f.name), rel=1e-9)


@settings(max_examples=15, deadline=None)
@given(specs=flow_specs, factor=st.floats(1.01, 1.5))
def test_latency_grows_with_load(specs, factor):
    """Scaling every flow's rate up never lowers any flow's predicted latency (Jackson and QNA)."""
    for mode in ("independent", "packet"):
        base = _random_network(specs, mode)
        try:
            more = _random_network([(s, d, r * factor) for s, d, r in specs], mode)
        except UnstableSystem:
            continue
        pb, pm = vm.predict(base), vm.predict(more)
        for f in base.flows:
            assert pm.value("mean_response", f.name) >= pb.value("mean_response", f.name) - 1e-12
