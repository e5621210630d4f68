"""``virtmodel predict | simulate | compare FILE.toml``: one scenario from the command line.

The file is a scenario file (:mod:`virtmodel.experiments.scenario_file`: the
``[scenario]`` table of sweep files, plus an optional ``[simulate]`` table).
Each command prints a table that fits 80 columns and, with ``--out PATH``,
writes it as CSV (``.csv``) or JSON records (``.json``) with every column
(``exact``, ``model``, ``engine`` included).  An approximate closed form is
marked ``~`` in the printed table.  Exit status 0, or 2 for a bad file, an
unstable scenario or a scenario without a closed form.
"""

from __future__ import annotations

import json
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np

from .._lazy import lazy

pd = lazy("pandas")  # loaded when a table is built: `virtmodel --help` stays fast (issue 12, item 8)

__all__ = ["add_scenario_parsers"]

_OUT_SUFFIXES = (".csv", ".json")


def _num(x) -> str:
    return f"{x:.5g}" if isinstance(x, (float, np.floating)) else str(x)


def _pm(mean, low, high) -> str:
    half = (high - low) / 2
    return f"{mean:.5g}" if not np.isfinite(half) else f"{mean:.5g} ± {half:.2g}"


def _print(table: pd.DataFrame) -> None:
    with pd.option_context("display.width", 80, "display.max_rows", None, "display.max_colwidth", 24):
        print(table.to_string(index=False, formatters={c: _num for c in table.columns}))


def _note(text: str) -> None:
    print(textwrap.fill(text, 80, break_on_hyphens=False))


def _write(frame: pd.DataFrame, out) -> None:
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False, float_format="%.10g")
    else:  # through json for plain "/" (pandas escapes it) and true/false/null
        path.write_text(json.dumps(json.loads(frame.to_json(orient="records", double_precision=15)), indent=2) + "\n")
    print(f"written to {path}")


def _simulate_kwargs(args, defaults) -> dict:
    kw = dict(defaults)
    if args.customers is not None:
        kw.pop("horizon", None)
        kw["customers"] = args.customers
    if args.horizon is not None:
        kw.pop("customers", None)
        kw["horizon"] = args.horizon
    for key in ("replications", "seed", "engine"):
        if getattr(args, key) is not None:
            kw[key] = getattr(args, key)
    return kw


def _size(kw) -> str:
    size = f"{kw['customers']} customers" if "customers" in kw else f"horizon {kw['horizon']:g}"
    return f"{kw['replications']} replication(s) of {size}, seed {kw['seed']}"


def _run_sim(fn, *a, **kw):
    """Call simulate/compare, printing each VirtmodelWarning as one line on stderr."""
    from ..errors import VirtmodelWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", VirtmodelWarning)
        out = fn(*a, **kw)
    for w in caught:
        if issubclass(w.category, VirtmodelWarning):
            print(f"warning: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return out


def _predict(args, scenario, _defaults) -> pd.DataFrame:
    from ..analytic.solve import predict

    pred = predict(scenario)
    frame = pred.values.copy()
    frame["exact"], frame["model"] = bool(pred.exact), pred.model
    show = frame[["metric", "group"]].copy()
    show["value"] = [(_num(v) if pred.exact else "~" + _num(v)) for v in frame["value"]]
    _print(show)
    print()
    _note(f"model: {pred.model}: " + ("exact closed form" if pred.exact
                                      else "APPROXIMATE closed form (exact = False; ~ marks its values)"))
    return frame


def _simulate(args, scenario, defaults) -> pd.DataFrame:
    from ..sim.run import simulate

    kw = _simulate_kwargs(args, defaults)
    res = _run_sim(simulate, scenario, progress=False, **kw)
    frame = res.summary.copy()
    frame["engine"] = res.engine
    show = frame[["metric", "group"]].copy()
    show["mean ± half-width"] = [_pm(*t) for t in frame[["mean", "ci_low", "ci_high"]].itertuples(index=False)]
    show["n"] = frame["n"]
    _print(show)
    print()
    _note(f"{_size(kw)}; engine {res.engine}; ± is the 95 % half-width ({res.method})")
    return frame


def _compare(args, scenario, defaults) -> pd.DataFrame:
    from .compare import compare

    kw = _simulate_kwargs(args, defaults)
    tab = _run_sim(compare, scenario, progress=False, **kw)
    exact = bool(tab["exact"].iloc[0]) if len(tab) else True
    show = tab[["metric", "group"]].copy()
    show["analytic"] = [(_num(v) if exact else "~" + _num(v)) for v in tab["analytic"]]
    show["sim (95 %)"] = [_pm(*t) for t in tab[["sim_mean", "ci_low", "ci_high"]].itertuples(index=False)]
    show["rel_err"] = tab["rel_error"].map(lambda x: f"{x:.2%}")
    show["in CI"] = tab["agrees"].map({True: "yes", False: "NO"})
    _print(show)
    model = tab["model"].iloc[0] if len(tab) else "?"
    print()
    _note(f"model: {model} ("
          + ("exact" if exact else "APPROXIMATE: ~ marks values that are not exact, a gap is expected") + ")")
    _note(f"{_size(kw)}; engine {tab['engine'].iloc[0] if len(tab) else '?'}; sim ± is the 95 % half-width")
    return tab


_COMMANDS = {"predict": _predict, "simulate": _simulate, "compare": _compare}


def _main(args) -> int:
    from ..errors import VirtmodelError
    from .scenario_file import load_scenario_file

    if args.out is not None and Path(args.out).suffix not in _OUT_SUFFIXES:
        print(f"virtmodel {args.command}: error: --out must end in .csv or .json, got {args.out!r}",
              file=sys.stderr)
        return 2
    try:
        scenario, defaults = load_scenario_file(args.file)
        frame = _COMMANDS[args.command](args, scenario, defaults)
    except VirtmodelError as exc:
        hint = "; simulate it instead (virtmodel simulate FILE)" if type(exc).__name__ == "NoClosedForm" else ""
        print(f"virtmodel {args.command}: error: {type(exc).__name__}: {exc}{hint}", file=sys.stderr)
        return 2
    if args.out is not None:
        _write(frame, args.out)
    return 0


def add_scenario_parsers(sub) -> None:
    """Add ``predict``, ``simulate`` and ``compare`` to the top-level subparsers of ``virtmodel``."""
    helps = {"predict": "closed-form prediction of the scenario in a TOML file",
             "simulate": "simulate the scenario in a TOML file (95 % intervals)",
             "compare": "predict and simulate the scenario in a TOML file side by side"}
    for name, text in helps.items():
        p = sub.add_parser(name, help=text.replace("%", "%%"),  # argparse %-formats help strings
                           description=f"{text}. {__doc__.splitlines()[2].strip()}")
        p.add_argument("file", help="scenario file: a [scenario] table as in sweep files, optional [simulate]")
        if name != "predict":
            size = p.add_mutually_exclusive_group()
            size.add_argument("--customers", type=int, default=None,
                              help="departures kept per replication (default: the file's, else 20000)")
            size.add_argument("--horizon", type=float, default=None, help="simulated time per replication")
            p.add_argument("--replications", type=int, default=None, help="default: the file's, else 10")
            p.add_argument("--seed", type=int, default=None, help="root seed (default: the file's, else 1)")
            p.add_argument("--engine", default=None, choices=["auto", "simpy", "compiled", "fast"],
                           help="simulator (default auto)")
        p.add_argument("--out", default=None, help="also write the table: PATH.csv or PATH.json")
        p.set_defaults(func=_main)
