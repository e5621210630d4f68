"""Issue 12, item 2: hints that point at something, and error messages a new user can act on."""

from __future__ import annotations

import math

import pytest

import virtmodel as vm
from virtmodel.cli import main
from virtmodel.dists import Deterministic, Exponential
from virtmodel.errors import InvalidParameter, UnstableSystem
from virtmodel.experiments import spec as specmod


def overloaded():
    return vm.Scenario(1, [vm.VM("a", Exponential(1.5), Exponential(1.0))], allow_overload=True)


# --------------------------------------------------------------------------- predict(unstable="inf")


def test_predict_unstable_inf_follows_its_own_hint():
    with pytest.raises(UnstableSystem, match="unstable='inf'"):
        vm.predict(overloaded())
    p = vm.predict(overloaded(), unstable="inf")
    for metric in ("mean_wait", "mean_response", "mean_number", "mean_queue_length"):
        assert p.value(metric) == math.inf
    assert "no steady state" in p.model


def test_predict_unstable_inf_leaves_a_stable_scenario_alone():
    sc = vm.Scenario(1, [vm.VM("a", Exponential(0.5), Deterministic(1.0))])
    assert vm.predict(sc, unstable="inf").value("mean_wait") == pytest.approx(0.5, rel=1e-12)  # M/D/1
    with pytest.raises(InvalidParameter, match="unstable must be 'raise' or 'inf', got 'nan'"):
        vm.predict(sc, unstable="nan")


# --------------------------------------------------------------------------- sweep files say what Python can

FULL = """
[sweep]
customers = 200
backend = "serial"
[grid]
load = [1.2]
[scenario]
pcpus = 1
allow_overload = true
[[scenario.vms]]
name = "a"
vcpus = 1
arrival = {type = "Exponential", rate = "{load}"}
service = {type = "Exponential", rate = 1.0}
patience = {type = "Exponential", rate = 0.5}
boot = {type = "Deterministic", value = 1.0}
[[scenario.events]]
type = "Pause"
vm = "a"
at = 10.0
duration = 5.0
"""


def test_sweep_file_accepts_every_scenario_and_vm_field():
    spec = specmod.parse_spec(FULL, name="full")
    sc = spec.factory(load=1.2)
    assert sc.allow_overload is True and sc.events[0].duration == 5.0  # replay adds the Resume at 15
    a = sc.vms[0]
    assert a.vcpus == 1 and a.patience == Exponential(0.5) and a.boot == Deterministic(1.0)


def test_sweep_file_field_errors_name_the_key():
    with pytest.raises(InvalidParameter, match="allow_overload must be true or false"):
        specmod.parse_spec(FULL.replace("allow_overload = true", "allow_overload = 3"), name="x")
    with pytest.raises(InvalidParameter, match=r"scenario.vms\[0\]: unknown key\(s\) \['patiense'\]"):
        specmod.parse_spec(FULL.replace("patience =", "patiense ="), name="x")
    with pytest.raises(InvalidParameter, match=r"scenario.events\[0\].type must be one of"):
        specmod.parse_spec(FULL.replace('type = "Pause"', 'type = "Pauze"'), name="x")


# --------------------------------------------------------------------------- --resume only when it can help

UNSTABLE = """
[sweep]
customers = 200
backend = "serial"
[grid]
load = [1.5]
[scenario]
pcpus = 1
[[scenario.vms]]
name = "a"
arrival = {type = "Exponential", rate = "{load}"}
service = {type = "Exponential", rate = 1.0}
"""


def test_cli_sweep_does_not_suggest_resume_for_deterministic_failures(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    path = tmp_path / "unstable.toml"
    path.write_text(UNSTABLE)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "UnstableSystem" in err and "a rerun won't help" in err and "--resume" not in err


# --------------------------------------------------------------------------- derive with a typo


def test_cli_derive_unknown_name_is_one_line_with_close_matches(capsys):
    assert main(["derive", "mm1.mean_wiat"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err
    assert "no derivation named 'mm1.mean_wiat'" in lines[0] and "mm1.mean_wait" in lines[0]
    assert main(["derive", "no.such.thing"]) == 2
    assert "virtmodel derive --list" in capsys.readouterr().err


# --------------------------------------------------------------------------- defaults and notebooks (item 6)

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def test_round_robin_documents_its_default_quantum():
    import dataclasses

    from virtmodel.policies import RoundRobin

    default = {f.name: f.default for f in dataclasses.fields(RoundRobin)}["quantum"]
    assert RoundRobin().quantum == default
    assert f"quantum : float, default {default}" in RoundRobin.__doc__


def test_jupytext_config_makes_notebooks_percent_text_notebooks():
    config = pytest.importorskip("jupytext.config")
    path = config.find_jupytext_configuration_file(str(ROOT / "notebooks"))
    assert path is not None and __import__("pathlib").Path(path) == ROOT / "jupytext.toml"
    assert config.load_jupytext_configuration_file(path).formats == ["py:percent"]


def test_notebooks_extra_brings_what_running_them_needs():
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extra = " ".join(meta["project"]["optional-dependencies"]["notebooks"])
    for package in ("jupyterlab", "jupytext", "nbconvert", "ipykernel"):
        assert package in extra
    assert "\nnotebooks:" in (ROOT / "Makefile").read_text()
