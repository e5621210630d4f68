"""Issue 12, item 1: an approximate closed form never passes for an exact one in sweep output.

Round robin with quantum 1.0 and deterministic service is predicted by the
processor-sharing approximation (``Prediction.exact`` False; 3.333 at load 0.7), FCFS by
the exact Pollaczek-Khinchine formula.  The tidy frame,
the store and the printed summary table must all say which is which, and which
simulator produced the sim rows.  The simulations are tiny (numbers are not checked).
"""

from __future__ import annotations

import pandas as pd
import pytest

import virtmodel as vm
from virtmodel.dists import Deterministic, Exponential
from virtmodel.experiments.store import load
from virtmodel.experiments.sweep import summary_table, sweep
from virtmodel.policies import FCFS, RoundRobin


def scenario(policy):
    pol = RoundRobin(quantum=1.0) if policy == "rr" else FCFS()
    return vm.Scenario(1, [vm.VM("a", Exponential(0.7), Deterministic(1.0))], policy=pol)


@pytest.fixture(scope="module")
def frame():
    return sweep(scenario, {"policy": ["fcfs", "rr"]}, replications=2, seed=1, customers=300, progress=False)


def test_frame_carries_exact_model_engine(frame):
    for col in ("exact", "model", "engine"):
        assert col in frame.columns
    ana = frame[frame.source == "analytic"]
    by_policy = ana.groupby("policy")["exact"].agg(lambda s: set(s))
    assert by_policy["fcfs"] == {True} and by_policy["rr"] == {False}
    assert ana["model"].notna().all()
    assert vm.predict(scenario("rr")).model in set(ana.loc[ana.policy == "rr", "model"])
    sim = frame[frame.source == "sim"]
    assert sim["engine"].notna().all() and sim["exact"].isna().all()
    assert ana["engine"].isna().all()


def test_function_sweep_has_none_there():
    df = sweep(lambda a, rng: {"x": a}, {"a": [1]}, progress=False)
    assert df[["exact", "model", "engine"]].isna().all().all()


def test_summary_table_marks_approximations(frame):
    table = summary_table(frame)
    rr = table[table.policy == "rr"].iloc[0]
    fcfs = table[table.policy == "fcfs"].iloc[0]
    assert rr["mean_response (analytic)"].startswith("~")
    assert not fcfs["mean_response (analytic)"].startswith("~")
    assert (rr["exact"], fcfs["exact"]) == ("approx", "exact")
    assert rr["engine"] != "" and "model" in table


def test_store_round_trip_keeps_the_columns(tmp_path):
    pytest.importorskip("pyarrow")
    df = sweep(scenario, {"policy": ["fcfs", "rr"]}, replications=2, seed=1, customers=300,
               progress=False, store=tmp_path / "st")
    pd.testing.assert_frame_equal(load(tmp_path / "st"), df)


def test_cli_sweep_prints_the_mark(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    from virtmodel.cli import main

    path = tmp_path / "rr.toml"
    path.write_text("""
[sweep]
replications = 2
customers = 300
backend = "serial"
[grid]
quantum = [1.0]
[scenario]
pcpus = 1
policy = {type = "RoundRobin", quantum = "{quantum}"}
[[scenario.vms]]
name = "a"
arrival = {type = "Exponential", rate = 0.7}
service = {type = "Deterministic", value = 1.0}
""")
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "~3.333" in printed and "approx" in printed and "~ marks an approximate" in printed
