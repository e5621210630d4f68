"""Issue 12, item 4: ``virtmodel predict | simulate | compare FILE.toml`` for one scenario."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import virtmodel as vm
from virtmodel.cli import main
from virtmodel.experiments.scenario_file import load_scenario_file

RR = """
[simulate]
customers = 400
replications = 2
seed = 5

[scenario]
pcpus = 1
policy = {type = "RoundRobin", quantum = 1.0}

[[scenario.vms]]
name = "web"
arrival = {type = "Exponential", rate = 0.35}
service = {type = "Deterministic", value = 1.0}

[[scenario.vms]]
name = "batch-processing-vm"
arrival = {type = "Exponential", rate = 0.35}
service = {type = "Deterministic", value = 1.0}
"""

FCFS = RR.replace('policy = {type = "RoundRobin", quantum = 1.0}', 'policy = "FCFS"')


@pytest.fixture()
def files(tmp_path):
    out = {}
    for name, text in {"rr": RR, "fcfs": FCFS}.items():
        out[name] = tmp_path / f"{name}.toml"
        out[name].write_text(text)
    return out


def lines_fit(text):
    """The table and notes fit 80 columns (the "written to PATH" line is as long as the path)."""
    return all(len(line) <= 80 for line in text.splitlines() if not line.startswith("written to"))


def flat(text):
    return " ".join(text.split())


def test_predict_marks_an_approximation(files, capsys):
    assert main(["predict", str(files["rr"])]) == 0
    out = capsys.readouterr().out
    assert "~3.3333" in out and "APPROXIMATE" in out and lines_fit(out)
    assert main(["predict", str(files["fcfs"])]) == 0
    out = capsys.readouterr().out
    assert "~" not in out and "exact closed form" in out and "2.1667" in out  # M/D/1 response, rho 0.7


@pytest.mark.filterwarnings("ignore::virtmodel.errors.VirtmodelWarning")  # 300 customers: short on purpose
def test_simulate_uses_file_defaults_and_flags_and_writes_json(files, tmp_path, capsys):
    out_path = tmp_path / "sim.json"
    assert main(["simulate", str(files["fcfs"]), "--customers", "300", "--seed", "9", "--engine", "simpy",
                 "--out", str(out_path)]) == 0
    out = capsys.readouterr().out
    assert "2 replication(s) of 300 customers, seed 9; engine simpy" in flat(out) and lines_fit(out)
    rows = json.loads(out_path.read_text())
    direct = vm.simulate(load_scenario_file(files["fcfs"])[0], customers=300, replications=2, seed=9,
                         engine="simpy")
    got = {(r["metric"], r["group"]): r["mean"] for r in rows}
    assert got["mean_response", "all"] == pytest.approx(direct.mean("mean_response"), rel=1e-14)  # same run
    assert {r["engine"] for r in rows} == {"simpy"}


def test_compare_writes_csv_with_exact_model_engine(files, tmp_path, capsys):
    out_path = tmp_path / "cmp.csv"
    assert main(["compare", str(files["rr"]), "--out", str(out_path)]) == 0
    out = capsys.readouterr().out
    assert "~3.3333" in out and "APPROXIMATE" in out and lines_fit(out)
    tab = pd.read_csv(out_path)
    assert {"exact", "model", "engine", "analytic", "sim_mean", "agrees"} <= set(tab.columns)
    assert not tab["exact"].any() and "round robin" in tab["model"].iloc[0]


def test_errors_are_one_line_exit_2(files, tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(RR.replace("pcpus = 1", "pcpus = 1\ncpus = 2"))
    assert main(["predict", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown key(s) ['cpus']" in err
    bad.write_text(RR.replace("rate = 0.35", 'rate = "{load}"', 1))
    assert main(["predict", str(bad)]) == 2
    assert "not grid parameters" in capsys.readouterr().err
    assert main(["simulate", str(files["rr"]), "--out", str(tmp_path / "x.txt")]) == 2
    assert "--out must end in .csv or .json" in capsys.readouterr().err
    bad.write_text(RR.replace('name = "web"', 'name = "web"\npatience = {type = "Exponential", rate = 1.0}'))
    assert main(["compare", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "NoClosedForm" in err and "virtmodel simulate" in err


def test_unstable_scenario_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "over.toml"
    path.write_text(RR.replace("rate = 0.35", "rate = 0.7"))
    assert main(["predict", str(path)]) == 2
    err = capsys.readouterr().err
    assert "UnstableSystem" in err and "Traceback" not in err
