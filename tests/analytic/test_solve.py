"""Tests of ``predict`` (virtmodel.analytic.solve): dispatch, exact flags, values, Prediction."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

import virtmodel as vm
from virtmodel.analytic import MD1, MG1, MM1, MM1K, GGc, MMc, MMcc, MMcK
from virtmodel.analytic.solve import Prediction, predict
from virtmodel.dists import Deterministic, Erlang, Exponential, HyperExponential, LogNormal, Uniform
from virtmodel.errors import InvalidParameter, NoClosedForm
from virtmodel.policies import Policy

BASE = ["utilization", "throughput", "mean_wait", "mean_response", "mean_number", "mean_queue_length"]
E = Exponential


def one(arrival, service, pcpus=1, capacity=None):
    return vm.Scenario(pcpus, [vm.VM("a", arrival, service)], capacity=capacity)


def values_equal_model(pred, model, metrics=BASE, group="all", rel=1e-12):
    for metric in metrics:
        want = float(getattr(model, metric))
        assert pred.value(metric, group) == pytest.approx(want, rel=rel, abs=1e-15), metric


# --------------------------------------------------------------------------- dispatch


CASES = [
    # (id, scenario, model name, exact)
    ("M/M/1", one(E(0.5), E(1.0)), "M/G/1 (Pollaczek-Khinchine)", True),
    ("M/D/1", one(E(0.5), Deterministic(1.0)), "M/G/1 (Pollaczek-Khinchine)", True),
    ("M/LN/1", one(E(0.3), LogNormal(mean=2.0, scv=3.0)), "M/G/1 (Pollaczek-Khinchine)", True),
    ("M/G/1 two VMs", vm.Scenario(1, [vm.VM("a", E(0.2), Deterministic(1.0)),
                                      vm.VM("b", E(0.3), Uniform(0.0, 2.0))]),
     "M/G/1 (Pollaczek-Khinchine)", True),
    ("M/M/3", one(E(2.4), E(1.0), pcpus=3), "M/M/c (Erlang C)", True),
    ("M/M/2 two VMs same rate", vm.Scenario(2, [vm.VM("a", E(0.5), E(1.0)), vm.VM("b", E(0.7), E(1.0))]),
     "M/M/c (Erlang C)", True),
    ("M/M/1/K", one(E(0.9), E(1.0), capacity=5), "M/M/1/K", True),
    ("M/M/3/3", one(E(2.0), E(1.0), pcpus=3, capacity=3), "M/M/c/c (Erlang B)", True),
    ("M/M/2/6", one(E(3.0), E(1.0), pcpus=2, capacity=6), "M/M/c/K", True),
    ("M/M/2/2 two VMs", vm.Scenario(2, [vm.VM("a", E(0.5), E(2.0)), vm.VM("b", E(1.0), E(2.0))], capacity=2),
     "M/M/c/c (Erlang B)", True),
    ("E2/M/1 Kingman", one(Erlang(k=2, rate=1.0), E(1.0)), "G/G/1 (Kingman)", False),
    ("D/D/2 Allen-Cunneen", one(Deterministic(1.0), Deterministic(1.5), pcpus=2), "G/G/c (Allen-Cunneen)", False),
    ("M/D/2 (Poisson, not exponential)", one(E(1.0), Deterministic(1.0), pcpus=2), "G/G/c (Allen-Cunneen)", False),
    ("M/M/2 unequal rates", vm.Scenario(2, [vm.VM("a", E(0.5), E(1.0)), vm.VM("b", E(0.5), E(2.0))]),
     "G/G/c (Allen-Cunneen)", False),
    ("QNA two non-Poisson VMs, c=1", vm.Scenario(1, [vm.VM("a", Erlang(k=2, rate=0.8), E(1.0)),
                                                     vm.VM("b", Deterministic(4.0), Deterministic(1.0))]),
     "G/G/1 (Kingman) with superposed arrivals (QNA)", False),
    ("QNA mixed Poisson and not, c=2", vm.Scenario(2, [vm.VM("a", E(0.5), E(1.0)),
                                                       vm.VM("b", HyperExponential.balanced(2.0, 3.0), E(1.0))]),
     "G/G/c (Allen-Cunneen) with superposed arrivals (QNA)", False),
]


def _has_percentiles(sc, model):
    """Exact percentile rows: M/M/c, and M/G/1 whose service laws have a transform and no atom (or are all D)."""
    from virtmodel.dists import Gamma, Uniform

    if model == "M/M/c (Erlang C)":
        return True
    if model != "M/G/1 (Pollaczek-Khinchine)":
        return False
    laws = [v.service for v in sc.vms]
    smooth = (E, Erlang, Gamma, HyperExponential, Uniform)
    return all(isinstance(d, smooth) for d in laws) or (
        all(isinstance(d, Deterministic) for d in laws) and len({d.value for d in laws}) == 1)


@pytest.mark.parametrize("sc, model, exact", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_model_and_exact_flag(sc, model, exact):
    pred = predict(sc)
    assert isinstance(pred, Prediction)
    assert pred.model == model
    assert pred.exact is exact
    assert isinstance(pred.source, str) and pred.source
    groups = ["all"] + (list(sc.names) if len(sc.vms) > 1 else [])
    metrics = BASE + (["blocking_probability"] if sc.capacity is not None else [])
    frame = pred.to_frame()
    assert list(frame.columns) == ["metric", "group", "value"]
    expected = [(m, g) for m in metrics for g in groups]
    if sc.pcpus == 1 and sc.capacity is None and all(v.poisson for v in sc.vms):
        expected.append(("work_weighted_wait", "all"))  # Kleinrock's conservation law
    if _has_percentiles(sc, model):
        expected += [(f"{p}_{m}", g) for p in ("p50", "p95", "p99") for m in ("wait", "response") for g in groups]
        if sc.pcpus == 1 and abs(sum(v.arrival_rate * v.service.mean for v in sc.vms) - 0.5) < 1e-9:
            # P(W = 0) = 1 - rho = 0.5: the median wait sits on a jump of the quantile function, left out
            expected = [(m, g) for m, g in expected if m != "p50_wait"]
    assert sorted(map(tuple, frame[["metric", "group"]].to_numpy())) == sorted(expected)
    assert np.all(np.isfinite(frame["value"])) and np.all(frame["value"] >= 0)
    assert vm.predict is predict


@pytest.mark.parametrize("sc", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_per_vm_rows_add_up_and_share_the_wait(sc):
    pred = predict(sc)
    if len(sc.vms) == 1:
        return
    for metric in ("throughput", "utilization", "mean_number", "mean_queue_length"):
        parts = math.fsum(pred.value(metric, n) for n in sc.names)
        assert parts == pytest.approx(pred.value(metric), rel=1e-12), metric
    for n in sc.names:
        assert pred.value("mean_wait", n) == pred.value("mean_wait")
        v = sc.vm(n)
        assert pred.value("mean_response", n) == pytest.approx(pred.value("mean_wait") + v.service.mean, rel=1e-12)
        if sc.capacity is not None:
            assert pred.value("blocking_probability", n) == pred.value("blocking_probability")
    # the "all" response is the arrival-weighted mean of the per-VM responses
    thr = np.array([pred.value("throughput", n) for n in sc.names])
    resp = np.array([pred.value("mean_response", n) for n in sc.names])
    assert pred.value("mean_response") == pytest.approx(float(thr @ resp / thr.sum()), rel=1e-12)


@pytest.mark.parametrize("sc", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_littles_law_and_conservation_in_predictions(sc):
    pred = predict(sc)
    for g in pred.values.group.unique():
        thr = pred.value("throughput", g)
        assert pred.value("mean_number", g) == pytest.approx(thr * pred.value("mean_response", g), rel=1e-12)
        assert pred.value("mean_queue_length", g) == pytest.approx(thr * pred.value("mean_wait", g), rel=1e-12,
                                                                   abs=1e-15)
    if sc.capacity is None:
        assert pred.value("throughput") == pytest.approx(sc.arrival_rate, rel=1e-12)
        assert pred.value("utilization") == pytest.approx(sc.utilization, rel=1e-12)
    else:
        b = pred.value("blocking_probability")
        assert pred.value("throughput") == pytest.approx(sc.arrival_rate * (1 - b), rel=1e-12)


# --------------------------------------------------------------------------- values


def test_mm1_equals_the_mm1_class():
    for load in (0.1, 0.5, 0.8, 0.99):
        values_equal_model(predict(one(E(load * 2.0), E(2.0))), MM1(load * 2.0, 2.0))


def test_md1_and_mg1_equal_their_classes():
    values_equal_model(predict(one(E(0.7), Deterministic(1.3))), MD1(0.7, 1.3))
    h2 = HyperExponential.balanced(1.0, 4.0)
    values_equal_model(predict(one(E(0.6), h2)), MG1(0.6, h2))


def test_mmc_equals_the_mmc_class():
    values_equal_model(predict(one(E(2.4), E(1.0), pcpus=3)), MMc(2.4, 1.0, 3))
    sc = vm.Scenario(4, [vm.VM("a", E(1.0), E(0.5)), vm.VM("b", E(0.5), E(0.5))])
    values_equal_model(predict(sc), MMc(1.5, 0.5, 4))


def test_finite_capacity_models_equal_their_classes():
    metrics = BASE + ["blocking_probability"]
    values_equal_model(predict(one(E(0.9), E(1.0), capacity=5)), MM1K(0.9, 1.0, 5), metrics)
    values_equal_model(predict(one(E(2.0), E(1.0), pcpus=3, capacity=3)), MMcc(2.0, 1.0, 3), metrics)
    values_equal_model(predict(one(E(3.0), E(1.0), pcpus=2, capacity=6)), MMcK(3.0, 1.0, 2, 6), metrics)
    # overloaded is fine with a capacity
    values_equal_model(predict(one(E(5.0), E(1.0), pcpus=2, capacity=4)), MMcK(5.0, 1.0, 2, 4), metrics)


def test_kingman_equals_ggc():
    arr, svc = Erlang(k=2, rate=1.0), LogNormal(mean=0.4, scv=2.0)
    values_equal_model(predict(one(arr, svc)), GGc(arr, svc, 1))
    values_equal_model(predict(one(arr, svc, pcpus=3)), GGc(arr, svc, 3))


def test_qna_superposition():
    """Merged arrivals: rate sum lambda_i, scv = sum (lambda_i / lambda) scv_i; merged service the
    arrival-weighted mixture.  With equal arrival laws the merge is a scaled copy of each."""
    a, b = Erlang(k=2, rate=0.8), Deterministic(4.0)  # rates 0.4, 0.25; scv 1/2, 0
    sc = vm.Scenario(1, [vm.VM("a", a, E(1.0)), vm.VM("b", b, Deterministic(1.0))])
    lam = 0.65
    ca2 = (0.4 * 0.5 + 0.25 * 0.0) / lam
    es = 1.0  # both means 1
    es2 = (0.4 * 2.0 + 0.25 * 1.0) / lam
    cs2 = es2 / es**2 - 1
    rho = lam * es
    kingman = rho / (1 - rho) * (ca2 + cs2) / 2 * es
    pred = predict(sc)
    assert pred.value("mean_wait") == pytest.approx(kingman, rel=1e-12)
    assert pred.value("mean_response", "a") == pytest.approx(kingman + 1.0, rel=1e-12)


def test_mg1_two_vms_pollaczek_khinchine():
    sc = vm.Scenario(1, [vm.VM("a", E(0.2), Deterministic(1.0)), vm.VM("b", E(0.3), Uniform(0.0, 2.0))])
    lam = 0.5
    es2 = (0.2 * 1.0 + 0.3 * 4.0 / 3.0) / lam  # E[U(0,2)^2] = 4/3
    rho = 0.2 * 1.0 + 0.3 * 1.0
    wq = lam * es2 / (2 * (1 - rho))
    pred = predict(sc)
    assert pred.value("mean_wait") == pytest.approx(wq, rel=1e-12)
    assert pred.value("mean_wait", "b") == pytest.approx(wq, rel=1e-12)
    assert pred.value("utilization", "a") == pytest.approx(0.2, rel=1e-12)
    assert pred.value("mean_number", "b") == pytest.approx(0.3 * (wq + 1.0), rel=1e-12)


def test_per_vm_throughput_with_blocking():
    sc = vm.Scenario(2, [vm.VM("a", E(0.5), E(2.0)), vm.VM("b", E(1.0), E(2.0))], capacity=3)
    pred = predict(sc)
    b = MMcK(1.5, 2.0, 2, 3).blocking_probability
    assert pred.value("throughput", "a") == pytest.approx(0.5 * (1 - b), rel=1e-12)
    assert pred.value("utilization", "b") == pytest.approx(1.0 * (1 - b) / 2.0 / 2, rel=1e-12)


# --------------------------------------------------------------------------- no closed form, bad input


@pytest.mark.parametrize(
    "sc, reason",
    [
        (one(E(0.5), Deterministic(1.0), capacity=3), "non-exponential or unequal service"),
        (one(E(0.5), LogNormal(1.0, 2.0), pcpus=2, capacity=2), "non-exponential or unequal service"),
        (vm.Scenario(1, [vm.VM("a", E(0.5), E(1.0)), vm.VM("b", E(0.5), E(2.0))], capacity=4),
         "non-exponential or unequal service"),
        (one(Erlang(k=2, rate=1.0), E(1.0), capacity=3), "non-Poisson arrivals"),
    ],
    ids=["M/D/1/K", "M/LN/2/2", "unequal rates", "E2/M/1/K"],
)
def test_no_closed_form_for_capacity_without_markov_assumptions(sc, reason):
    with pytest.raises(NoClosedForm) as info:
        predict(sc)
    msg = str(info.value)
    assert "capacity" in msg and reason in msg and "M/M/c/K" in msg
    assert isinstance(info.value, vm.VirtmodelError) and isinstance(info.value, ValueError)


def test_no_closed_form_for_an_unknown_policy():
    @dataclasses.dataclass(frozen=True)
    class Lottery(Policy):
        pass

    sc = one(E(0.5), E(1.0))
    sc = dataclasses.replace(sc, policy=Lottery())
    with pytest.raises(NoClosedForm, match="Lottery"):
        predict(sc)


@pytest.mark.parametrize("bad", [None, "scenario", one(E(0.5), E(1.0)).vms[0]])
def test_predict_needs_a_scenario(bad):
    with pytest.raises(InvalidParameter) as info:
        predict(bad)
    assert "scenario" in str(info.value) and repr(bad) in str(info.value)


def test_prediction_value_lookup():
    sc = vm.Scenario(1, [vm.VM("web", E(0.3), E(1.0)), vm.VM("db", E(0.2), E(1.0))])
    pred = predict(sc)
    assert pred.value("mean_response") == pred.value("mean_response", "all") == pytest.approx(2.0, rel=1e-12)
    assert pred.value("throughput", "db") == pytest.approx(0.2, rel=1e-12)
    with pytest.raises(InvalidParameter) as info:
        pred.value("latency")
    assert "metric" in str(info.value) and "'latency'" in str(info.value) and "mean_wait" in str(info.value)
    with pytest.raises(InvalidParameter) as info:
        pred.value("mean_wait", "cache")
    assert "group" in str(info.value) and "'cache'" in str(info.value) and "'web'" in str(info.value)
    with pytest.raises(InvalidParameter, match="'blocking_probability'"):
        pred.value("blocking_probability")  # no capacity, no blocking row


def test_to_frame_is_a_tidy_copy():
    pred = predict(one(E(0.5), E(1.0)))
    frame = pred.to_frame()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["metric", "group", "value"]
    assert frame["value"].dtype == float
    frame.loc[:, "value"] = -1.0
    assert pred.value("mean_response") == 2.0
    assert "M/G/1" in repr(pred) and "exact=True" in repr(pred)
