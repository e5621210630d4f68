"""Sweep files: a TOML description of a parameter sweep over scenarios.

``virtmodel sweep FILE.toml`` (and :func:`load_spec`) read a file of this
form::

    [sweep]
    name = "rr_quantum_load"     # default: the file name without .toml; store: data/sweeps/NAME/
    replications = 5             # simulate's replications per point (default 1)
    seed = 1                     # root seed (default 0)
    customers = 20000            # departures kept per replication ... or horizon = 5000.0
    backend = "processes"        # "serial" | "processes" (default) | "dask"
    # optional: workers = 4, warmup = "mser5" or a fraction, engine = "simpy",
    #           batches = 20, common_random_numbers = false

    [grid]                       # full factorial, the last parameter varying fastest
    load = [0.3, 0.6, 0.9]
    quantum = [0.01, 0.1, 1.0]

    # or, instead of [grid], a Latin hypercube sample:
    # [latin_hypercube]
    # n = 20
    # seed = 3
    # ranges = {load = [0.1, 0.9], vms = [1, 8, "int"]}

    [scenario]
    pcpus = 1                    # or "{pcpus}"
    capacity = 50                # optional (omit for unlimited)
    policy = {type = "RoundRobin", quantum = "{quantum}", switch_cost = 0.001}

    [[scenario.vms]]
    name = "web"
    count = "{vms}"              # optional: this many copies named web-0, web-1, ...
    arrival = {type = "Exponential", rate = "{load} / 2"}
    service = {type = "Exponential", rate = 1.0}
    priority = 0                 # optional
    # optional, every other VM field: vcpus = 2, patience = {type = "Exponential", rate = 0.1},
    # create / configure / boot / warm_boot = {type = ...}

    # optional, every other Scenario field:
    # allow_overload = true      (simulate a load >= 1 on purpose; predict still refuses it)
    # [[scenario.events]]        (lifecycle events of virtmodel.events)
    # type = "Pause"
    # vm = "web"
    # at = 100.0

Rules:

* Any string in ``[scenario]`` holding ``{...}`` is a template.  Exactly
  ``"{p}"`` is replaced by the grid value of ``p`` with its type (number or
  string, so ``policy = {type = "{policy}"}`` works).  Anything else is an
  arithmetic expression over parameters, e.g. ``"{load} * {pcpus} / 2"``,
  evaluated by a small AST evaluator (numbers, parameters, ``+ - * / // %
  **``, and ``min max abs round int float sqrt log exp ceil floor``); no
  ``eval``.  In a VM's ``name`` each ``{...}`` is replaced by its value as
  text (``name = "vm-{pcpus}"``).
* Distributions are tables ``{type = NAME, ...keywords}`` with NAME one of
  :mod:`virtmodel.dists` (``Exponential``, ``Erlang``, ``HyperExponential``,
  ...) or ``HyperExponential.balanced`` / ``Erlang.from_mean``; the other
  keys are the class's keyword arguments.
* The policy is a class name of :mod:`virtmodel.policies` (``policy =
  "FCFS"``) or a table ``{type = NAME, ...keywords}``; a keyword whose value
  is a table with a ``type`` becomes a distribution.  Default FCFS.
* A mistake in the file (unknown key, unknown type or keyword, a template
  naming a parameter that is not in the grid, a bad expression) raises
  :class:`~virtmodel.errors.InvalidParameter` naming the key, e.g.
  ``scenario.vms[0].arrival.rate``.  A value that is only bad at some
  points (an unstable load, a negative rate) makes those points fail in the
  sweep (``error`` column), not the file.
"""

from __future__ import annotations

import ast
import inspect
import math
import operator
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .. import dists, policies
from .._validation import nonnegative_int, positive, positive_int, probability
from ..errors import InvalidParameter, UnstableSystem
from .sweep import BACKENDS, LatinHypercube, grid_points, sweep

__all__ = ["SweepSpec", "ScenarioFactory", "load_spec", "parse_spec", "build_scenario", "evaluate"]

_SWEEP_KEYS = {"name", "replications", "seed", "customers", "horizon", "backend", "workers", "warmup",
               "engine", "batches", "common_random_numbers"}
_TOP_KEYS = {"sweep", "grid", "latin_hypercube", "scenario"}
#: every Scenario field (a sweep file can say all that Python can)
_SCENARIO_KEYS = {"pcpus", "capacity", "policy", "vms", "events", "allow_overload"}
#: every VM field, plus count; the distribution-valued ones are tables {type = ...}
_VM_DISTS = ("arrival", "service", "create", "configure", "boot", "warm_boot", "patience")
_VM_KEYS = {"name", "priority", "vcpus", "count", *_VM_DISTS}

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCS = {"min": min, "max": max, "abs": abs, "round": round, "int": int, "float": float,
          "sqrt": math.sqrt, "log": math.log, "exp": math.exp, "ceil": math.ceil, "floor": math.floor}
_BRACED = re.compile(r"\{([^{}]*)\}")
_WHOLE = re.compile(r"^\{\s*([A-Za-z_]\w*)\s*\}$")


def _dist_classes() -> dict:
    out = {n: getattr(dists, n) for n in dists.__all__ if n != "Distribution"}
    out["HyperExponential.balanced"] = dists.HyperExponential.balanced
    out["Erlang.from_mean"] = dists.Erlang.from_mean
    return out


def _policy_classes() -> dict:
    return {n: getattr(policies, n) for n in policies.__all__ if n != "Policy"}


# --------------------------------------------------------------------------- expressions


def _parse(text: str, key: str) -> ast.Expression:
    expr = _BRACED.sub(lambda m: f"({m.group(1)})", text)
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        raise InvalidParameter(f"{key}: {text!r} is not a valid expression ({exc.msg})") from None
    allowed = (ast.Expression, ast.Constant, ast.Name, ast.Load, ast.BinOp, ast.UnaryOp, ast.Call,
               *_BINOPS, *_UNARY)
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            raise InvalidParameter(
                f"{key}: {text!r} uses {type(node).__name__}, which sweep expressions do not allow; "
                f"use numbers, {{parameters}}, + - * / // % ** and {sorted(_FUNCS)}"
            )
        if isinstance(node, ast.Constant) and (isinstance(node.value, bool)
                                               or not isinstance(node.value, (int, float))):
            raise InvalidParameter(f"{key}: {text!r}: only numeric constants are allowed, got {node.value!r}")
        if isinstance(node, ast.Call) and (not isinstance(node.func, ast.Name) or node.func.id not in _FUNCS
                                           or node.keywords):
            raise InvalidParameter(f"{key}: {text!r}: functions must be one of {sorted(_FUNCS)} "
                                   "called with positional arguments")
    return tree


def _names(tree) -> set[str]:
    funcs = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in funcs}


def _eval(node, env, key, text):
    if isinstance(node, ast.Expression):
        return _eval(node.body, env, key, text)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in env:
            raise InvalidParameter(f"{key}: {text!r} refers to {node.id!r}, which is not a grid parameter "
                                   f"(parameters: {sorted(env)})")
        return env[node.id]
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_eval(node.operand, env, key, text))
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, env, key, text), _eval(node.right, env, key, text)
        if isinstance(node.op, ast.Pow) and isinstance(right, (int, float)) and abs(right) > 1000:
            raise InvalidParameter(f"{key}: {text!r}: exponent {right} is too large")
        return _BINOPS[type(node.op)](left, right)
    if isinstance(node, ast.Call):
        return _FUNCS[node.func.id](*(_eval(a, env, key, text) for a in node.args))
    raise InvalidParameter(f"{key}: {text!r}: cannot evaluate {type(node).__name__}")  # pragma: no cover


def evaluate(text, point: Mapping, key: str = "value"):
    """Substitute grid values into a template string (see the module docstring).

    Examples
    --------
    >>> evaluate("{load} * {pcpus}", {"load": 0.25, "pcpus": 4})
    1.0
    >>> evaluate("{policy}", {"policy": "FCFS"}), evaluate("plain", {})
    ('FCFS', 'plain')
    >>> evaluate("vm-{i + 1}", {"i": 2}, key="name")
    'vm-3'
    """
    if not isinstance(text, str) or "{" not in text:
        return text
    whole = _WHOLE.match(text)
    if whole:
        name = whole.group(1)
        if name not in point:
            raise InvalidParameter(f"{key}: {text!r} refers to {name!r}, which is not a grid parameter "
                                   f"(parameters: {sorted(point)})")
        return point[name]
    if key.endswith(".name") or key == "name":
        return _BRACED.sub(lambda m: str(evaluate("{" + m.group(1) + "}", point, key + "[expr]")), text)
    tree = _parse(text, key)
    try:
        return _eval(tree, dict(point), key, text)
    except InvalidParameter:
        raise
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise InvalidParameter(f"{key}: {text!r} cannot be evaluated at {dict(point)}: {exc}") from None


def _subst(value, point, key):
    if isinstance(value, str):
        return evaluate(value, point, key)
    if isinstance(value, list):
        return [_subst(v, point, f"{key}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        return {k: _subst(v, point, f"{key}.{k}") for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- building a scenario


def _construct(cls, kwargs, key, what):
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise InvalidParameter(f"{key}: {what} {exc}") from None
    except UnstableSystem:
        raise
    except (InvalidParameter, ValueError) as exc:
        raise InvalidParameter(f"{key}: {exc}") from None


def _typed(spec, key, point, classes, kind):
    if isinstance(spec, str) and kind == "policy":
        spec = {"type": spec}
    if not isinstance(spec, Mapping) or "type" not in spec:
        raise InvalidParameter(f"{key} must be a table with a 'type' key (a {kind}), got {spec!r}")
    name = evaluate(spec["type"], point, f"{key}.type")
    if name not in classes:
        raise InvalidParameter(f"{key}.type must be one of {sorted(classes)}, got {name!r}")
    kwargs = {}
    for k, v in spec.items():
        if k == "type":
            continue
        if kind == "policy" and isinstance(v, Mapping) and "type" in v:
            kwargs[k] = _typed(v, f"{key}.{k}", point, _dist_classes(), "distribution")
        else:
            kwargs[k] = _subst(v, point, f"{key}.{k}")
    return _construct(classes[name], kwargs, key, name)


def _event_classes() -> dict:
    from .. import events

    return {n: getattr(events, n) for n in ("Pause", "Resume", "Stop", "Start")}


def build_scenario(template: Mapping, point: Mapping):
    """The :class:`~virtmodel.Scenario` of ``template`` (the ``[scenario]`` table) at ``point``."""
    from ..scenario import VM, Scenario

    pcpus = positive_int("scenario.pcpus", evaluate(template["pcpus"], point, "scenario.pcpus"))
    capacity = template.get("capacity")
    if capacity is not None:
        capacity = nonnegative_int("scenario.capacity", evaluate(capacity, point, "scenario.capacity"))
    policy = _typed(template.get("policy", "FCFS"), "scenario.policy", point, _policy_classes(), "policy")
    vms = []
    for i, spec in enumerate(template["vms"]):
        key = f"scenario.vms[{i}]"
        count = spec.get("count")
        if count is not None:
            count = nonnegative_int(f"{key}.count", evaluate(count, point, f"{key}.count"))
        base = evaluate(spec["name"], point, f"{key}.name")
        if not isinstance(base, str):
            base = str(base)
        priority = evaluate(spec.get("priority", 0), point, f"{key}.priority")
        extra = {}
        if "vcpus" in spec:
            extra["vcpus"] = evaluate(spec["vcpus"], point, f"{key}.vcpus")
        for j in range(1 if count is None else count):
            for part in _VM_DISTS:
                if part in spec:
                    extra[part] = _typed(spec[part], f"{key}.{part}", point, _dist_classes(), "distribution")
            name = base if count is None else f"{base}-{j}"
            vms.append(_construct(VM, dict(name=name, priority=priority, **extra), key, "VM"))
    kwargs = {}
    if "allow_overload" in template:
        kwargs["allow_overload"] = evaluate(template["allow_overload"], point, "scenario.allow_overload")
    if "events" in template:
        kwargs["events"] = [_typed(e, f"scenario.events[{i}]", point, _event_classes(), "event")
                            for i, e in enumerate(template["events"])]
    return _construct(Scenario, dict(pcpus=pcpus, vms=vms, policy=policy, capacity=capacity, **kwargs),
                      "scenario", "Scenario")


class ScenarioFactory:
    """``factory(**point) -> Scenario``: a ``[scenario]`` template as a picklable sweep function.

    Its ``sweep_definition`` (the template) is part of a store's definition,
    so two sweep files with different scenarios never share a store.
    """

    #: tells :func:`~virtmodel.experiments.sweep.sweep` not to pass ``rng``
    takes_rng = False

    def __init__(self, template: Mapping, parameters):
        self.template = dict(template)
        self.parameters = tuple(parameters)
        _check_template(self.template, set(self.parameters))

    def __call__(self, **point):
        return build_scenario(self.template, point)

    @property
    def sweep_definition(self) -> dict:
        return {"scenario": self.template}

    def __repr__(self) -> str:
        return f"ScenarioFactory(parameters={list(self.parameters)})"


# --------------------------------------------------------------------------- structural checks


def _check_strings(value, key, params):
    if isinstance(value, str) and "{" in value:
        whole = _WHOLE.match(value)
        if whole:
            used = {whole.group(1)}
        elif key.endswith(".name"):
            used = set()
            for m in _BRACED.finditer(value):
                used |= _names(_parse("{" + m.group(1) + "}", key))
        else:
            used = _names(_parse(value, key))
        unknown = sorted(used - params)
        if unknown:
            raise InvalidParameter(f"{key}: {value!r} refers to {unknown}, which are not grid parameters "
                                   f"(parameters: {sorted(params)})")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_strings(v, f"{key}[{i}]", params)
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _check_strings(v, f"{key}.{k}", params)


def _check_typed(spec, key, classes, kind, params):
    if isinstance(spec, str) and kind == "policy":
        spec = {"type": spec}
    if not isinstance(spec, Mapping) or "type" not in spec:
        raise InvalidParameter(f"{key} must be a table with a 'type' key (a {kind}), got {spec!r}")
    name = spec["type"]
    if not isinstance(name, str):
        raise InvalidParameter(f"{key}.type must be a string, got {name!r}")
    if "{" in name:
        return  # chosen per point; checked when built
    if name not in classes:
        raise InvalidParameter(f"{key}.type must be one of {sorted(classes)}, got {name!r}")
    kwargs = {k: v for k, v in spec.items() if k != "type"}
    try:
        sig = inspect.signature(classes[name])
    except (TypeError, ValueError):  # pragma: no cover
        return
    try:
        sig.bind_partial(**kwargs)
    except TypeError:
        accepted = [p for p in sig.parameters if p not in ("self", "cls")]
        unknown = sorted(set(kwargs) - set(accepted))
        raise InvalidParameter(
            f"{key}: {name} does not take {unknown or sorted(kwargs)}; it takes {accepted}") from None
    if kind == "policy":
        for k, v in kwargs.items():
            if isinstance(v, Mapping) and "type" in v:
                _check_typed(v, f"{key}.{k}", _dist_classes(), "distribution", params)


def _check_keys(table, allowed, key, required=()):
    if not isinstance(table, Mapping):
        raise InvalidParameter(f"{key} must be a table, got {table!r}")
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise InvalidParameter(f"{key}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    missing = [k for k in required if k not in table]
    if missing:
        raise InvalidParameter(f"{key}: missing required key(s) {missing}")


def _check_template(template, params):
    _check_keys(template, _SCENARIO_KEYS, "scenario", required=("pcpus", "vms"))
    _check_strings(template, "scenario", params)
    _check_typed(template.get("policy", "FCFS"), "scenario.policy", _policy_classes(), "policy", params)
    vms = template["vms"]
    if not isinstance(vms, list) or not vms:
        raise InvalidParameter(
            f"scenario.vms must be a non-empty array of tables ([[scenario.vms]]), got {vms!r}")
    for i, spec in enumerate(vms):
        key = f"scenario.vms[{i}]"
        _check_keys(spec, _VM_KEYS, key, required=("name", "arrival", "service"))
        for part in _VM_DISTS:
            if part in spec:
                _check_typed(spec[part], f"{key}.{part}", _dist_classes(), "distribution", params)
    overload = template.get("allow_overload", False)
    if not isinstance(overload, bool) and not (isinstance(overload, str) and "{" in overload):
        raise InvalidParameter(f"scenario.allow_overload must be true or false, got {overload!r}")
    events = template.get("events", [])
    if not isinstance(events, list):
        raise InvalidParameter(f"scenario.events must be an array of tables ([[scenario.events]]), got {events!r}")
    for i, e in enumerate(events):
        _check_typed(e, f"scenario.events[{i}]", _event_classes(), "event", params)


# --------------------------------------------------------------------------- the sweep file


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep file (see the module docstring); :meth:`run` runs it."""

    name: str
    grid: object
    factory: ScenarioFactory
    replications: int = 1
    seed: int = 0
    backend: str = "processes"
    workers: int | None = None
    common_random_numbers: bool = False
    simulate_kwargs: dict = None
    path: str | None = None

    @property
    def parameters(self) -> list[str]:
        return grid_points(self.grid)[1]

    def run(self, store=None, backend=None, workers=None, dask_address=None, progress=True):
        """Run the sweep (``backend``/``workers`` override the file's) and return its DataFrame."""
        backend = "dask" if dask_address else (backend or self.backend)
        return sweep(self.factory, self.grid, replications=self.replications, seed=self.seed,
                     backend=backend, workers=workers or self.workers, store=store, progress=progress,
                     common_random_numbers=self.common_random_numbers, dask_address=dask_address,
                     **(self.simulate_kwargs or {}))


def _parse_grid(data):
    has_grid, has_lhs = "grid" in data, "latin_hypercube" in data
    if has_grid == has_lhs:
        raise InvalidParameter("give exactly one of [grid] or [latin_hypercube]")
    if has_grid:
        grid = data["grid"]
        if not isinstance(grid, Mapping) or not grid:
            raise InvalidParameter(f"[grid] must be a table of parameter = [values...], got {grid!r}")
        for k, v in grid.items():
            if isinstance(v, (Mapping, list)) and any(isinstance(x, (Mapping, list)) for x in
                                                      (v.values() if isinstance(v, Mapping) else v)):
                raise InvalidParameter(f"grid.{k} must be a list of numbers or strings, got {v!r}")
            if isinstance(v, Mapping):
                raise InvalidParameter(f"grid.{k} must be a list of numbers or strings, got {v!r}")
        try:
            grid_points(grid)
        except InvalidParameter as exc:
            raise InvalidParameter(f"[grid]: {exc}") from None
        return dict(grid)
    lhs = data["latin_hypercube"]
    _check_keys(lhs, {"n", "seed", "ranges", "integers"}, "latin_hypercube", required=("n", "ranges"))
    try:
        ranges = lhs["ranges"]
        if isinstance(ranges, Mapping):
            ranges = {k: tuple(v) if isinstance(v, list) else v for k, v in ranges.items()}
        return LatinHypercube(ranges=ranges, n=lhs["n"], seed=lhs.get("seed", 0),
                              integers=tuple(lhs.get("integers", ())))
    except InvalidParameter as exc:
        raise InvalidParameter(f"latin_hypercube: {exc}") from None


def parse_spec(data, name: str | None = None, path=None) -> SweepSpec:
    """A :class:`SweepSpec` from TOML text or the dict ``tomllib`` makes of it.

    Raises
    ------
    InvalidParameter
        Naming the offending key.
    """
    if isinstance(data, str):
        try:
            data = tomllib.loads(data)
        except tomllib.TOMLDecodeError as exc:
            where = f" {path}" if path else ""
            raise InvalidParameter(f"sweep file{where} is not valid TOML: {exc}") from None
    _check_keys(data, _TOP_KEYS, "sweep file", required=("sweep", "scenario"))
    meta = data["sweep"]
    _check_keys(meta, _SWEEP_KEYS, "sweep")
    spec_name = meta.get("name", name)
    if not isinstance(spec_name, str) or not re.fullmatch(r"[\w.-]+", spec_name or ""):
        raise InvalidParameter(
            f"sweep.name must be a simple name (letters, digits, _ . -), got {spec_name!r}")
    replications = positive_int("sweep.replications", meta.get("replications", 1))
    seed = nonnegative_int("sweep.seed", meta.get("seed", 0))
    backend = meta.get("backend", "processes")
    if backend not in BACKENDS:
        raise InvalidParameter(f"sweep.backend must be one of {list(BACKENDS)}, got {backend!r}")
    workers = meta.get("workers")
    if workers is not None:
        workers = positive_int("sweep.workers", workers)
    crn = meta.get("common_random_numbers", False)
    if not isinstance(crn, bool):
        raise InvalidParameter(f"sweep.common_random_numbers must be true or false, got {crn!r}")
    if ("customers" in meta) == ("horizon" in meta):
        raise InvalidParameter("sweep: give exactly one of customers or horizon")
    kwargs = {}
    if "customers" in meta:
        kwargs["customers"] = positive_int("sweep.customers", meta["customers"])
    else:
        kwargs["horizon"] = float(positive("sweep.horizon", meta["horizon"]))
    if "warmup" in meta:
        w = meta["warmup"]
        if w != "mser5":
            if isinstance(w, str) or not float(probability("sweep.warmup", w)) < 1:
                raise InvalidParameter(f"sweep.warmup must be 'mser5' or a fraction in [0, 1), got {w!r}")
        kwargs["warmup"] = w
    if "engine" in meta:
        kwargs["engine"] = meta["engine"]
    if "batches" in meta:
        kwargs["batches"] = positive_int("sweep.batches", meta["batches"])
    grid = _parse_grid(data)
    params = grid_points(grid)[1]
    factory = ScenarioFactory(data["scenario"], params)
    return SweepSpec(name=spec_name, grid=grid, factory=factory, replications=replications, seed=seed,
                     backend=backend, workers=workers, common_random_numbers=crn, simulate_kwargs=kwargs,
                     path=None if path is None else str(path))


def load_spec(path) -> SweepSpec:
    """Read and check the sweep file at ``path`` (name defaults to the file's stem)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidParameter(f"cannot read sweep file {path}: {exc.strerror}") from None
    return parse_spec(text, name=path.stem, path=path)
