"""The sweep store under concurrency and faults: one writer, truncated files, a failing writer."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

pytest.importorskip("pyarrow")

import virtmodel as vm  # noqa: E402
from virtmodel.errors import VirtmodelError  # noqa: E402
from virtmodel.experiments import store as store_mod  # noqa: E402
from virtmodel.experiments.store import Store  # noqa: E402


def square(x, rng):
    """A deterministic sweep function (module level, so the processes backend could pickle it)."""
    return {"y": float(x) ** 2}


GRID = {"x": [1, 2, 3, 4]}


def test_a_second_writer_is_refused_at_once_naming_the_lock(tmp_path):
    path = tmp_path / "store"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from virtmodel.experiments.store import Store
        st = Store.open({str(path)!r}, {{"points": [], "parameters": []}})
        print("locked", flush=True)
        time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        start = time.monotonic()
        with pytest.raises(VirtmodelError, match=r"being written by another process .*\.lock"):
            vm.sweep(square, GRID, replications=1, seed=1, store=path)
        assert time.monotonic() - start < 5  # refused at once, not after a wait
    finally:
        holder.kill()
        holder.wait()
    # once the writer is gone (its lock died with it), the store opens again
    df = vm.sweep(square, {"x": [1, 2]}, replications=1, seed=1, store=tmp_path / "other")
    assert len(df)


def test_the_lock_is_released_when_a_sweep_ends_or_fails(tmp_path):
    path = tmp_path / "store"
    vm.sweep(square, GRID, replications=1, seed=1, store=path)
    vm.sweep(square, GRID, replications=1, seed=1, store=path)  # reopening works: the lock was released
    with pytest.raises(VirtmodelError, match="different sweep"):
        vm.sweep(square, {"x": [9]}, replications=1, seed=1, store=path)
    with Store.open(path, store_mod.read_definition(path)["definition"]):
        pass  # the refused open above released the lock too


def test_a_truncated_point_file_is_recomputed_not_read(tmp_path):
    path = tmp_path / "store"
    full = vm.sweep(square, GRID, replications=2, seed=1, store=path)
    victim = path / "point-000002.parquet"
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])  # a crash of the file system mid-write
    again = vm.sweep(square, GRID, replications=2, seed=1, store=path)
    assert again.equals(full)
    assert (path / "corrupt-000002.parquet").exists()
    assert store_mod.load(path).equals(full)
    runs = store_mod.read_definition(path)["runs"]
    assert runs[-1]["points_computed"] == 1


def test_a_failing_writer_reports_the_error_and_keeps_finished_points(tmp_path, monkeypatch):
    path = tmp_path / "store"
    real = store_mod._write_atomic
    calls = {"n": 0}

    def full_disk(target, write):
        if target.name.startswith("point-"):
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError(28, "No space left on device")
        return real(target, write)

    monkeypatch.setattr(store_mod, "_write_atomic", full_disk)
    with pytest.raises(VirtmodelError, match=r"could not write point 2 .*No space left.*kept"):
        vm.sweep(square, GRID, replications=1, seed=1, store=path, backend="serial")
    assert sorted(p.name for p in path.glob("point-*.parquet")) == ["point-000000.parquet", "point-000001.parquet"]
    monkeypatch.setattr(store_mod, "_write_atomic", real)
    df = vm.sweep(square, GRID, replications=1, seed=1, store=path, backend="serial")
    assert sorted(df["x"].unique()) == [1, 2, 3, 4]
    assert store_mod.read_definition(path)["runs"][-1]["points_computed"] == 2
