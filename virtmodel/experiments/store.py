"""Sweep results on disk: one directory per sweep, one parquet file per finished point.

Layout of a store directory::

    sweep.json                 the sweep's definition, its hash and the runs that wrote here
    .lock                      the writer's lock (filelock); held while a sweep writes
    point-000000.parquet       rows of point 0 (finished without error)
    failed-000007.parquet      the error row of point 7 (recomputed when the sweep is rerun)

``sweep.json`` holds ``definition`` (parameter points and how they were made,
the function's identity ``module:qualname``, replications, seed entropy,
common random numbers, the keyword arguments passed to ``simulate`` and the
package version), ``hash`` (SHA-256 of the canonical JSON of the
definition) and ``runs``: one entry per invocation with its start and end
time, git revision, backend, workers and how many points it computed and
how many failed.  Times, git revision, backend and workers are provenance,
not definition: they are outside the hash, so a sweep can be resumed on
another machine or with another number of workers.

Every point file is written under a temporary name and moved into place
with :func:`os.replace` (atomic on POSIX), so a killed sweep loses at most
the points in flight and never leaves a half-written point file.  A rerun
with the same definition computes only the points without a
``point-*.parquet`` file (the missing and the failed ones); a different
definition is refused with :class:`~virtmodel.errors.VirtmodelError` naming
what differs.

One writer at a time: :meth:`Store.open` takes an exclusive lock on
``.lock`` in the directory (:mod:`filelock`, an OS file lock that dies with
its process) and holds it until :meth:`Store.close`; a second process that
opens the same store is refused at once, naming the lock.  On reopening,
every point file is checked (its parquet footer read); one that cannot be
read (truncated by a crash of the file system, say) is moved aside as
``corrupt-NNNNNN.parquet`` and its point recomputed, never read as a result.
A point that cannot be written (a full disk) raises a VirtmodelError that
says so; the points already written stay.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np

from .._lazy import lazy
from ..errors import VirtmodelError

pd = lazy("pandas")

__all__ = ["Store", "load", "read_definition", "definition_hash", "RESULT_COLUMNS"]

#: the columns after the parameter columns, in this order
#: ``exact`` (True/False on analytic rows of scenario sweeps, else None), ``model`` (the closed form's
#: name on analytic rows) and ``engine`` (the simulator on sim rows of scenario sweeps) say what each
#: number is; stores written before they existed read back with None there.
RESULT_COLUMNS = ["point", "replication", "metric", "group", "source", "value", "ci_low", "ci_high",
                  "exact", "model", "engine", "error"]
_TEXT = ("metric", "group", "source", "model", "engine", "error")
_FLOAT = ("value", "ci_low", "ci_high")
_FILE = re.compile(r"^(point|failed)-(\d+)\.parquet$")
_LOCK = ".lock"
FORMAT = 1


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=True)


def definition_hash(definition: dict) -> str:
    """SHA-256 (hex) of the canonical JSON of a sweep definition."""
    return hashlib.sha256(_canonical(definition).encode()).hexdigest()


def git_revision() -> str | None:
    """``git describe``-like revision of the virtmodel source tree (``+dirty`` if modified), or None."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return rev + ("+dirty" if dirty else "") if rev else None


def normalise_body(frame: pd.DataFrame) -> pd.DataFrame:
    """The result columns of a point (or of many) with fixed dtypes.

    ``point`` and ``replication`` are int64, the numbers float64 and the text
    columns object with None where missing, whatever pandas version or file
    round trip produced the frame; that is what makes a stored and a fresh
    result compare equal.
    """
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    for col in RESULT_COLUMNS:
        values = frame[col].to_numpy() if col in frame else np.full(len(frame), None, dtype=object)
        if col in ("point", "replication"):
            out[col] = np.asarray(values, dtype=np.int64)
        elif col in _FLOAT:
            out[col] = pd.Series(values, dtype=object).astype(np.float64).to_numpy()
        elif col == "exact":  # Python True/False, None where the row has no closed form
            out[col] = pd.Series([None if pd.isna(v) else bool(v) for v in values], dtype=object)
        else:
            obj = np.array(values, dtype=object)
            missing = pd.isna(obj)
            obj[missing] = None
            out[col] = pd.Series(obj, dtype=object)
    return out


def assemble(points: list[dict], parameters: list[str], bodies) -> pd.DataFrame:
    """Parameter columns (from the point definitions) beside the result columns.

    ``bodies`` is an iterable of frames with the result columns; they are
    concatenated in the order given.  The parameter values come from
    ``points`` (indexed by the ``point`` column), so their dtypes are the
    same however the rows were obtained.
    """
    bodies = [b for b in bodies if b is not None]
    body = pd.concat(bodies, ignore_index=True) if bodies else pd.DataFrame(columns=RESULT_COLUMNS)
    body = normalise_body(body)
    if points:
        table = pd.DataFrame.from_records(points, columns=parameters)
    else:
        table = pd.DataFrame(columns=parameters)
    left = table.iloc[body["point"].to_numpy()].reset_index(drop=True)
    return pd.concat([left, body], axis=1)


def _need_pyarrow():
    try:
        import pyarrow  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the environment
        raise VirtmodelError(
            "store= needs pyarrow to write parquet files: pip install 'virtmodel[distributed]' (or pyarrow)"
        ) from None


def _diff(old, new, path="") -> list[str]:
    """Human-readable differences between two JSON-like values."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in old:
                out.append(f"{sub} is new (now {_short(new[key])})")
            elif key not in new:
                out.append(f"{sub} is gone (store: {_short(old[key])})")
            else:
                out.extend(_diff(old[key], new[key], sub))
        return out
    if isinstance(old, list) and isinstance(new, list) and path.endswith("points"):
        if len(old) != len(new):
            return [f"{path} differs: {len(old)} points in the store, {len(new)} now"]
        bad = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if _canonical(a) != _canonical(b)]
        if bad:
            i = bad[0]
            return [f"{path} differ at {len(bad)} point(s), first point {i}: store {old[i]}, now {new[i]}"]
        return []
    if _canonical(old) != _canonical(new):
        return [f"{path} differs (store: {_short(old)}, now: {_short(new)})"]
    return []


def _short(value, width: int = 80) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= width else text[: width - 3] + "..."


def _write_atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


class Store:
    """A sweep's directory on disk (see the module docstring for the layout).

    Use :meth:`open` to create one or to reopen it for the same definition.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.meta_path = self.path / "sweep.json"

    # -- opening -----------------------------------------------------------------

    @classmethod
    def open(cls, path, definition: dict, run: dict | None = None) -> Store:
        """Create the store at ``path`` or reopen it; refuse a different definition.

        Parameters
        ----------
        path : path-like
            Directory (created if missing).
        definition : dict
            JSON-serialisable sweep definition (what determines the results).
        run : dict, optional
            Provenance of this invocation (backend, workers...), added to
            ``runs`` with the start time and git revision.

        Raises
        ------
        VirtmodelError
            If the directory holds a sweep with another definition (the
            message lists what differs), or something that is not a store.
        """
        _need_pyarrow()
        store = cls(path)
        store.path.mkdir(parents=True, exist_ok=True)
        store._lock()
        try:
            store._open(definition, run)
        except BaseException:
            store.close()
            raise
        return store

    def _lock(self) -> None:
        import filelock

        lock_path = self.path / _LOCK
        self._filelock = filelock.FileLock(str(lock_path), timeout=0)
        try:
            self._filelock.acquire()
        except filelock.Timeout:
            self._filelock = None
            raise VirtmodelError(
                f"store {self.path} is being written by another process (it holds the lock {lock_path}); "
                "wait for that sweep to finish, or use another store directory"
            ) from None

    def close(self) -> None:
        """Release the store's lock (the sweep does this when it ends, also on an error)."""
        lock = getattr(self, "_filelock", None)
        if lock is not None:
            lock.release()
            self._filelock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _open(self, definition, run):
        store = self
        digest = definition_hash(definition)
        entry = {"started": _now(), "finished": None, "git_revision": git_revision(), **(run or {})}
        if store.meta_path.exists():
            meta = store.read_meta()
            if meta.get("hash") != digest:
                diffs = _diff(meta.get("definition", {}), definition) or ["the definition hash"]
                raise VirtmodelError(
                    f"store {store.path} holds a different sweep; refusing to mix results. "
                    f"What differs: {'; '.join(diffs)}. Use another store directory, or delete this one "
                    "to start over."
                )
            meta.setdefault("runs", []).append(entry)
            for stale in store.path.glob(".*.tmp-*"):  # left by a killed run
                stale.unlink(missing_ok=True)
            store._set_aside_corrupt()
        else:
            if any(p.name != _LOCK for p in store.path.iterdir()):
                raise VirtmodelError(
                    f"store {store.path} exists and is not empty but has no sweep.json; "
                    "choose an empty or new directory"
                )
            meta = {"format": FORMAT, "hash": digest, "definition": definition,
                    "started": entry["started"], "finished": None, "runs": [entry]}
        store._write_meta(meta)

    def _set_aside_corrupt(self) -> list[int]:
        """Move every point file whose parquet footer cannot be read to ``corrupt-*``; return their points."""
        import pyarrow.parquet as pq

        bad = []
        for (kind, index), path in sorted(self._files().items()):
            try:
                pq.read_metadata(path)
            except Exception:  # noqa: BLE001 - any unreadable file is set aside, whatever pyarrow raises
                os.replace(path, path.with_name(f"corrupt-{index:06d}.parquet"))
                if kind == "point":
                    bad.append(index)
        return bad

    def read_meta(self) -> dict:
        """The parsed ``sweep.json``."""
        try:
            return json.loads(self.meta_path.read_text())
        except FileNotFoundError:
            raise VirtmodelError(f"{self.path} is not a sweep store: no sweep.json") from None
        except json.JSONDecodeError as exc:
            raise VirtmodelError(f"{self.meta_path} is not valid JSON: {exc}") from None

    def _write_meta(self, meta: dict) -> None:
        _write_atomic(self.meta_path, lambda tmp: tmp.write_text(json.dumps(meta, indent=1) + "\n"))

    def finish_run(self, **info) -> None:
        """Record the end time (and ``info``, e.g. points computed and failed) of the current run."""
        meta = self.read_meta()
        now = _now()
        meta["runs"][-1].update(finished=now, **info)
        meta["finished"] = now
        self._write_meta(meta)

    # -- points --------------------------------------------------------------------

    def _files(self) -> dict[tuple[str, int], Path]:
        out = {}
        for entry in self.path.iterdir():
            m = _FILE.match(entry.name)
            if m:
                out[m.group(1), int(m.group(2))] = entry
        return out

    def done(self) -> set[int]:
        """Indices of the points finished without error."""
        return {i for kind, i in self._files() if kind == "point"}

    def failed(self) -> set[int]:
        """Indices of the points whose last attempt failed (and that have not succeeded since)."""
        files = self._files()
        return {i for kind, i in files if kind == "failed" and ("point", i) not in files}

    def point_file(self, index: int, failed: bool = False) -> Path:
        return self.path / f"{'failed' if failed else 'point'}-{index:06d}.parquet"

    def write_point(self, index: int, frame: pd.DataFrame, failed: bool) -> None:
        """Write the rows of point ``index`` atomically (a temp file, then :func:`os.replace`)."""
        target = self.point_file(index, failed)
        try:
            _write_atomic(target, lambda tmp: frame.to_parquet(tmp, index=False))
        except OSError as exc:
            raise VirtmodelError(
                f"could not write point {index} to the store {self.path}: {exc}. The points already "
                "written are kept; free space (or fix the directory) and rerun the sweep with the same store "
                "to compute the rest"
            ) from exc
        if not failed:
            self.point_file(index, failed=True).unlink(missing_ok=True)

    def read_bodies(self, indices) -> dict[int, pd.DataFrame]:
        """Result columns of the stored points ``indices`` (successful file preferred)."""
        files = self._files()
        out = {}
        for i in indices:
            path = files.get(("point", i)) or files.get(("failed", i))
            if path is not None:
                out[i] = normalise_body(pd.read_parquet(path))
        return out

    def load(self) -> pd.DataFrame:
        """Every stored point's rows, in point order (see :func:`load`)."""
        meta = self.read_meta()
        definition = meta["definition"]
        indices = sorted({i for _, i in self._files()})
        bodies = self.read_bodies(indices)
        return assemble(definition["points"], definition["parameters"], [bodies[i] for i in indices])


def read_definition(path) -> dict:
    """The parsed ``sweep.json`` of the store at ``path`` (definition, hash, runs)."""
    return Store(path).read_meta()


def load(path) -> pd.DataFrame:
    """Load the results stored at ``path`` as the tidy DataFrame :func:`~virtmodel.sweep` returns.

    Points not computed yet are absent; failed points appear as one row
    with the message in ``error``.  Rows are in point order, and within a
    point in the order the sweep produced them, so a finished store loads
    equal to the frame the sweep returned.
    """
    _need_pyarrow()
    return Store(path).load()
