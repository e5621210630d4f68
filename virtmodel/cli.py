"""The ``virtmodel`` command line.

``virtmodel validate [--quick | --full] [--seed S] [--out PATH] [--workers N] [--engines]``
    Predict and simulate the validation battery, print the comparison table,
    write it (CSV plus a JSON sidecar) and exit 1 if an exact model fails.
``virtmodel derive NAME [--latex]`` / ``virtmodel derive --list``
    Show a sympy derivation.
``virtmodel predict | simulate | compare FILE.toml [--customers N --replications R --seed S --engine E] [--out PATH]``
    One scenario (the ``[scenario]`` table of sweep files): closed form, simulation, or both side by side.
``virtmodel data list | info NAME | fetch NAME|--all | path [NAME] | verify | summary``
    Real datasets (virtmodel.data): list, describe, download with sha256 checks.
``virtmodel reproduce [--quick] [--only NAME] [--out DIR] [--store DIR] [--workers N]``
    Rebuild every figure and table of the paper (virtmodel.experiments.reproduce).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import textwrap
from pathlib import Path

from . import __version__
from ._lazy import lazy

pd = lazy("pandas")  # loaded when a table is printed: `virtmodel --help` stays fast (issue 12, item 8)

__all__ = ["main"]


def _validate(args) -> int:
    from .experiments.validation import AREAS, SIZES, battery, engine_sample, run_battery

    size = "quick" if args.quick else "full" if args.full else "default"
    customers, replications = SIZES[size]
    areas = tuple(args.area) if args.area else AREAS
    import warnings

    from .errors import VirtmodelWarning

    with warnings.catch_warnings(record=True) as caught:  # counted below, one line (--verbose: all)
        warnings.simplefilter("always", VirtmodelWarning)
        # --engines: also one check per policy on each engine (label "[simpy]" / "[compiled]")
        sample = engine_sample() if args.engines else []
        table = run_battery(battery(areas) + sample, customers=customers, replications=replications,
                            seed=args.seed, workers=args.workers, progress=not args.no_progress)
    for w in caught:
        if not issubclass(w.category, VirtmodelWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    too_short = [str(w.message) for w in caught if issubclass(w.category, VirtmodelWarning)]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False, float_format="%.10g")
    exact = table[table["exact"]]
    failed = exact[~exact["passes"]]
    meta = {
        "command": "virtmodel validate --" + size + f" --seed {args.seed}" + (" --engines" if args.engines else ""),
        "virtmodel_version": __version__, "size": size, "customers_per_replication": customers,
        "replications": replications, "seed": args.seed,
        "exact_rows": int(len(exact)),
        "exact_rows_outside_95_interval": int((~exact["agrees"]).sum()),
        "family_level": table.attrs["family_level"], "failed": int(len(failed)),
        "interval": "Student-t over replication means, 95 %; verdict: Bonferroni over exact rows",
        "warmup": "mser5", "areas": list(areas), "engine_sample_checks": len(sample),
        # --full: checks simulated in bounded memory (records=False) and the rows they cannot estimate
        "bounded_memory_checks": len(table.attrs.get("bounded_checks", [])),
        "rows_not_simulated": int(table.attrs.get("rows_not_simulated", 0)),
    }
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    show = table[["check", "metric", "group", "analytic", "sim_mean", "ci_low", "ci_high", "rel_error",
                  "agrees", "passes"]].copy()
    show["exact"] = table["exact"].map({True: "exact", False: "approx"})
    if "engine" in table:
        show["engine"] = table["engine"]  # which simulator made each row (compiled or simpy)
    if args.verbose:
        with pd.option_context("display.width", 200, "display.max_rows", None, "display.max_colwidth", 32):
            print(show.to_string(index=False, float_format=lambda x: f"{x:.5g}"))
        for message in too_short:
            print(f"warning: {message}", file=sys.stderr)
    else:  # one line per area and the failing rows; the full table is in the file (and --verbose)
        from .experiments.validation_summary import area_of_checks, area_summary, failing_rows

        area_of = area_of_checks(areas) | {check.label: "engines" for check in sample}
        # wrapped to the terminal (80 columns when piped), so the summary reads on a narrow terminal
        width = shutil.get_terminal_size((80, 24)).columns
        print(area_summary(table, area_of).to_string(index=False, line_width=width))
        bad = failing_rows(table)
        if not bad.empty:
            print("\nfailing rows (exact model outside its family-wise interval):")
            print(bad.to_string(index=False, float_format=lambda x: f"{x:.5g}", line_width=width))
        if too_short:
            print("\n" + textwrap.fill(
                f"{len(too_short)} simulation(s) warned that their numbers are not to be trusted as they "
                "are (VirtmodelWarning: too short, or overloaded on purpose; --verbose prints them)", width))
    outside = meta["exact_rows_outside_95_interval"]
    width = shutil.get_terminal_size((80, 24)).columns
    print("\n" + textwrap.fill(
        f"{len(exact)} exact rows: {outside} outside their 95 % interval "
        f"(about {0.05 * len(exact):.1f} expected by chance); family-wise check at level "
        f"{meta['family_level']:.5f}: {'all pass' if failed.empty else f'{len(failed)} FAIL'}.", width))
    print(textwrap.fill(f"{customers} customers x {replications} replications per check, seed {args.seed}; "
                        f"table written to {out}", width, break_on_hyphens=False, break_long_words=False))
    if meta["bounded_memory_checks"]:
        print(textwrap.fill(
            f"{meta['bounded_memory_checks']} checks ran in bounded memory (records=False: running sums, no "
            f"per-job records); {meta['rows_not_simulated']} predicted rows (percentiles) were not "
            "simulated there (they are at the default size).", width))
    if not failed.empty:
        cols = ["check", "metric", "group", "analytic", "sim_mean"]
        print("FAILED:\n" + failed[cols].to_string(index=False), file=sys.stderr)
        return 1
    return 0


def _derive(args) -> int:
    from .symbolic import derivations, derive

    if args.list or not args.name:
        print("\n".join(derivations()))
        return 0
    names = derivations()
    if args.name not in names:
        import difflib

        close = difflib.get_close_matches(args.name, names, n=5, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else "virtmodel derive --list shows them all"
        print(f"virtmodel derive: error: no derivation named {args.name!r}; {hint}", file=sys.stderr)
        return 2
    d = derive(args.name)
    if args.latex:
        print(d.latex())
    else:
        print(d)
    return 0


def _sweep(args) -> int:
    """``virtmodel sweep FILE.toml [--workers N] [--dask ADDRESS] [--resume] [--out DIR]``.

    Run the sweep a TOML file describes (schema: :mod:`virtmodel.experiments.spec`),
    store it in data/sweeps/NAME/ and print a summary table.  Exit status 1 if
    some points failed, 2 for a bad file or a store that cannot be used.
    """
    import warnings

    from .errors import VirtmodelError
    from .experiments.spec import load_spec
    from .experiments.sweep import SweepWarning, summary_table

    try:
        spec = load_spec(args.file)
        out = Path(args.out) if args.out else Path("data", "sweeps", spec.name)
        if (out / "sweep.json").exists() and not args.resume:
            print(f"virtmodel sweep: {out} already holds a sweep; pass --resume to continue it "
                  "(only missing and failed points are computed) or --out for another directory",
                  file=sys.stderr)
            return 2
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SweepWarning)  # reported below
            df = spec.run(store=out, backend=args.backend, workers=args.workers, dask_address=args.dask,
                          progress=not args.no_progress)
    except VirtmodelError as exc:
        print(f"virtmodel sweep: error: {exc}", file=sys.stderr)
        return 2
    table = summary_table(df)
    with pd.option_context("display.width", 200, "display.max_rows", 60, "display.max_colwidth", 60):
        print(table.to_string(index=False))
    failed = df.loc[df["error"].notna(), ["point", "error"]]
    size = (f"{spec.simulate_kwargs['customers']} customers" if "customers" in spec.simulate_kwargs
            else f"horizon {spec.simulate_kwargs['horizon']}")
    method = "over replications" if spec.replications >= 2 else "batch means"
    print(f"\n{spec.name}: {table.shape[0]} points, {spec.replications} replication(s) of {size}, "
          f"seed {spec.seed}; ± is the 95 % Student-t half-width ({method}); results in {out}/ "
          f"(virtmodel.experiments.store.load({str(out)!r}))")
    if "exact" in table and (table["exact"] == "approx").any():
        print("~ marks an approximate closed form (exact = False): the analytic value is not exact")
    if not failed.empty:
        # UnstableSystem / InvalidParameter / LifecycleError come from the parameters: a rerun repeats them
        fixed = failed["error"].str.match(r"(UnstableSystem|InvalidParameter|LifecycleError|NoClosedForm):")
        if fixed.all():
            hint = "the parameters cause these errors, so a rerun won't help: change the sweep file"
        elif fixed.any():
            hint = (f"{int(fixed.sum())} failed because of their parameters (a rerun won't help); "
                    "rerun with --resume to retry the others")
        else:
            hint = "rerun with --resume to retry them"
        print(f"{len(failed)} point(s) FAILED ({hint}):\n"
              + failed.to_string(index=False), file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .experiments.registry import battery_areas  # the areas registered by virtmodel.areas

    parser = argparse.ArgumentParser(prog="virtmodel", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"virtmodel {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    v = sub.add_parser("validate", help="predict and simulate the validation battery")
    size = v.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="20,000 customers x 10 replications, times each check's length and replications")
    size.add_argument("--full", action="store_true",
                      help="500,000 customers x 45 replications (15x the default's customers x "
                           "replications), times each check's length and replications; checks of fixed "
                           "length (scenario kinds) take 15x the default's replications instead; long "
                           "runs in bounded memory (default: 50,000 x 30)")
    v.add_argument("--seed", type=int, default=2026, help="root seed (default 2026)")
    v.add_argument("--out", default=os.path.join("data", "validate", "validation.csv"),
                   help="CSV to write (a .json sidecar goes beside it)")
    v.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                   help="processes running whole checks side by side (results do not depend on it)")
    v.add_argument("--no-progress", action="store_true", help="no progress bar")
    v.add_argument("--verbose", action="store_true",
                   help="print the full table (default: one line per area and the failing rows)")
    v.add_argument("--area", action="append",
                   choices=list(battery_areas()),
                   help="only this area of the battery (repeatable; default: all)")
    v.add_argument("--engines", action="store_true",
                   help="also run one check per policy on both engines, simpy and compiled "
                        "(rows labelled [simpy] / [compiled]; the engine column says which)")
    v.set_defaults(func=_validate)

    d = sub.add_parser("derive", help="show a sympy derivation")
    d.add_argument("name", nargs="?", help="derivation name, e.g. mg1.mean_wait")
    d.add_argument("--list", action="store_true", help="list the derivations")
    d.add_argument("--latex", action="store_true", help="print the LaTeX of the derivation")
    d.set_defaults(func=_derive)

    s = sub.add_parser("sweep", help="run a parameter sweep described by a TOML file")
    s.add_argument("file", help="sweep file, e.g. sweeps/rr_quantum_load.toml")
    s.add_argument("--workers", type=int, default=None, help="processes or Dask workers (default: all CPUs)")
    s.add_argument("--dask", metavar="ADDRESS", default=None,
                   help="run on the Dask scheduler at ADDRESS (e.g. tcp://10.0.0.1:8786)")
    s.add_argument("--backend", choices=["serial", "processes", "dask"], default=None,
                   help="override the file's backend (results do not depend on it)")
    s.add_argument("--resume", action="store_true", help="continue the sweep already stored in --out")
    s.add_argument("--out", default=None, help="store directory (default data/sweeps/NAME/)")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.set_defaults(func=_sweep)

    from .data._cli import add_data_parser
    from .experiments._cli_scenario import add_scenario_parsers

    add_scenario_parsers(sub)  # virtmodel predict | simulate | compare FILE.toml

    add_data_parser(sub)  # virtmodel data list | info NAME | fetch NAME|--all | path | verify | summary
    from .experiments.reproduce import add_reproduce_parser

    add_reproduce_parser(sub)  # virtmodel reproduce [--quick] [--only NAME] [--out DIR]
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
