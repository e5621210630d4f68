"""Execute every notebook (jupytext py:percent sources) as a real notebook, with small sizes."""

from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.py"))
#: notebooks that read real datasets (virtmodel.data): skipped when the files are not here
NEEDS_DATA = {"06_real_data": ("bank_callcenter", "aircraft_arrivals", "babyboom")}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, monkeypatch, tmp_path):
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    if path.stem in NEEDS_DATA:
        from virtmodel import data

        missing = [name for name in NEEDS_DATA[path.stem] if not data.available(name)]
        if missing:
            pytest.skip(f"datasets {missing} not found: set VIRTMODEL_DATA or run `virtmodel data fetch NAME`")
    monkeypatch.setenv("VIRTMODEL_NB_CUSTOMERS", "3000")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
