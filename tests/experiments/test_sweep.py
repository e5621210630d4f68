"""Tests of ``sweep`` (virtmodel.experiments.sweep) and sweep files (virtmodel.experiments.spec).

Sections: grids; seeds and backends (identical results whatever runs them); failures;
scenario sweeps; resume after SIGKILL; reshaping; TOML sweep files; the CLI.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats as sps

import virtmodel as vm
from virtmodel.dists import Exponential
from virtmodel.errors import InvalidParameter, NoClosedForm, VirtmodelError
from virtmodel.experiments import spec as specmod
from virtmodel.experiments import store as storemod
from virtmodel.experiments.store import RESULT_COLUMNS
from virtmodel.experiments.sweep import (
    LatinHypercube,
    SweepWarning,
    grid_points,
    point_seed,
    replication_rng,
    sweep,
    to_grid,
    to_xarray,
)

SEED = 2024
ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- sweep functions


def noisy(a, b, rng):
    """A cheap stochastic function: sample mean and standard deviation of N(a, b)."""
    x = rng.normal(a, b, size=200)
    return {"mean": float(x.mean()), "sd": float(x.std(ddof=1))}


def grouped(a, rng):
    return {"x": {"web": a + rng.random(), "batch": a - rng.random()}}


def fails_at_three(a, rng):
    if a == 3:
        raise RuntimeError("a = 3 is broken")
    return {"y": a + rng.random()}


def mm1_scenario(load, tag="x"):
    return vm.Scenario(1, [vm.VM("a", Exponential(load), Exponential(1.0))])


def rr_scenario(load):
    return vm.Scenario(1, [vm.VM("a", Exponential(load), Exponential(1.0))],
                       policy=vm.policies.RoundRobin(quantum=0.5))


GRID = {"a": [0.0, 1.0, 2.0], "b": [1.0, 2.0]}


# --------------------------------------------------------------------------- grids


def test_product_grid_order_is_deterministic():
    pts, names, desc = grid_points({"x": [1, 2], "y": ["p", "q", "r"]})
    assert names == ["x", "y"]
    assert pts == [{"x": 1, "y": "p"}, {"x": 1, "y": "q"}, {"x": 1, "y": "r"},
                   {"x": 2, "y": "p"}, {"x": 2, "y": "q"}, {"x": 2, "y": "r"}]
    assert desc == {"type": "product", "parameters": {"x": [1, 2], "y": ["p", "q", "r"]}}


def test_list_of_dicts_grid_and_numpy_values():
    pts, names, _ = grid_points([{"a": np.float64(0.5)}, {"a": 1, "b": np.int64(3)}])
    assert names == ["a", "b"]
    assert pts == [{"a": 0.5}, {"a": 1, "b": 3}]
    assert type(pts[1]["b"]) is int
    df = sweep(lambda a, rng, b=1.0: noisy(a, b, rng), pts, seed=SEED, progress=False)
    assert df.groupby("point")["b"].first().isna().tolist() == [True, False]


@pytest.mark.parametrize("grid, match", [
    ({}, "at least one parameter"),
    ({"a": []}, "at least one value"),
    ({"point": [1]}, "reserved"),
    ({"rng": [1]}, "reserved"),
    ({"a b": [1]}, "identifiers"),
    ({"a": [object()]}, "numbers, strings or booleans"),
    ([], "at least one point"),
    ([1, 2], "must be a dict"),
    ("a=1", "dict of lists"),
])
def test_bad_grids(grid, match):
    with pytest.raises(InvalidParameter, match=match):
        grid_points(grid)


def test_latin_hypercube_is_reproducible_and_stratified():
    ranges = {"load": (0.1, 0.9), "vms": (1, 8, "int"), "q": (0.0, 1.0)}
    a = LatinHypercube(ranges, n=8, seed=3).points()
    b = LatinHypercube(ranges, n=8, seed=3).points()
    c = LatinHypercube(ranges, n=8, seed=4).points()
    assert a == b and a != c
    loads = np.array([p["load"] for p in a])
    assert np.all((loads >= 0.1) & (loads < 0.9))
    # one sample in each of the n strata of every dimension
    assert sorted(np.floor((loads - 0.1) / 0.8 * 8).astype(int)) == list(range(8))
    vms = [p["vms"] for p in a]
    assert all(type(v) is int for v in vms) and sorted(vms) == list(range(1, 9))
    flagged = LatinHypercube({"vms": (1, 8)}, n=8, seed=3, integers=("vms",))
    assert flagged.integers == ("vms",) and all(type(p["vms"]) is int for p in flagged.points())
    df1 = sweep(noisy, LatinHypercube({"a": (0, 1), "b": (1, 2)}, n=5, seed=9), seed=SEED, progress=False)
    df2 = sweep(noisy, LatinHypercube({"a": (0, 1), "b": (1, 2)}, n=5, seed=9), seed=SEED, progress=False)
    pd.testing.assert_frame_equal(df1, df2)


@pytest.mark.parametrize("kwargs, match", [
    (dict(ranges={"a": (1, 0)}, n=3), "low < high"),
    (dict(ranges={"a": (0, 1, "big")}, n=3), "'int' or 'float'"),
    (dict(ranges={"a": (0.5, 2, "int")}, n=3), "must be integers"),
    (dict(ranges={"a": (0, 1)}, n=0), "n must be an integer >= 1"),
    (dict(ranges={"a": (0, 1)}, n=2, integers=("b",)), "not in ranges"),
    (dict(ranges={}, n=2), "non-empty"),
])
def test_latin_hypercube_checks(kwargs, match):
    with pytest.raises(InvalidParameter, match=match):
        LatinHypercube(**kwargs)


# --------------------------------------------------------------------------- results and seeds


def test_function_sweep_columns_rows_and_seeds():
    df = sweep(noisy, GRID, replications=3, seed=SEED, progress=False)
    assert list(df.columns) == ["a", "b"] + RESULT_COLUMNS
    assert df["point"].max() == 5 and len(df) == 6 * 2 * (3 + 1)
    assert df["error"].isna().all() and set(df["source"]) == {"sim"} and set(df["group"]) == {"all"}
    # replication r of point i draws from SeedSequence(seed, spawn_key=(i, r))
    p4 = df[(df.point == 4) & (df.metric == "mean")]
    expected = [noisy(2.0, 1.0, replication_rng(SEED, 4, r))["mean"] for r in range(3)]
    assert p4[p4.replication >= 0]["value"].tolist() == expected
    summary = p4[p4.replication == -1].iloc[0]
    assert summary["value"] == pytest.approx(np.mean(expected))
    # the 95 % Student-t interval over the 3 replications (2 degrees of freedom), exactly
    half = sps.t.ppf(0.975, 2) * np.std(expected, ddof=1) / np.sqrt(3)
    assert summary["ci_low"] == pytest.approx(np.mean(expected) - half, rel=1e-12)
    assert summary["ci_high"] == pytest.approx(np.mean(expected) + half, rel=1e-12)
    assert p4[p4.replication >= 0][["ci_low", "ci_high"]].isna().all().all()


def test_one_replication_has_no_interval_and_groups_are_kept():
    df = sweep(grouped, {"a": [1.0, 2.0]}, seed=SEED, progress=False)
    assert set(df["group"]) == {"web", "batch"}
    est = df[df.replication == -1]
    assert est[["ci_low", "ci_high"]].isna().all().all() and len(est) == 4


def test_backends_give_identical_results():
    serial = sweep(noisy, GRID, replications=2, seed=SEED, progress=False)
    procs = sweep(noisy, GRID, replications=2, seed=SEED, backend="processes", workers=2, progress=False)
    pd.testing.assert_frame_equal(serial, procs)
    other_seed = sweep(noisy, GRID, replications=2, seed=SEED + 1, progress=False)
    assert not serial["value"].equals(other_seed["value"])


#: seconds a LocalCluster gets to start before the Dask tests fail (in a restricted sandbox one hung > 5 min)
DASK_START_TIMEOUT = 60

_PROBE = """
from dask.distributed import Client, LocalCluster
with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
    with Client(cluster) as client:
        assert client.submit(sum, [1, 2]).result(timeout=30) == 3
"""


@pytest.fixture(scope="module")
def dask_cluster_starts():
    """Fail fast, saying why, when a dask LocalCluster cannot start here (probed in a subprocess)."""
    pytest.importorskip("cloudpickle")
    pytest.importorskip("dask.distributed")
    try:
        proc = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                              timeout=DASK_START_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"a dask LocalCluster (1 worker process) did not start and run a task within "
                    f"{DASK_START_TIMEOUT} s; the sandbox may forbid spawning processes or binding local "
                    "ports. The Dask backend cannot be tested here.", pytrace=False)
    if proc.returncode != 0:
        pytest.fail("a dask LocalCluster could not start: " + proc.stderr.strip()[-800:], pytrace=False)


@pytest.mark.usefixtures("dask_cluster_starts")
def test_dask_backend_gives_identical_results():
    cloudpickle = pytest.importorskip("cloudpickle")
    distributed = pytest.importorskip("dask.distributed")
    module = sys.modules[noisy.__module__]  # the test module is not importable on spawned workers
    cloudpickle.register_pickle_by_value(module)
    try:
        serial = sweep(noisy, GRID, replications=2, seed=SEED, progress=False)
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster:
            remote = sweep(noisy, GRID, replications=2, seed=SEED, backend="dask",
                           dask_address=cluster.scheduler_address, progress=False)
        pd.testing.assert_frame_equal(serial, remote)
    finally:
        cloudpickle.unregister_pickle_by_value(module)


@pytest.mark.usefixtures("dask_cluster_starts")
def test_dask_local_cluster_started_by_sweep():
    cloudpickle = pytest.importorskip("cloudpickle")
    module = sys.modules[noisy.__module__]
    cloudpickle.register_pickle_by_value(module)
    try:
        local = sweep(noisy, GRID, replications=2, seed=SEED, backend="dask", workers=2, progress=False)
    finally:
        cloudpickle.unregister_pickle_by_value(module)
    pd.testing.assert_frame_equal(local, sweep(noisy, GRID, replications=2, seed=SEED, progress=False))


def test_common_random_numbers_reuse_point_zero_seeds():
    crn = sweep(mm1_scenario, {"load": [0.5], "tag": ["a", "b", "c"]}, replications=2, seed=SEED,
                common_random_numbers=True, customers=1000, progress=False)
    sim = crn[crn.source == "sim"]
    values = [sim[sim.point == i]["value"].to_numpy() for i in range(3)]
    np.testing.assert_array_equal(values[0], values[1])
    np.testing.assert_array_equal(values[0], values[2])
    indep = sweep(mm1_scenario, {"load": [0.5], "tag": ["a", "b"]}, replications=2, seed=SEED,
                  customers=1000, progress=False)
    s = indep[indep.source == "sim"]
    assert not np.array_equal(s[s.point == 0]["value"], s[s.point == 1]["value"])
    f = sweep(noisy, {"a": [1.0, 1.0], "b": [1.0]}, seed=SEED, common_random_numbers=True, progress=False)
    assert f[f.point == 0]["value"].tolist() == f[f.point == 1]["value"].tolist()


# --------------------------------------------------------------------------- scenario sweeps


def test_scenario_sweep_has_analytic_and_sim_rows():
    df = sweep(mm1_scenario, {"load": [0.3, 0.6]}, replications=3, seed=SEED, customers=2000, progress=False)
    assert set(df["source"]) == {"analytic", "sim"}
    an = df[(df.source == "analytic") & (df.metric == "mean_response") & (df.group == "all")]
    assert an["value"].tolist() == pytest.approx([1 / 0.7, 1 / 0.4])
    assert an[["ci_low", "ci_high"]].isna().all().all() and (an.replication == -1).all()
    # the sim rows are exactly simulate(scenario, seed=point seed)
    res = vm.simulate(mm1_scenario(0.6), customers=2000, replications=3, seed=point_seed(SEED, 1))
    est = df[(df.point == 1) & (df.source == "sim") & (df.replication == -1)]
    assert est["value"].tolist() == res.summary["mean"].tolist()
    assert est["ci_low"].tolist() == res.summary["ci_low"].tolist()
    reps = df[(df.point == 1) & (df.source == "sim") & (df.replication >= 0)]
    assert reps["value"].tolist() == res.per_replication["value"].tolist()
    assert reps[["ci_low", "ci_high"]].isna().all().all()


def test_scenario_without_closed_form_has_only_sim_rows(monkeypatch):
    from virtmodel.analytic import solve

    def no_closed_form(scenario):
        raise NoClosedForm("no model for this test")

    monkeypatch.setattr(solve, "predict", no_closed_form)  # sweep looks predict up at call time
    df = sweep(rr_scenario, {"load": [0.5]}, replications=2, seed=SEED, customers=500, progress=False)
    assert set(df["source"]) == {"sim"} and df["error"].isna().all()


def test_scenario_sweep_processes_equal_serial():
    kw = dict(replications=2, seed=SEED, customers=500, progress=False)
    serial = sweep(mm1_scenario, {"load": [0.3, 0.5, 0.7]}, **kw)
    procs = sweep(mm1_scenario, {"load": [0.3, 0.5, 0.7]}, backend="processes", workers=2, **kw)
    pd.testing.assert_frame_equal(serial, procs)


# --------------------------------------------------------------------------- failures


def test_failing_point_is_recorded_and_the_rest_finish():
    with pytest.warns(SweepWarning, match=r"1 of 4 sweep points failed.*a = 3 is broken"):
        df = sweep(fails_at_three, {"a": [1, 2, 3, 4]}, replications=2, seed=SEED, progress=False)
    bad = df[df.error.notna()]
    assert bad["point"].tolist() == [2] and bad["a"].tolist() == [3]
    assert bad["error"].iloc[0].startswith("RuntimeError: a = 3 is broken (at test_sweep.py:")
    assert bad[["value", "ci_low", "ci_high"]].isna().all().all() and bad["metric"].isna().all()
    assert sorted(df.loc[df.error.isna(), "point"].unique()) == [0, 1, 3]


def test_failing_point_on_processes_and_unstable_scenarios():
    with pytest.warns(SweepWarning):
        df = sweep(fails_at_three, {"a": [3, 4]}, backend="processes", workers=2, progress=False)
    assert df.groupby("point")["error"].first().notna().tolist() == [True, False]
    with pytest.warns(SweepWarning, match="UnstableSystem"):
        df = sweep(mm1_scenario, {"load": [0.5, 1.2]}, customers=300, replications=2, progress=False)
    assert df.groupby("point")["error"].first().notna().tolist() == [False, True]


def test_bad_return_value_is_a_point_error():
    with pytest.warns(SweepWarning, match="must return a Scenario or a dict"):
        df = sweep(lambda a, rng: [a], {"a": [1]}, progress=False)
    assert df["error"].notna().all()


@pytest.mark.parametrize("kwargs, match", [
    (dict(replications=0), "replications"),
    (dict(seed=-1), "seed"),
    (dict(backend="threads"), "backend"),
    (dict(workers=0), "workers"),
    (dict(dask_address="tcp://x:1"), "dask_address needs backend='dask'"),
    (dict(common_random_numbers=1), "common_random_numbers"),
    (dict(custmers=10), "unexpected keyword"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(InvalidParameter, match=match):
        sweep(noisy, GRID, progress=False, **kwargs)


def test_processes_backend_needs_a_picklable_function():
    with pytest.raises(InvalidParameter, match="picklable"):
        sweep(lambda a, rng: {"x": a}, {"a": [1]}, backend="processes", progress=False)


# --------------------------------------------------------------------------- resume after SIGKILL

SLOW_MODULE = '''
import os
import time


def slow(i, rng):
    """Records each call in $SWEEP_CALLS and sleeps $SWEEP_SLEEP seconds."""
    calls = os.environ.get("SWEEP_CALLS")
    if calls:
        with open(os.path.join(calls, f"{i}-{os.getpid()}-{time.monotonic_ns()}"), "w"):
            pass
    time.sleep(float(os.environ.get("SWEEP_SLEEP", "0")))
    return {"x": float(rng.random()), "i": float(i)}
'''


def test_resume_after_sigkill(tmp_path, monkeypatch):
    pytest.importorskip("pyarrow")
    (tmp_path / "slowsweep_mod.py").write_text(SLOW_MODULE)
    store = tmp_path / "store"
    calls = tmp_path / "calls"
    calls.mkdir()
    env = {**os.environ, "SWEEP_CALLS": str(calls), "SWEEP_SLEEP": "0.1"}
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import slowsweep_mod
        import virtmodel as vm
        vm.sweep(slowsweep_mod.slow, {{"i": list(range(30))}}, replications=2, seed=5,
                 store={str(store)!r}, progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=tmp_path)
    deadline = time.monotonic() + 60
    try:
        while len(list(store.glob("point-*.parquet"))) < 4:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, "the sweep stored no points within 60 s"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    before = {p.name: p.stat().st_mtime_ns for p in store.glob("point-*.parquet")}
    assert 4 <= len(before) < 30

    monkeypatch.syspath_prepend(str(tmp_path))
    import slowsweep_mod

    for f in calls.iterdir():
        f.unlink()
    monkeypatch.setenv("SWEEP_CALLS", str(calls))
    monkeypatch.setenv("SWEEP_SLEEP", "0.1")
    resumed = sweep(slowsweep_mod.slow, {"i": list(range(30))}, replications=2, seed=5, store=store,
                    backend="processes", workers=2, progress=False)
    # only the missing points were computed (2 calls each), the stored ones were not rewritten
    called = sorted({int(f.name.split("-")[0]) for f in calls.iterdir()})
    assert len(list(calls.iterdir())) == 2 * (30 - len(before))
    assert called == sorted(set(range(30)) - {int(n[6:12]) for n in before})
    assert {p.name: p.stat().st_mtime_ns for p in store.glob("point-*.parquet") if p.name in before} == before
    assert not list(store.glob(".*tmp*"))

    monkeypatch.setenv("SWEEP_CALLS", "")
    monkeypatch.setenv("SWEEP_SLEEP", "0")
    whole = sweep(slowsweep_mod.slow, {"i": list(range(30))}, replications=2, seed=5, progress=False)
    key = ["point", "replication", "metric", "group", "source"]
    assert not resumed.duplicated(key).any()
    pd.testing.assert_frame_equal(resumed.sort_values(key, ignore_index=True),
                                  whole.sort_values(key, ignore_index=True))
    pd.testing.assert_frame_equal(resumed, storemod.load(store))
    meta = storemod.read_definition(store)
    assert len(meta["runs"]) == 2 and meta["runs"][0]["finished"] is None
    assert meta["runs"][1]["points_computed"] == 30 - len(before)


# --------------------------------------------------------------------------- reshaping


def test_to_grid():
    df = sweep(noisy, GRID, replications=2, seed=SEED, progress=False)
    g = to_grid(df, "mean")
    assert g.dims == ("a", "b") and g.values.shape == (3, 2)
    np.testing.assert_array_equal(g.coords["a"], [0.0, 1.0, 2.0])
    est = df[(df.replication == -1) & (df.metric == "mean")]
    assert g.values[2, 1] == est[(est.a == 2.0) & (est.b == 2.0)]["value"].item()
    lows = to_grid(df, "mean", column="ci_low")
    assert np.all(lows.values < g.values)
    assert to_grid(df, "sd", replication=1).values.shape == (3, 2)
    with pytest.raises(InvalidParameter, match="metric must be one of"):
        to_grid(df, "nope")
    sparse = sweep(noisy, LatinHypercube({"a": (0, 1), "b": (1, 2)}, n=4, seed=1), progress=False)
    assert np.isfinite(to_grid(sparse, "mean").values).sum() == 4


def test_to_xarray():
    df = sweep(noisy, GRID, replications=2, seed=SEED, progress=False)
    try:
        import xarray  # noqa: F401
    except ImportError:
        with pytest.raises(VirtmodelError, match="needs xarray"):
            to_xarray(df)
        return
    ds = to_xarray(df)
    assert set(ds.dims) == {"a", "b"} and "mean" in ds and "mean_ci_low" in ds


# --------------------------------------------------------------------------- TOML sweep files

TOML = """
[sweep]
name = "demo"
replications = 2
seed = 3
customers = 500
backend = "serial"

[grid]
pcpus = [1, 2]
load = [0.5]
kind = ["FCFS"]

[scenario]
pcpus = "{pcpus}"
capacity = "{pcpus} * 10"
policy = {type = "{kind}"}

[[scenario.vms]]
name = "web"
count = "{pcpus}"
arrival = {type = "Exponential", rate = "{load} * 2 / 2"}
service = {type = "HyperExponential.balanced", mean = 1.0, scv = "max(1, {pcpus})"}
priority = 0

[[scenario.vms]]
name = "db{pcpus}"
arrival = {type = "Exponential", rate = 0.1}
service = {type = "Erlang", k = 2, rate = "2 * {pcpus}"}
"""


def test_toml_parsing_and_substitution():
    spec = specmod.parse_spec(TOML)
    assert (spec.name, spec.replications, spec.seed, spec.backend) == ("demo", 2, 3, "serial")
    assert spec.simulate_kwargs == {"customers": 500} and spec.parameters == ["pcpus", "load", "kind"]
    sc = spec.factory(pcpus=2, load=0.5, kind="FCFS")
    assert sc.pcpus == 2 and sc.capacity == 20 and isinstance(sc.policy, vm.policies.FCFS)
    assert sc.names == ("web-0", "web-1", "db2")
    assert sc.vm("web-1").arrival == Exponential(0.5)
    assert sc.vm("web-0").service.scv == pytest.approx(2.0)
    assert sc.vm("db2").service.mean == pytest.approx(0.5)
    sc1 = spec.factory(pcpus=1, load=0.5, kind="FCFS")
    assert sc1.names == ("web-0", "db1")


def test_evaluate_is_arithmetic_only():
    assert specmod.evaluate("{a} ** 2 - {b} // 2 + sqrt({a})", {"a": 4, "b": 5}) == 16 - 2 + 2.0
    assert specmod.evaluate("{a}", {"a": 3}) == 3 and isinstance(specmod.evaluate("{a}", {"a": 3}), int)
    for bad in ("__import__('os')", "{a}.real", "[1][0]", "'x' + 'y'", "lambda: 1", "{a} if 1 else 2"):
        with pytest.raises(InvalidParameter, match="k.e"):
            specmod.evaluate(bad if "{" in bad else "{a} + " + bad, {"a": 1}, key="k.e")
    with pytest.raises(InvalidParameter, match="k: '{a} / 0' cannot be evaluated"):
        specmod.evaluate("{a} / 0", {"a": 1}, key="k")
    with pytest.raises(InvalidParameter, match="too large"):
        specmod.evaluate("{a} ** 100000", {"a": 10})


def _replace(text, old, new):
    assert old in text
    return text.replace(old, new)


@pytest.mark.parametrize("old, new, key", [
    ('replications = 2', 'replications = 0', "sweep.replications"),
    ('seed = 3', 'seed = -3', "sweep.seed"),
    ('backend = "serial"', 'backend = "gpu"', "sweep.backend"),
    ('customers = 500', 'horizon = 5.0\ncustomers = 500', "customers or horizon"),
    ('customers = 500', '', "customers or horizon"),
    ('name = "demo"', 'name = "demo"\ncolour = 1', r"sweep: unknown key\(s\) \['colour'\]"),
    ('name = "demo"', 'name = "de mo"', "sweep.name"),
    ('load = [0.5]', 'load = []', r"\[grid\].*load"),
    ('rate = "{load} * 2 / 2"', 'rate = "{lod} * 2"', r"scenario.vms\[0\].arrival.rate.*'lod'"),
    ('rate = "{load} * 2 / 2"', 'rate = "{load} *"',
     r"scenario.vms\[0\].arrival.rate.*not a valid expression"),
    ('type = "Erlang"', 'type = "Erlong"', r"scenario.vms\[1\].service.type must be one of"),
    ('k = 2, rate', 'kk = 2, rate', r"scenario.vms\[1\].service: Erlang does not take \['kk'\]"),
    ('priority = 0', 'priority = 0\nweight = 2', r"scenario.vms\[0\]: unknown key"),
    ('[[scenario.vms]]\nname = "db{pcpus}"', '[[scenario.vms]]\nnam = "db"', r"scenario.vms\[1\]"),
    ('policy = {type = "{kind}"}', 'policy = {type = "RoundRobin", quantm = 1}',
     "scenario.policy: RoundRobin"),
    ('pcpus = "{pcpus}"', 'cpus = 1', r"scenario: unknown key"),
    ('[sweep]', '[sweeep]\n[sweep]', r"sweep file: unknown key\(s\) \['sweeep'\]"),
    ('[grid]', 'x = [1\n[grid]', "not valid TOML"),
])
def test_bad_spec_names_the_key(old, new, key):
    with pytest.raises(InvalidParameter, match=key):
        specmod.parse_spec(_replace(TOML, old, new))


def test_bad_values_at_build_time_name_the_key():
    spec = specmod.parse_spec(_replace(TOML, 'rate = "{load} * 2 / 2"', 'rate = "{load} - 1"'))
    with pytest.raises(InvalidParameter, match=r"scenario.vms\[0\].arrival: rate must be > 0"):
        spec.factory(pcpus=1, load=0.5, kind="FCFS")
    with pytest.raises(InvalidParameter, match=r"scenario.policy.type must be one of"):
        spec.factory(pcpus=1, load=1.5, kind="Fair")


def test_latin_hypercube_in_toml_and_example_files():
    text = TOML.replace('[grid]\npcpus = [1, 2]\nload = [0.5]\nkind = ["FCFS"]',
                        '[latin_hypercube]\nn = 3\nseed = 1\n'
                        'ranges = {pcpus = [1, 4, "int"], load = [0.1, 0.8]}')
    text = text.replace('policy = {type = "{kind}"}', 'policy = "FCFS"')
    spec = specmod.parse_spec(text)
    assert isinstance(spec.grid, LatinHypercube) and spec.grid.integers == ("pcpus",)
    for name in ("rr_quantum_load", "consolidation_vms", "switch_cost_vms"):
        s = specmod.load_spec(ROOT / "sweeps" / f"{name}.toml")
        assert s.name == name
        points = grid_points(s.grid)[0]
        assert all(isinstance(s.factory(**p), vm.Scenario) for p in points)


def test_spec_run_serial_equals_direct_sweep():
    spec = specmod.parse_spec(TOML)
    df = spec.run(progress=False)
    direct = sweep(spec.factory, spec.grid, replications=2, seed=3, customers=500, progress=False)
    pd.testing.assert_frame_equal(df, direct)
    assert df["error"].isna().all() and "sim" in set(df["source"])


# --------------------------------------------------------------------------- CLI


def test_cli_sweep_store_refuse_and_resume(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    from virtmodel.cli import main

    path = tmp_path / "demo.toml"
    path.write_text(TOML)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "demo: 2 points, 2 replication(s) of 500 customers" in printed and "mean_response" in printed
    assert (out / "sweep.json").exists() and len(list(out.glob("point-*.parquet"))) == 2
    assert main(["sweep", str(path), "--out", str(out), "--no-progress"]) == 2
    assert "--resume" in capsys.readouterr().err
    (out / "point-000001.parquet").unlink()
    assert main(["sweep", str(path), "--out", str(out), "--resume", "--no-progress"]) == 0
    meta = storemod.read_definition(out)
    assert [r["points_computed"] for r in meta["runs"]] == [2, 1]
    path.write_text(TOML.replace("seed = 3", "seed = 4"))
    assert main(["sweep", str(path), "--out", str(out), "--resume", "--no-progress"]) == 2
    assert "seed differs (store: 3, now: 4)" in capsys.readouterr().err
    path.write_text(TOML.replace("customers = 500", "customers = 0"))
    assert main(["sweep", str(path), "--out", str(tmp_path / "o2"), "--no-progress"]) == 2
    assert "sweep.customers" in capsys.readouterr().err
