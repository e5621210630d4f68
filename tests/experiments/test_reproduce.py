"""``virtmodel reproduce`` writes the same bytes twice, reuses its store, and says what it skipped (issue 14 item 2).

A tiny size (one validation area, a few thousand customers) keeps this at a
few seconds; CI runs the real ``--quick`` size twice and compares hashes.
"""

from __future__ import annotations

import hashlib

import pytest

from virtmodel.errors import InvalidParameter
from virtmodel.experiments import reproduce as R

TINY = R.Size("tiny", validation=(2_000, 2), slowdown=(2_000, 2), consolidation=(1_000, 2),
              clock=(1.0, 2, (16.0, 64.0)), azure_hosts=(800, 1000), areas=("queues",),
              consolidation_vms=(2, 4), consolidation_loads=(0.5, 0.8))
#: the items that need no real data
SIMULATED = ["derivations", "validation", "slowdown", "consolidation", "clock_poll"]


def _hashes(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    out, store = tmp_path_factory.mktemp("out1"), tmp_path_factory.mktemp("store1")
    ctx = R.reproduce(out=out, store=store, size=TINY, only=SIMULATED, workers=1)
    return out, store, ctx


def test_outputs_exist_and_are_named(first_run):
    out, _, ctx = first_run
    names = set(_hashes(out))
    for fig in ("validation", "slowdown", "consolidation", "clock_poll"):
        assert {f"figures/{fig}.pdf", f"figures/{fig}.png"} <= names
    assert {"tables/validation.tex", "tables/validation.csv", "tables/numbers.tex",
            "derivations/mg1-mean_wait.tex"} <= names
    numbers = (out / "tables" / "numbers.tex").read_text()
    assert "\\input{tables/numbers-validation}" in numbers
    macros = (out / "tables" / "numbers-validation.tex").read_text()
    assert "\\newcommand{\\ValExactRows}" in macros and "\\newcommand{\\ValChecks}{10}" in macros
    assert len(ctx.written) == len(names) and not ctx.unchanged


def test_second_run_reuses_the_store_and_writes_identical_bytes(first_run, tmp_path, capsys):
    """Rerun into a new directory from the same store: nothing recomputed, every file byte-identical."""
    out, store, _ = first_run
    R.reproduce(out=tmp_path, store=store, size=TINY, only=SIMULATED, workers=1)
    assert _hashes(tmp_path) == _hashes(out)
    printed = capsys.readouterr().out
    assert "reused 4 from" in printed and "computed 0" in printed      # slowdown's four policies
    again = R.reproduce(out=tmp_path, store=store, size=TINY, only=["slowdown"], workers=1)
    assert again.unchanged and not again.written                         # same bytes: files left alone


def test_fresh_store_gives_identical_bytes(first_run, tmp_path):
    """Recomputed from scratch (another store, two worker processes): the same bytes."""
    out, _, _ = first_run
    R.reproduce(out=tmp_path / "out", store=tmp_path / "store", size=TINY, only=["slowdown", "consolidation"],
                workers=2)
    mine = _hashes(tmp_path / "out")
    theirs = _hashes(out)
    assert mine and all(theirs[k] == v for k, v in mine.items() if not k.startswith("tables/numbers.tex"))


def test_validation_table_matches_the_battery_verdicts(first_run):
    """The paper's validation rows carry validate's columns; exact rows outside the 95 % CI are counted."""
    import pandas as pd

    out, _, _ = first_run
    rows = pd.read_csv(out / "tables" / "validation_rows.csv")
    summary = pd.read_csv(out / "tables" / "validation.csv")
    exact = rows[rows["exact"]]
    assert summary.set_index("area").loc["all", "outside"] == (~exact["agrees"]).sum()
    inside = (exact["ci_low"] <= exact["analytic"]) & (exact["analytic"] <= exact["ci_high"])
    assert (inside == exact["agrees"]).all()
    from virtmodel.experiments.validation import battery

    assert set(rows["check"]) >= {"M/M/1 load 0.5", "M/M/1 load 0.95"}   # both run lengths (heavy: longer)
    heavy = next(c for c in battery(("queues",)) if c.label == "M/M/1 load 0.95")
    assert (rows.loc[rows["check"] == "M/M/1 load 0.95", "customers"] == heavy.length * 2_000).all()


def test_data_items_are_skipped_with_a_message_without_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VIRTMODEL_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path))
    ctx = R.reproduce(out=tmp_path / "out", store=tmp_path / "store", size=TINY,
                      only=["azure_blocking", "callcentre", "clock_data"], workers=1)
    printed = capsys.readouterr().out
    assert ctx.skipped == ["azure_blocking", "callcentre", "clock_data"]
    assert "SKIPPED azure_blocking: needs the real datasets ['azure_v1']" in printed
    assert not (tmp_path / "out" / "figures").exists()


def test_bad_arguments_are_refused():
    with pytest.raises(InvalidParameter, match="only must name items"):
        R.reproduce(only=["nonsense"])
    with pytest.raises(InvalidParameter, match="size must be one of"):
        R.reproduce(size="huge")
    with pytest.raises(InvalidParameter, match="replications >= 2"):
        R.Size("x", validation=(1000, 1), slowdown=(1000, 2), consolidation=(1000, 2), clock=(1.0, 2, (16.0,)),
               azure_hosts=(10,))


def test_latex_helpers():
    table = R.latex_table(__import__("pandas").DataFrame({"name": ["a_b", "50 %"], "x": [1.5, 2.25]}),
                          [("name", "name", None), ("x", "$x$", lambda v: f"{v:.1f}")])
    assert "a\\_b & 1.5 \\\\" in table and "50 \\% & 2.2 \\\\" in table and table.startswith("\\begin{tabular}{lr}")
    assert R.latex_number(1483) == "1{,}483" and R.latex_number(0.00012, 2) == "$1.2 \\times 10^{-4}$"


def test_validation_sizes_are_validates():
    """The paper's validation table is `virtmodel validate --quick`'s battery and size."""
    from virtmodel.experiments.validation import SIZES

    assert R.SIZES["quick"].validation == "quick" and R.SIZES["default"].validation == "quick"
    assert "quick" in SIZES


def test_readme_validation_summary_is_the_committed_table():
    """The README's validation summary is paper/tables/validation.csv, cell for cell (rerun reproduce, then paste)."""
    from pathlib import Path

    import pandas as pd

    root = Path(__file__).resolve().parents[2]
    lines = (root / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("<!-- validation-summary: paper/tables/validation.csv -->") + 1
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    header, body = rows[0], rows[2:]
    table = pd.read_csv(root / "paper" / "tables" / "validation.csv", keep_default_na=False, dtype=str)
    assert header == list(table.columns)
    assert body == table.to_numpy().tolist()


def test_paper_style_ships_with_the_package_and_saves_identical_bytes(tmp_path):
    """The style sheet is package data; a figure is one column wide (3.3 in) and saves to the same bytes twice."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from virtmodel import plotting

    assert plotting.STYLE_FILE.is_file() and plotting.STYLE_FILE.parent.parent.name == "virtmodel"
    digests = []
    for run in ("a", "b"):
        with plotting.paper_style():
            fig, ax = plt.subplots()
            ax.plot([1, 2], [3, 4], label="x")
            ax.set_xlabel("load $\\rho$")
            ax.legend()
            paths = plotting.save(fig, tmp_path / run / "f")
            assert fig.get_size_inches()[0] == plotting.COLUMN_WIDTH
            plt.close(fig)
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest() for p in paths])
    assert digests[0] == digests[1]
    assert b"CreationDate" not in (tmp_path / "a" / "f.pdf").read_bytes()
