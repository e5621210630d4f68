"""Issue 11, item 5: ``virtmodel validate --engines`` runs one check per policy on both engines,
and the table's ``engine`` column says which simulator made each row."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from virtmodel.cli import main
from virtmodel.experiments import validation
from virtmodel.sim.compiled import supports


def test_engine_sample_has_every_policy_on_both_engines():
    sample = validation.engine_sample()
    by_label = {}
    for check in sample:
        label, engine = check.label.rsplit(" [", 1)
        assert engine == f"{check.engine}]" and supports(check.scenario)
        by_label.setdefault(label, []).append(check.engine)
    assert all(engines == ["simpy", "compiled"] for engines in by_label.values())
    policies = {type(c.scenario.policy).__name__ for c in sample}
    scheduling = {type(c.scenario.policy).__name__ for c in validation.battery(("scheduling",))}
    assert scheduling | {"FCFS", "Polling", "LinuxFair"} <= policies
    assert any(c.scenario.capacity is not None for c in sample) and any(c.scenario.pcpus > 1 for c in sample)


@pytest.mark.filterwarnings("ignore::virtmodel.errors.VirtmodelWarning")
def test_run_battery_runs_each_check_on_its_engine():
    pair = [c for c in validation.engine_sample() if c.label.startswith("preemptive priority")]
    table = validation.run_battery(pair, customers=3_000, replications=2, progress=False)
    engines = table.groupby("check")["engine"].unique()
    assert {label: list(e) for label, e in engines.items()} == {
        "preemptive priority, exp, load 0.8 [simpy]": ["simpy"],
        "preemptive priority, exp, load 0.8 [compiled]": ["compiled"]}


def test_cli_engines_flag_adds_the_sample(tmp_path, monkeypatch, capsys):
    seen = []

    def fake(checks, **_):
        seen.extend(checks)
        rows = [dict(check=c.label, model="m", exact=True, metric="mean_wait", group="all", analytic=1.0,
                     sim_mean=1.0, ci_low=0.9, ci_high=1.1, rel_error=0.0, agrees=True, passes=True,
                     customers=10, replications=2, seed=0, engine=c.engine) for c in checks]
        table = pd.DataFrame(rows)
        table.attrs["family_level"] = 0.99
        return table

    monkeypatch.setattr(validation, "run_battery", fake)
    args = ["validate", "--quick", "--area", "queues", "--no-progress", "--out", str(tmp_path / "v.csv")]
    with warnings.catch_warnings():
        assert main(args) == 0
        plain = len(seen)
        seen.clear()
        assert main(args + ["--engines"]) == 0
    assert len(seen) == plain + len(validation.engine_sample())
    out = capsys.readouterr().out
    assert "engines" in out.splitlines()[-1]
    written = pd.read_csv(tmp_path / "v.csv")
    assert set(written["engine"]) >= {"simpy", "compiled"}
