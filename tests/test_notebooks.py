"""Execute every notebook (jupytext py:percent sources) as a real notebook, with small sizes."""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.py"))
#: notebooks that read real datasets (virtmodel.data): skipped when the files are not here
NEEDS_DATA = {"06_real_data": ("bank_callcenter", "aircraft_arrivals", "babyboom")}
#: how many closed-form-against-simulation tables each notebook checks family-wise (each prints one
#: ``agreement_summary`` line, virtmodel.experiments.compare); every exact row of each must agree
AGREEMENT_TABLES = {"01_queues": 1, "02_scheduling": 4, "03_hypervisor": 4, "05_allocation": 2, "07_kvm": 1}
AGREEMENT = re.compile(r"^(?P<table>.+): (?P<agree>\d+) of (?P<exact>\d+) exact rows inside their family-wise ")


#: appended to every notebook: the figures it left open, checked for labelled axes, units and legends (issue 12)
FIGURE_CHECK = r"""
import json as _json, re as _re
import matplotlib.pyplot as _plt
_TIMELIKE = _re.compile(r"\b(time|wait|response|delay|latency|makespan|pause|interval|gap|offset|ready|start)\b", _re.I)
_problems = []
for _num in _plt.get_fignums():
    _fig = _plt.figure(_num)
    _axes = [a for a in _fig.axes if a.axison and a.get_label() != "<colorbar>"]
    _legend = bool(_fig.legends) or any(a.get_legend() is not None for a in _axes)
    for _i, _ax in enumerate(_axes):
        _where = f"figure {_num} axes {_i} ({_ax.get_title()!r})"
        _series = [a for a in _ax.get_lines() + _ax.collections + _ax.containers + _ax.patches
                   if not str(a.get_label()).startswith("_")]
        if not (_ax.has_data() or _series):
            continue
        for _name, _label, _shared in (("x", _ax.get_xlabel(), _ax.get_shared_x_axes().get_siblings(_ax)),
                                       ("y", _ax.get_ylabel(), _ax.get_shared_y_axes().get_siblings(_ax))):
            _label = _label or next((getattr(a, f"get_{_name}label")() for a in _shared if a is not _ax
                                     and getattr(a, f"get_{_name}label")()), "")
            if not _label:
                _problems.append(f"{_where}: no {_name} label")
            elif _TIMELIKE.search(_label) and not _re.search(r"[(\[]|/", _label):
                _problems.append(f"{_where}: {_name} label {_label!r} names a time but no unit")
        if len(_series) > 1 and not _legend:
            _problems.append(f"{_where}: {len(_series)} labelled series and no legend")
print("FIGURE-CHECK " + _json.dumps([len(_plt.get_fignums()), _problems]))
"""


def agreement_lines(nb) -> list[tuple[str, int, int]]:
    """(table, rows that agree, exact rows) for every ``agreement_summary`` line the notebook printed."""
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            for line in output.get("text", "").splitlines():
                if match := AGREEMENT.match(line):
                    found.append((match["table"], int(match["agree"]), int(match["exact"])))
    return found


def figure_check(nb) -> tuple[int, list[str]]:
    """How many figures the appended FIGURE_CHECK cell found, and their problems."""
    for output in nb.cells[-1].get("outputs", []):
        for line in output.get("text", "").splitlines():
            if line.startswith("FIGURE-CHECK "):
                figures, problems = json.loads(line[len("FIGURE-CHECK "):])
                return figures, problems
    raise AssertionError("the figure check cell printed nothing")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, monkeypatch, tmp_path):
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    if path.stem in NEEDS_DATA:
        from virtmodel import data

        missing = [name for name in NEEDS_DATA[path.stem] if not data.available(name)]
        if missing:
            pytest.skip(f"datasets {missing} not found: set VIRTMODEL_DATA or run `virtmodel data fetch NAME`")
    monkeypatch.setenv("VIRTMODEL_NB_CUSTOMERS", "3000")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = jupytext.read(path)
    nb.cells.append(nbformat.v4.new_code_cell(FIGURE_CHECK))
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    # every figure: both axes labelled, a unit on every time axis, a legend where there are several series
    figures, problems = figure_check(nb)
    assert figures > 0, "no open figure to check (MPLBACKEND=Agg keeps them open; did the notebook close them?)"
    assert problems == []
    # what the notebook says agrees does: every exact row of each comparison table inside its family-wise interval
    tables = agreement_lines(nb)
    assert len(tables) == AGREEMENT_TABLES.get(path.stem, 0), tables
    assert all(exact > 0 and agree == exact for _, agree, exact in tables), tables
