"""One scenario in a TOML file: what ``virtmodel predict | simulate | compare FILE.toml`` read.

The file holds the same ``[scenario]`` table as a sweep file (see
:mod:`virtmodel.experiments.spec`: policy, VMs with their distributions, and
every other Scenario and VM field), without ``{...}`` templates since there
is no grid, and optionally a ``[simulate]`` table with the defaults of the
simulation (the command line overrides them)::

    [simulate]                   # optional; defaults shown
    customers = 20000            # departures kept per replication ... or horizon = 5000.0
    replications = 10
    seed = 1
    engine = "auto"              # "auto" | "simpy" | "compiled" | "fast"
    warmup = "mser5"             # or a fraction in [0, 1)

    [scenario]
    pcpus = 1
    policy = {type = "RoundRobin", quantum = 0.1}

    [[scenario.vms]]
    name = "web"
    arrival = {type = "Exponential", rate = 0.4}
    service = {type = "Exponential", rate = 1.0}

Examples
--------
>>> sc, kw = parse_scenario_file('''
... [scenario]
... pcpus = 1
... [[scenario.vms]]
... name = "web"
... arrival = {type = "Exponential", rate = 0.5}
... service = {type = "Deterministic", value = 1.0}
... ''')
>>> sc.vms[0].name, kw
('web', {'customers': 20000, 'replications': 10, 'seed': 1})
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from .._validation import nonnegative_int, positive, positive_int
from ..errors import InvalidParameter
from .spec import _check_keys, _check_template, build_scenario

__all__ = ["parse_scenario_file", "load_scenario_file", "SIMULATE_DEFAULTS"]

#: simulate() settings used when neither the file's [simulate] table nor the command line give them
SIMULATE_DEFAULTS = {"customers": 20_000, "replications": 10, "seed": 1}
_SIMULATE_KEYS = {"customers", "horizon", "replications", "seed", "engine", "warmup", "batches"}


def parse_scenario_file(text: str, path=None):
    """``(Scenario, simulate keyword arguments)`` from the TOML text of a scenario file.

    Raises
    ------
    InvalidParameter
        Naming the key at fault (``scenario.vms[0].arrival.rate``, ``simulate.customers``...).
    """
    where = f" {path}" if path else ""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidParameter(f"scenario file{where} is not valid TOML: {exc}") from None
    _check_keys(data, {"scenario", "simulate"}, f"scenario file{where}", required=("scenario",))
    template = data["scenario"]
    _check_template(template, set())  # no grid: a {template} is refused, naming its key
    scenario = build_scenario(template, {})
    meta = data.get("simulate", {})
    _check_keys(meta, _SIMULATE_KEYS, "simulate")
    if "customers" in meta and "horizon" in meta:
        raise InvalidParameter("simulate: give at most one of customers or horizon")
    kwargs = {k: v for k, v in SIMULATE_DEFAULTS.items() if not (k == "customers" and "horizon" in meta)}
    if "customers" in meta:
        kwargs["customers"] = positive_int("simulate.customers", meta["customers"])
    if "horizon" in meta:
        kwargs["horizon"] = float(positive("simulate.horizon", meta["horizon"]))
    if "replications" in meta:
        kwargs["replications"] = positive_int("simulate.replications", meta["replications"])
    if "seed" in meta:
        kwargs["seed"] = nonnegative_int("simulate.seed", meta["seed"])
    if "batches" in meta:
        kwargs["batches"] = positive_int("simulate.batches", meta["batches"])
    for key in ("engine", "warmup"):
        if key in meta:
            kwargs[key] = meta[key]  # simulate checks them
    return scenario, kwargs


def load_scenario_file(path):
    """Read :func:`parse_scenario_file` from ``path``."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidParameter(f"cannot read scenario file {path}: {exc.strerror}") from None
    return parse_scenario_file(text, path)
