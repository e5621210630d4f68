"""Tests of sweep stores (virtmodel.experiments.store): layout, metadata, resume, refusal."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import virtmodel as vm
from virtmodel.errors import VirtmodelError
from virtmodel.experiments import store as storemod
from virtmodel.experiments.store import RESULT_COLUMNS, Store, definition_hash, load, read_definition
from virtmodel.experiments.sweep import SweepWarning, sweep

pytest.importorskip("pyarrow")

SEED = 7
GRID = {"a": [1, 2, 3], "label": ["x", "y"]}
CALLS: list = []
BROKEN: set = set()


def counted(a, label, rng):
    """Records its calls in CALLS; raises for values of ``a`` in BROKEN."""
    CALLS.append((a, label))
    if a in BROKEN:
        raise ValueError(f"a={a} is broken today")
    return {"x": a + rng.random(), "n": float(len(label))}


def other(a, label, rng):
    return {"x": 0.0}


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()
    BROKEN.clear()
    yield
    CALLS.clear()
    BROKEN.clear()


def run(path, **kw):
    args = dict(grid=GRID, replications=2, seed=SEED, progress=False, store=path)
    args.update(kw)
    return sweep(counted, **args)


def test_layout_and_metadata(tmp_path):
    path = tmp_path / "s"
    df = run(path)
    names = sorted(p.name for p in path.iterdir())
    assert names == [".lock", "point-000000.parquet", "point-000001.parquet", "point-000002.parquet",
                     "point-000003.parquet", "point-000004.parquet", "point-000005.parquet", "sweep.json"]
    meta = json.loads((path / "sweep.json").read_text())
    d = meta["definition"]
    assert d["function"] == f"{counted.__module__}:counted"
    assert d["parameters"] == ["a", "label"] and len(d["points"]) == 6
    assert d["points"][1] == {"a": 1, "label": "y"}
    assert d["grid"] == {"type": "product", "parameters": {"a": [1, 2, 3], "label": ["x", "y"]}}
    assert (d["replications"], d["seed"], d["common_random_numbers"]) == (2, SEED, False)
    assert d["virtmodel_version"] == vm.__version__ and d["simulate_kwargs"] == {}
    assert meta["hash"] == definition_hash(d)
    (entry,) = meta["runs"]
    assert entry["started"] <= entry["finished"] and meta["started"] == entry["started"]
    assert "git_revision" in entry and entry["backend"] == "serial"
    assert (entry["points_computed"], entry["points_failed"]) == (6, 0)
    one = pd.read_parquet(path / "point-000004.parquet")
    assert list(one.columns) == ["a", "label"] + RESULT_COLUMNS
    assert set(one["point"]) == {4} and set(one["a"]) == {3} and set(one["label"]) == {"x"}
    pd.testing.assert_frame_equal(load(path), df)


def test_rerun_computes_only_missing_points(tmp_path):
    path = tmp_path / "s"
    first = run(path)
    assert len(CALLS) == 12
    CALLS.clear()
    again = run(path)
    assert CALLS == []
    pd.testing.assert_frame_equal(first, again)
    (path / "point-000003.parquet").unlink()
    (path / "point-000000.parquet").unlink()
    resumed = run(path, backend="processes", workers=2)  # another backend may resume
    assert CALLS == []  # computed in the worker processes, not here
    pd.testing.assert_frame_equal(first, resumed)
    CALLS.clear()
    (path / "point-000005.parquet").unlink()
    run(path)
    assert CALLS == [(3, "y"), (3, "y")]
    assert [r["points_computed"] for r in read_definition(path)["runs"]] == [6, 0, 2, 1]


def test_failed_points_are_stored_and_retried(tmp_path):
    path = tmp_path / "s"
    BROKEN.add(2)
    with pytest.warns(SweepWarning, match="2 of 6 sweep points failed"):
        df = run(path)
    assert sorted(p.name for p in path.glob("failed-*")) == ["failed-000002.parquet", "failed-000003.parquet"]
    assert Store(path).failed() == {2, 3} and Store(path).done() == {0, 1, 4, 5}
    stored = load(path)
    pd.testing.assert_frame_equal(stored, df)
    assert stored.loc[stored.point == 2, "error"].item().startswith("ValueError: a=2 is broken today")
    assert read_definition(path)["runs"][0]["points_failed"] == 2
    BROKEN.clear()
    CALLS.clear()
    fixed = run(path)
    assert sorted(set(CALLS)) == [(2, "x"), (2, "y")]
    assert not list(path.glob("failed-*")) and fixed["error"].isna().all()
    pd.testing.assert_frame_equal(fixed, sweep(counted, GRID, replications=2, seed=SEED, progress=False))


@pytest.mark.parametrize("change, what", [
    (dict(replications=3), "replications differs (store: 2, now: 3)"),
    (dict(seed=8), "seed differs (store: 7, now: 8)"),
    (dict(grid={"a": [1, 2], "label": ["x", "y"]}), "points differs: 6 points in the store, 4 now"),
    (dict(grid={"a": [1, 2, 4], "label": ["x", "y"]}), "points differ at 2 point"),
    (dict(common_random_numbers=True), "common_random_numbers differs"),
    (dict(customers=100), "simulate_kwargs.customers is new"),
])
def test_different_definition_is_refused(tmp_path, change, what):
    path = tmp_path / "s"
    run(path)
    before = sorted(p.name for p in path.iterdir())
    with pytest.raises(VirtmodelError, match="holds a different sweep") as err:
        run(path, **change)
    assert what in str(err.value)
    assert sorted(p.name for p in path.iterdir()) == before
    assert len(read_definition(path)["runs"]) == 1


def test_other_function_is_refused(tmp_path):
    path = tmp_path / "s"
    run(path)
    with pytest.raises(VirtmodelError, match=r"function differs .*:counted.*:other"):
        sweep(other, GRID, replications=2, seed=SEED, progress=False, store=path)


def test_provenance_does_not_change_the_definition(tmp_path):
    path = tmp_path / "s"
    run(path)
    meta = read_definition(path)
    meta["runs"][0]["git_revision"] = "something else"
    meta["started"] = "1999-01-01T00:00:00+00:00"
    (path / "sweep.json").write_text(json.dumps(meta))
    run(path, backend="processes", workers=2)
    assert len(read_definition(path)["runs"]) == 2


def test_stale_temp_files_are_removed_and_foreign_directories_refused(tmp_path):
    path = tmp_path / "s"
    run(path)
    stale = path / ".point-000009.parquet.tmp-12345"
    stale.write_bytes(b"half a file")
    run(path)
    assert not stale.exists()
    foreign = tmp_path / "f"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(VirtmodelError, match="not empty but has no sweep.json"):
        run(foreign)
    with pytest.raises(VirtmodelError, match="not a sweep store"):
        load(tmp_path / "nothing")


def test_partial_store_loads_the_points_done(tmp_path):
    path = tmp_path / "s"
    full = run(path)
    (path / "point-000001.parquet").unlink()
    part = load(path)
    assert sorted(part["point"].unique()) == [0, 2, 3, 4, 5]
    pd.testing.assert_frame_equal(part, full[full.point != 1].reset_index(drop=True))


def test_normalise_body_fixes_dtypes():
    raw = pd.DataFrame({"point": [1.0, 1.0], "replication": [0, -1], "metric": ["m", None],
                        "group": ["all", np.nan], "source": ["sim", "sim"], "value": [1, None],
                        "ci_low": [None, None], "ci_high": [np.nan, 2.0], "error": [None, np.nan]})
    out = storemod.normalise_body(raw)
    assert list(out.columns) == RESULT_COLUMNS
    assert out["point"].dtype == np.int64 and out["value"].dtype == np.float64
    assert out["metric"].dtype == object and out["metric"].tolist() == ["m", None]
    assert out["error"].tolist() == [None, None] and out["ci_low"].isna().all()
