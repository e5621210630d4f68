"""Issue 12, item 4 (validate): one summary line per area and the failing rows; --verbose prints it all.

run_battery is replaced by a synthetic table (the real battery takes minutes), so the test checks
what is printed, not the models.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from virtmodel.cli import main
from virtmodel.errors import VirtmodelWarning
from virtmodel.experiments import validation
from virtmodel.experiments.validation_summary import area_of_checks, area_summary


def fake_battery(checks, **_):
    labels = [c.label for c in checks]
    q, s = labels[0], labels[-1]  # a queues check and a scheduling check
    rows = [
        # check, exact, metric, analytic, sim_mean, lo, hi, agrees, passes
        (q, True, "mean_wait", 1.0, 1.01, 0.98, 1.04, True, True),
        (q, True, "mean_response", 2.0, 2.30, 2.25, 2.35, False, False),  # a real failure
        (s, False, "mean_response", 3.333, 4.008, 3.73, 4.29, False, True),  # approximate: never fails
    ]
    table = pd.DataFrame(
        [dict(check=c, model="m", exact=e, metric=m, group="all", analytic=a, sim_mean=v, ci_low=lo, ci_high=hi,
              rel_error=abs(v - a) / a, agrees=ag, passes=p, customers=10, replications=2, seed=0,
              engine="compiled") for c, e, m, a, v, lo, hi, ag, p in rows])
    table.attrs["family_level"] = 0.99
    warnings.warn("simulate: this run is too short to trust: test", VirtmodelWarning, stacklevel=2)
    return table


@pytest.mark.filterwarnings("ignore::virtmodel.errors.VirtmodelWarning")
def test_area_summary_counts_per_area():
    areas = ("queues", "scheduling")
    table = fake_battery(validation.battery(areas))
    summary = area_summary(table, area_of_checks(areas)).set_index("area")
    assert summary.loc["queues", "exact"] == 2 and summary.loc["queues", "FAIL"] == 1
    assert summary.loc["scheduling", "approx"] == 1 and summary.loc["scheduling", "FAIL"] == 0
    assert summary.loc["scheduling", "worst_approx"] == "20.25%"


def test_cli_validate_prints_areas_and_failures_verbose_prints_all(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(validation, "run_battery", fake_battery)
    args = ["validate", "--quick", "--area", "queues", "--area", "scheduling", "--no-progress",
            "--out", str(tmp_path / "v.csv")]
    assert main(args) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["area", "checks", "rows"]
    assert lines[1].split()[0] == "queues" and lines[2].split()[0] == "scheduling"
    assert "failing rows" in out and "mean_response" in out and "4.008" not in out  # only the failure
    assert "1 simulation(s) warned that their numbers are not to be trusted" in out
    assert len(pd.read_csv(tmp_path / "v.csv")) == 3  # the full table is in the file
    assert main(args + ["--verbose"]) == 1
    captured = capsys.readouterr()
    assert "4.008" in captured.out and "approx" in captured.out
    assert "warning: simulate: this run is too short to trust: test" in captured.err
