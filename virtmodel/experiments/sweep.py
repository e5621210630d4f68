"""Parameter sweeps: reproducible, resumable, on local processes or a Dask cluster.

:func:`sweep` evaluates a function at every point of a parameter grid and
returns one tidy :class:`pandas.DataFrame`.  The function is either

* ``fn(**point, rng=numpy.random.Generator) -> {metric: value}``, called once
  per replication with its own generator (a value may also be a dict
  ``{group: value}``), or
* ``fn(**point) -> Scenario``: each point's scenario is predicted with
  :func:`virtmodel.predict` (skipped where it raises ``NoClosedForm``) and
  simulated with :func:`virtmodel.simulate`.

Which one is decided by what ``fn`` returns (a function that takes no
``rng`` argument is called without one).

Columns of the result
---------------------
The grid parameters (in grid order), then

``point``
    Index of the point in the grid (0, 1, ...).
``replication``
    0 .. R-1 for one replication's value; **-1 for the point's estimate**.
``metric``, ``group``
    Metric name (DESIGN.md spellings for scenario sweeps) and VM name or
    ``"all"`` (function sweeps: ``"all"`` unless fn returns groups).
``source``
    ``"analytic"`` (closed form) or ``"sim"`` (simulation or fn's values).
``value``, ``ci_low``, ``ci_high``
    Which rows carry an interval (95 %):

    * function sweeps, replication = -1: the mean over the R replications and
      the Student-t interval over them (R - 1 degrees of freedom); with R = 1
      the interval is NaN;
    * scenario sweeps, source = "sim", replication = -1: ``SimResult.summary``
      (Student-t over replication means for R >= 2, batch means inside the
      run for R = 1);
    * source = "analytic" rows (replication = -1) and every per-replication
      row (replication >= 0): NaN.
``exact``, ``model``, ``engine``
    What each number is: on ``source = "analytic"`` rows ``exact`` is True
    for an exact closed form and False for an approximation (or bound), and
    ``model`` names it (``Prediction.exact`` / ``.model``); on scenario
    sweeps' ``"sim"`` rows ``engine`` names the simulator that ran
    (``SimResult.engine``).  None elsewhere (function sweeps).
``error``
    None, or for a point that failed ``"ExceptionType: message (at
    file:line in function)"``; such a point has that single row, with NaN
    and None elsewhere.  Failures do not stop the sweep: they are reported
    at the end with a :class:`SweepWarning`.

Randomness
----------
Function sweeps give replication r of point i the generator
``default_rng(SeedSequence(seed, spawn_key=(i, r)))``; scenario sweeps pass
``simulate`` the integer ``SeedSequence(seed, spawn_key=(i,)).generate_state(1)[0]``.
With ``common_random_numbers=True`` every point uses point 0's seeds.  The
numbers therefore depend on the seed, the point's index and the replication
only: the result is identical for every backend and number of workers.

Store
-----
``store=PATH`` keeps the results on disk as they arrive (see
:mod:`virtmodel.experiments.store`); a rerun with the same store computes
only the points that are missing or failed, and a store holding another
sweep definition is refused.
"""

from __future__ import annotations

import inspect
import itertools
import json
import math
import numbers
import os
import pickle
import traceback
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from .._lazy import lazy
from .._validation import nonnegative_int, positive_int
from ..errors import InvalidParameter, NoClosedForm, VirtmodelError, VirtmodelWarning
from .store import RESULT_COLUMNS, Store, assemble, normalise_body

pd = lazy("pandas")


def _version() -> str:
    """The package version, read at call time: a module-level ``from .. import __version__`` made
    ``virtmodel`` and this module import each other (an import cycle, issue 13 item 5)."""
    from .. import __version__

    return __version__

__all__ = ["sweep", "LatinHypercube", "SweepWarning", "Grid", "to_grid", "to_xarray", "grid_points",
           "point_seed", "replication_rng", "summary_table", "parameter_columns"]

BACKENDS = ("serial", "processes", "dask")
_RESERVED = set(RESULT_COLUMNS) | {"rng"}
#: simulate() keywords that do not change the numbers, kept out of the definition
_PROVENANCE_KWARGS = {"workers", "progress"}


class SweepWarning(UserWarning):
    """Some points of a sweep failed (their messages are in the ``error`` column)."""


# --------------------------------------------------------------------------- grids


@dataclass(frozen=True)
class LatinHypercube:
    """A Latin hypercube sample of a box of parameters (scipy.stats.qmc.LatinHypercube).

    Parameters
    ----------
    ranges : dict
        ``{name: (low, high)}`` for a real parameter on [low, high), or
        ``(low, high, "int")`` for an integer one on {low, ..., high}.
    n : int
        Number of points.
    seed : int, default 0
        Seed of the sampler: the same seed gives the same points.
    integers : sequence of str, default ()
        Names of integer parameters (the same as a third element ``"int"``).

    Examples
    --------
    >>> lhs = LatinHypercube({"load": (0.1, 0.9), "vms": (1, 8, "int")}, n=4, seed=1)
    >>> pts = lhs.points()
    >>> len(pts), sorted(pts[0]), all(isinstance(p["vms"], int) for p in pts)
    (4, ['load', 'vms'], True)
    >>> pts == LatinHypercube({"load": (0.1, 0.9), "vms": (1, 8, "int")}, n=4, seed=1).points()
    True
    """

    ranges: dict
    n: int
    seed: int = 0
    integers: tuple = field(default=())

    def __post_init__(self):
        if not isinstance(self.ranges, Mapping) or not self.ranges:
            raise InvalidParameter(
                f"ranges must be a non-empty dict of name -> (low, high), got {self.ranges!r}")
        object.__setattr__(self, "n", positive_int("n", self.n))
        object.__setattr__(self, "seed", nonnegative_int("seed", self.seed))
        ints = (self.integers,) if isinstance(self.integers, str) else tuple(self.integers)
        clean = {}
        for name, rng in self.ranges.items():
            _check_name(name)
            if not isinstance(rng, (tuple, list)) or len(rng) not in (2, 3):
                raise InvalidParameter(
                    f"ranges[{name!r}] must be (low, high) or (low, high, 'int'), got {rng!r}")
            if len(rng) == 3 and rng[2] not in ("int", "float"):
                raise InvalidParameter(f"ranges[{name!r}][2] must be 'int' or 'float', got {rng[2]!r}")
            is_int = name in ints or (len(rng) == 3 and rng[2] == "int")
            low, high = rng[0], rng[1]
            for v in (low, high):
                if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                    raise InvalidParameter(f"ranges[{name!r}] limits must be finite numbers, got {rng!r}")
            if is_int and not (float(low).is_integer() and float(high).is_integer()):
                raise InvalidParameter(
                    f"ranges[{name!r}] of an integer parameter must be integers, got {rng!r}")
            if not low < high:
                raise InvalidParameter(f"ranges[{name!r}] must have low < high, got {rng!r}")
            clean[name] = (int(low), int(high), "int") if is_int else (float(low), float(high), "float")
        unknown = sorted(set(ints) - set(clean))
        if unknown:
            raise InvalidParameter(f"integers names parameters that are not in ranges: {unknown}")
        object.__setattr__(self, "ranges", clean)
        object.__setattr__(self, "integers", tuple(k for k, v in clean.items() if v[2] == "int"))

    def points(self) -> list[dict]:
        """The ``n`` points, each a dict name -> value (Python int or float)."""
        from scipy.stats import qmc

        try:
            sampler = qmc.LatinHypercube(d=len(self.ranges), rng=self.seed)
        except TypeError:  # scipy < 1.15 spells it seed
            sampler = qmc.LatinHypercube(d=len(self.ranges), seed=self.seed)
        u = sampler.random(self.n)
        out = [{} for _ in range(self.n)]
        for j, (name, (low, high, kind)) in enumerate(self.ranges.items()):
            if kind == "int":
                col = np.minimum(np.floor(low + u[:, j] * (high - low + 1)), high).astype(np.int64)
            else:
                col = low + u[:, j] * (high - low)
            for i in range(self.n):
                out[i][name] = col[i].item()
        return out

    def describe(self) -> dict:
        return {"type": "latin_hypercube", "n": self.n, "seed": self.seed,
                "ranges": {k: list(v) for k, v in self.ranges.items()}}


def _check_name(name):
    if not isinstance(name, str) or not name.isidentifier():
        raise InvalidParameter(f"parameter names must be Python identifiers, got {name!r}")
    if name in _RESERVED:
        raise InvalidParameter(f"parameter name {name!r} is reserved (a result column or fn's rng)")


def _scalar(name, value):
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, float, str)):
        return value
    raise InvalidParameter(
        f"grid values must be numbers, strings or booleans, got {name}={value!r} ({type(value).__name__})"
    )


def grid_points(grid) -> tuple[list[dict], list[str], dict]:
    """Expand ``grid`` into ``(points, parameter names, description)``.

    * dict of lists: the full factorial in a fixed order (the last parameter
      varies fastest, as in :func:`itertools.product`);
    * list of dicts: those points, in order;
    * :class:`LatinHypercube`: its sample.

    Examples
    --------
    >>> pts, names, _ = grid_points({"load": [0.5, 0.8], "vms": [1, 2]})
    >>> names, pts[1]
    (['load', 'vms'], {'load': 0.5, 'vms': 2})
    """
    if isinstance(grid, LatinHypercube):
        pts = grid.points()
        return pts, list(grid.ranges), grid.describe()
    if isinstance(grid, Mapping):
        if not grid:
            raise InvalidParameter("grid must name at least one parameter, got an empty dict")
        axes = {}
        for name, values in grid.items():
            _check_name(name)
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                values = [values]
            values = [_scalar(name, v) for v in values]
            if not values:
                raise InvalidParameter(f"grid[{name!r}] must hold at least one value, got an empty list")
            axes[name] = values
        names = list(axes)
        pts = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes.values())]
        return pts, names, {"type": "product", "parameters": axes}
    if isinstance(grid, (list, tuple)):
        if not grid:
            raise InvalidParameter("grid must hold at least one point, got an empty list")
        names, pts = [], []
        for i, p in enumerate(grid):
            if not isinstance(p, Mapping):
                raise InvalidParameter(f"grid[{i}] must be a dict of parameter -> value, got {p!r}")
            for name in p:
                _check_name(name)
                if name not in names:
                    names.append(name)
            pts.append({k: _scalar(k, v) for k, v in p.items()})
        return pts, names, {"type": "points"}
    raise InvalidParameter(
        f"grid must be a dict of lists, a list of dicts or a LatinHypercube, got {type(grid).__name__}"
    )


# --------------------------------------------------------------------------- seeds


def replication_rng(seed: int, point: int, replication: int) -> np.random.Generator:
    """The generator a function sweep gives replication ``replication`` of point ``point``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(point, replication)))


def point_seed(seed: int, point: int) -> int:
    """The integer seed a scenario sweep passes to ``simulate`` for point ``point``."""
    return int(np.random.SeedSequence(seed, spawn_key=(point,)).generate_state(1)[0])


# --------------------------------------------------------------------------- one point


def _where(exc) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    if not tb:
        return ""
    last = tb[-1]
    return f" (at {os.path.basename(last.filename)}:{last.lineno} in {last.name})"


def _error_body(index: int, message: str) -> pd.DataFrame:
    return normalise_body(pd.DataFrame({"point": [index], "replication": [-1], "error": [message]}))


def _number(metric, value) -> float:
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.generic)):
        raise InvalidParameter(f"fn must return numbers as metric values, got {metric}={value!r}")
    return float(value)


def _metric_rows(out, r):
    if not isinstance(out, Mapping):
        raise InvalidParameter(
            f"fn must return a Scenario or a dict of metric -> number, got {type(out).__name__}: {out!r:.80}"
        )
    rows = []
    for metric, value in out.items():
        if isinstance(value, Mapping):
            rows.extend((r, str(metric), str(group), _number(f"{metric}[{group}]", v))
                        for group, v in value.items())
        else:
            rows.append((r, str(metric), "all", _number(metric, value)))
    return rows


def _function_rows(fn, wants_rng, point, first, seed_index, replications, seed):
    from ..sim import stats

    reps = [_metric_rows(first, 0)]
    for r in range(1, replications):
        kw = {"rng": replication_rng(seed, seed_index, r)} if wants_rng else {}
        reps.append(_metric_rows(fn(**point, **kw), r))
    per = [row for rep in reps for row in rep]
    keys = list(dict.fromkeys((m, g) for _, m, g, _ in per))
    rows = []
    for metric, group in keys:
        values = [v for _, m, g, v in per if (m, g) == (metric, group)]
        if len(values) >= 2:
            iv = stats.replication_interval(values)
            rows.append((-1, metric, group, "sim", iv.mean, iv.low, iv.high))
        else:
            rows.append((-1, metric, group, "sim", values[0], math.nan, math.nan))
    rows.extend((r, m, g, "sim", v, math.nan, math.nan) for r, m, g, v in per)
    return rows


def _scenario_rows(scenario, seed_index, replications, seed, simulate_kwargs):
    from ..analytic.solve import predict
    from ..sim.run import simulate

    rows = []
    try:
        pred = predict(scenario)
    except NoClosedForm:
        pred = None
    if pred is not None:
        exact, model = getattr(pred, "exact", None), getattr(pred, "model", None)
        exact = None if exact is None else bool(exact)
        rows.extend((-1, m, g, "analytic", float(v), math.nan, math.nan, exact, model, None)
                    for m, g, v in pred.values[["metric", "group", "value"]].itertuples(index=False))
    res = simulate(scenario, replications=replications, seed=point_seed(seed, seed_index),
                   progress=False, **simulate_kwargs)
    engine = getattr(res, "engine", None)
    rows.extend((-1, m, g, "sim", float(v), float(lo), float(hi), None, None, engine)
                for m, g, v, lo, hi in res.summary[["metric", "group", "mean", "ci_low", "ci_high"]]
                .itertuples(index=False))
    rows.extend((int(r), m, g, "sim", float(v), math.nan, math.nan, None, None, engine)
                for r, m, g, v in res.per_replication[["replication", "metric", "group", "value"]]
                .itertuples(index=False))
    return rows


def run_point(fn, wants_rng, point, index, seed_index, replications, seed, simulate_kwargs) -> pd.DataFrame:
    """Evaluate one point; never raises for an error inside ``fn`` (it becomes the error row).

    Returns the result columns (without the parameter columns).
    """
    from ..scenario import Scenario

    untrusted = []
    try:
        kw = {"rng": replication_rng(seed, seed_index, 0)} if wants_rng else {}
        first = fn(**point, **kw)
        kind = callable(getattr(first, "predict", None)) and callable(getattr(first, "replicate", None))
        if isinstance(first, Scenario) or kind:  # a Scenario or another scenario kind (BootStorm, Cluster)
            with warnings.catch_warnings(record=True) as caught:  # sweep reports them once, at the end
                warnings.simplefilter("always", VirtmodelWarning)
                rows = _scenario_rows(first, seed_index, replications, seed, simulate_kwargs)
            for w in caught:
                if issubclass(w.category, VirtmodelWarning):
                    untrusted.append(str(w.message))
                else:
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        else:
            rows = _function_rows(fn, wants_rng, point, first, seed_index, replications, seed)
    except Exception as exc:  # noqa: BLE001 - a failing point is data, not a crash
        return _error_body(index, f"{type(exc).__name__}: {exc}{_where(exc)}")
    width = len(RESULT_COLUMNS) - 2  # function rows stop at ci_high: no exact, model, engine
    frame = pd.DataFrame([tuple(r) + (None,) * (width - len(r)) for r in rows], columns=RESULT_COLUMNS[1:-1])
    frame.insert(0, "point", index)
    frame = normalise_body(frame)
    if untrusted:
        frame.attrs["virtmodel_warnings"] = untrusted  # travels with the frame (also from worker processes)
    return frame


def _run_task(task):
    return run_point(*task)


# --------------------------------------------------------------------------- identity and definition


def _wants_rng(fn) -> bool:
    explicit = getattr(fn, "takes_rng", None)
    if isinstance(explicit, bool):
        return explicit
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == "rng" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def _identity(fn) -> dict:
    import functools

    if isinstance(fn, functools.partial):
        inner = _identity(fn.func)
        return {**inner, "partial": {"args": repr(fn.args), "keywords": repr(sorted(fn.keywords.items()))}}
    target = fn if inspect.isfunction(fn) or inspect.ismethod(fn) or inspect.isbuiltin(fn) else type(fn)
    name = f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', repr(target))}"
    out = {"function": name}
    definition = getattr(fn, "sweep_definition", None)
    if definition is not None:
        out["function_definition"] = definition() if callable(definition) else definition
    return out


def _jsonable(name, value):
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    try:
        json.dumps(value, allow_nan=True)
    except TypeError:
        raise InvalidParameter(
            f"simulate keyword {name} must be JSON-serialisable (numbers, strings, lists), got {value!r}"
        ) from None
    return value


def _check_simulate_kwargs(kwargs):
    from ..sim.run import simulate

    allowed = set(inspect.signature(simulate).parameters) - {"scenario", "replications", "seed", "progress"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise InvalidParameter(
            f"sweep got unexpected keyword(s) {unknown}; keywords beyond sweep's own are passed to "
            f"simulate, which accepts {sorted(allowed)}"
        )
    return {k: _jsonable(k, v) for k, v in kwargs.items()}


# --------------------------------------------------------------------------- backends


def _serial(tasks, on_done):
    for task in tasks:
        on_done(task[3], _run_task(task))


def _processes(tasks, workers, on_done):
    from concurrent.futures import ProcessPoolExecutor, as_completed

    workers = workers or os.cpu_count() or 1
    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)))
    try:
        futures = {pool.submit(_run_task, t): t[3] for t in tasks}
        for fut in as_completed(futures):
            index = futures.pop(fut)
            try:
                body = fut.result()
            except Exception as exc:  # noqa: BLE001 - e.g. a worker process died
                body = _error_body(index, f"{type(exc).__name__}: {exc}")
            on_done(index, body)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def _dask(tasks, workers, address, on_done):
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:  # pragma: no cover - depends on the environment
        raise VirtmodelError(
            "backend='dask' needs dask.distributed: pip install 'virtmodel[distributed]'") from None
    cluster = None
    if address is None:
        n_workers = min(workers or os.cpu_count() or 1, len(tasks))
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(address)
    try:
        futures = {client.submit(_run_task, t, pure=False): t[3] for t in tasks}
        try:
            for fut in as_completed(list(futures)):
                index = futures.pop(fut)
                try:
                    body = fut.result()
                except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker, a missing module on a worker
                    body = _error_body(index, f"{type(exc).__name__}: {exc}")
                fut.release()
                on_done(index, body)
        except BaseException:
            client.cancel(list(futures))
            raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --------------------------------------------------------------------------- sweep


def sweep(fn, grid, replications=1, seed=0, backend="serial", workers=None, store=None, progress=True,
          common_random_numbers=False, dask_address=None, **simulate_kwargs) -> pd.DataFrame:
    """Evaluate ``fn`` over a parameter grid; return a tidy DataFrame (columns: module docstring).

    Parameters
    ----------
    fn : callable
        ``fn(**point, rng) -> {metric: value}`` (called once per replication),
        or ``fn(**point) -> Scenario`` (predicted and simulated).  For
        ``backend="processes"`` it must be picklable (a module-level
        function or a picklable object); Dask also ships lambdas and local
        functions (cloudpickle), but workers on other machines need the
        module that defines ``fn``.
    grid : dict of lists, list of dicts, or LatinHypercube
        See :func:`grid_points`.
    replications : int, default 1
        Calls of ``fn`` per point, or ``simulate``'s replications.
    seed : int, default 0
        Root of every seed (see "Randomness" in the module docstring).
    backend : {"serial", "processes", "dask"}
        Where the points run; the numbers do not depend on it.
    workers : int, optional
        Processes (``"processes"``) or LocalCluster workers (``"dask"``
        without an address); default: the number of CPUs.  Ignored by
        ``"serial"`` and with ``dask_address``.
    store : path-like, optional
        Directory for the results (created, or resumed when it holds the
        same sweep; refused when it holds another).
    progress : bool, default True
        tqdm bar (terminal or Jupyter) with points done, failed and ETA.
    common_random_numbers : bool, default False
        Give every point the seeds of point 0 (variance reduction when
        comparing points).
    dask_address : str, optional
        Scheduler address (``"tcp://host:8786"``) for ``backend="dask"``;
        without it a LocalCluster of ``workers`` single-threaded processes
        is started and closed.
    **simulate_kwargs
        Passed to :func:`virtmodel.simulate` for scenario sweeps
        (``customers`` or ``horizon``, ``warmup``, ``engine``...).

    Returns
    -------
    pandas.DataFrame
        Rows in point order; within a point, as produced (analytic rows,
        then summary rows, then per-replication rows).

    Warns
    -----
    SweepWarning
        When some points failed; they carry their message in ``error``.
    VirtmodelWarning
        Once, when the simulations of some points were too short to trust
        (:mod:`virtmodel.sim.trust`), naming the points and the first reason.

    Examples
    --------
    >>> import virtmodel as vm
    >>> def coin(p, rng):
    ...     return {"heads": rng.binomial(100, p) / 100}
    >>> df = vm.sweep(coin, {"p": [0.2, 0.8]}, replications=3, seed=1, progress=False)
    >>> list(df.columns)  # doctest: +NORMALIZE_WHITESPACE
    ['p', 'point', 'replication', 'metric', 'group', 'source', 'value', 'ci_low', 'ci_high',
     'exact', 'model', 'engine', 'error']
    >>> df[df.replication == -1][["p", "value"]].round(3).values.tolist()
    [[0.2, 0.237], [0.8, 0.803]]
    """
    if not callable(fn):
        raise InvalidParameter(f"fn must be callable, got {fn!r}")
    points, names, described = grid_points(grid)
    replications = positive_int("replications", replications)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidParameter(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    if backend not in BACKENDS:
        raise InvalidParameter(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    if workers is not None:
        workers = positive_int("workers", workers)
    if dask_address is not None and backend != "dask":
        raise InvalidParameter(f"dask_address needs backend='dask', got backend={backend!r}")
    if not isinstance(common_random_numbers, bool):
        raise InvalidParameter(f"common_random_numbers must be True or False, got {common_random_numbers!r}")
    simulate_kwargs = _check_simulate_kwargs(simulate_kwargs)
    if backend == "processes":
        try:
            pickle.dumps(fn)
        except Exception as exc:  # noqa: BLE001 - pickling raises many types
            raise InvalidParameter(
                f"fn must be picklable for backend='processes' (a module-level function), got {fn!r}: "
                f"{exc}; use backend='serial' or 'dask' for lambdas and local functions"
            ) from None

    definition = {
        **_identity(fn),
        "grid": described,
        "parameters": names,
        "points": points,
        "replications": replications,
        "seed": seed,
        "common_random_numbers": common_random_numbers,
        "simulate_kwargs": {k: v for k, v in simulate_kwargs.items() if k not in _PROVENANCE_KWARGS},
        "virtmodel_version": _version(),
    }
    st = None
    bodies: dict[int, pd.DataFrame] = {}
    todo = list(range(len(points)))
    if store is not None:
        st = Store.open(store, definition, run={"backend": backend, "workers": workers,
                                                "dask_address": dask_address})
        done = st.done()
        bodies.update(st.read_bodies(sorted(done)))
        todo = [i for i in todo if i not in done]

    wants_rng = _wants_rng(fn)
    tasks = [(fn, wants_rng, points[i], i, 0 if common_random_numbers else i, replications, seed,
              simulate_kwargs) for i in todo]
    failed = []
    untrusted: dict[int, list[str]] = {}  # point -> its VirtmodelWarning messages, reported once below
    bar = tqdm(total=len(points), initial=len(points) - len(todo), desc="sweep", unit="point",
               disable=not progress, dynamic_ncols=True)
    bar.set_postfix(done=len(points) - len(todo), failed=0)

    def on_done(index, body):
        bodies[index] = body
        if body.attrs.get("virtmodel_warnings"):
            untrusted[index] = body.attrs["virtmodel_warnings"]
        bad = body["error"].notna().any()
        if bad:
            failed.append(index)
        if st is not None:
            st.write_point(index, assemble(points, names, [body]), failed=bad)
        bar.update(1)
        bar.set_postfix(done=bar.n, failed=len(failed))

    try:
        if tasks:
            if backend == "serial":
                _serial(tasks, on_done)
            elif backend == "processes":
                _processes(tasks, workers, on_done)
            else:
                _dask(tasks, workers, dask_address, on_done)
        if st is not None:
            st.finish_run(points_computed=len(tasks), points_failed=len(failed))
    finally:
        bar.close()
        if st is not None:
            st.close()  # release the store's lock, also on an error
    result = assemble(points, names, [bodies[i] for i in sorted(bodies)])
    if untrusted:
        first = min(untrusted)
        warnings.warn(
            f"{len(untrusted)} of {len(points)} sweep points gave simulations not to be trusted as they are "
            f"(points {sorted(untrusted)[:10]}{' ...' if len(untrusted) > 10 else ''}); first, point {first} "
            f"{points[first]}: {untrusted[first][0]}", VirtmodelWarning, stacklevel=2,
        )
    if failed:
        first = sorted(failed)[0]
        msg = bodies[first]["error"].iloc[0]
        warnings.warn(
            f"{len(failed)} of {len(points)} sweep points failed (see the error column); "
            f"first, point {first} {points[first]}: {msg}", SweepWarning, stacklevel=2,
        )
    return result


# --------------------------------------------------------------------------- reshaping


@dataclass(frozen=True)
class Grid:
    """An N-d array of one metric over the sweep's parameters.

    Attributes
    ----------
    values : numpy.ndarray
        ``values[i, j, ...]`` is the metric at ``coords[dims[0]][i]``,
        ``coords[dims[1]][j]``, ...; NaN where the sweep has no such point.
    dims : tuple of str
        Parameter names, one per axis.
    coords : dict
        Parameter name -> sorted unique values (numpy array).
    """

    values: np.ndarray
    dims: tuple
    coords: dict


def parameter_columns(df: pd.DataFrame) -> list[str]:
    """The grid parameter columns of a sweep result (those before ``point``)."""
    if "point" not in df.columns:
        raise InvalidParameter("df must be a sweep result (it has no 'point' column)")
    return list(df.columns[: df.columns.get_loc("point")])


def _select(df, metric, source, group, replication):
    rows = df[(df["metric"] == metric) & (df["source"] == source) & (df["group"] == group)
              & (df["replication"] == replication)]
    if rows.empty:
        have = sorted(df.loc[df["source"] == source, "metric"].dropna().unique())
        if metric not in have:
            raise InvalidParameter(f"metric must be one of {have} for source={source!r}, got {metric!r}")
        raise InvalidParameter(
            f"no rows for metric={metric!r}, group={group!r}, replication={replication}, source={source!r}"
        )
    return rows


def to_grid(df: pd.DataFrame, metric: str, source: str = "sim", group: str = "all", replication: int = -1,
            column: str = "value") -> Grid:
    """Pivot one metric of a sweep result into an N-d array over the parameters.

    Parameters
    ----------
    df : pandas.DataFrame
        What :func:`sweep` (or :func:`virtmodel.experiments.store.load`) returned.
    metric, source, group : str
        Which rows (``source`` "sim" or "analytic"; ``group`` a VM or "all").
    replication : int, default -1
        -1: the point estimates; r >= 0: replication r.
    column : {"value", "ci_low", "ci_high"}

    Returns
    -------
    Grid
        Axes follow the parameter columns; a Latin hypercube gives a sparse
        grid (mostly NaN).

    Examples
    --------
    >>> def f(a, b, rng):
    ...     return {"sum": a + b}
    >>> g = to_grid(sweep(f, {"a": [1, 2], "b": [10, 20, 30]}, progress=False), "sum")
    >>> g.dims, g.values.tolist()
    (('a', 'b'), [[11.0, 21.0, 31.0], [12.0, 22.0, 32.0]])
    """
    dims = parameter_columns(df)
    rows = _select(df, metric, source, group, replication)
    coords, index = {}, []
    for d in dims:
        codes, uniques = pd.factorize(rows[d], sort=True)
        if (codes < 0).any():
            raise InvalidParameter(
                f"parameter {d!r} is missing at some points; to_grid needs every parameter")
        coords[d] = np.asarray(uniques)
        index.append(codes)
    values = np.full(tuple(len(coords[d]) for d in dims), np.nan)
    flat = np.ravel_multi_index(tuple(index), values.shape) if dims else np.zeros(len(rows), dtype=int)
    if len(np.unique(flat)) != len(flat):
        raise InvalidParameter(
            "several points share the same parameter values; to_grid needs distinct points")
    values.flat[flat] = rows[column].to_numpy(dtype=float)
    return Grid(values=values, dims=tuple(dims), coords=coords)


def to_xarray(df: pd.DataFrame, source: str = "sim", group: str = "all", replication: int = -1):
    """The point estimates as an :class:`xarray.Dataset`: one variable per metric over the parameters.

    ``value``, ``ci_low`` and ``ci_high`` become ``<metric>``,
    ``<metric>_ci_low`` and ``<metric>_ci_high``.  Needs xarray (an optional
    dependency: ``pip install xarray``); :func:`to_grid` works without it.
    """
    try:
        import xarray as xr
    except ImportError:
        raise VirtmodelError(
            "to_xarray needs xarray (pip install xarray); to_grid gives numpy arrays without it") from None
    dims = parameter_columns(df)
    rows = df[(df["source"] == source) & (df["group"] == group) & (df["replication"] == replication)
              & df["error"].isna()]
    wide = rows.set_index(dims + ["metric"])[["value", "ci_low", "ci_high"]].unstack("metric")
    data = {}
    for (col, metric) in wide.columns:
        data[metric if col == "value" else f"{metric}_{col}"] = wide[(col, metric)]
    return xr.Dataset.from_dataframe(pd.DataFrame(data))


def summary_table(df: pd.DataFrame, metrics=("utilization", "mean_wait", "mean_response"), group: str = "all",
                  max_metrics: int = 4) -> pd.DataFrame:
    """One row per point: its parameters, then each metric's estimate (``sim`` as ``mean ± half-width``
    where an interval exists, and the ``analytic`` value where there is one), then ``error``.

    An analytic value from an approximate closed form (``exact`` False) is
    printed with a leading ``~`` (e.g. ``~3.333``), and the columns
    ``exact`` (``"exact"``, ``"approx"`` or ``""`` without a closed form),
    ``model`` and ``engine`` say what the point's numbers are, so an
    approximation never passes for an exact value.

    ``metrics`` that the sweep does not have are skipped; if none are left,
    the first ``max_metrics`` metrics of the sweep are shown.
    """
    dims = parameter_columns(df)
    est = df[(df["replication"] == -1) & (df["group"] == group)]
    have = list(dict.fromkeys(est["metric"].dropna()))
    show = [m for m in metrics if m in have] or have[:max_metrics]
    points = df.drop_duplicates("point").set_index("point")
    out = points[dims].copy()
    for m in show:
        for source in ("sim", "analytic"):
            rows = est[(est["metric"] == m) & (est["source"] == source)].set_index("point")
            if rows.empty:
                continue
            half = (rows["ci_high"] - rows["ci_low"]) / 2
            text = [f"{v:.4g}" if not np.isfinite(h) else f"{v:.4g} ± {h:.2g}"
                    for v, h in zip(rows["value"], half, strict=True)]
            if source == "analytic" and "exact" in rows:
                text = [f"~{t}" if e is False else t for t, e in zip(text, rows["exact"], strict=True)]
            out[f"{m} ({source})"] = pd.Series(text, index=rows.index, dtype=object)
    for col in ("exact", "model", "engine"):
        if col not in est:
            continue
        source = "sim" if col == "engine" else "analytic"
        first = est[est["source"] == source].groupby("point")[col].first()
        if first.notna().any():
            if col == "exact":
                first = first.map({True: "exact", False: "approx"})
            out[col] = first.reindex(out.index).fillna("").astype(object)
    errors = df.groupby("point")["error"].first()
    if errors.notna().any():
        out["error"] = errors.fillna("").astype(object)
    return out.reset_index(drop=True).fillna("")
