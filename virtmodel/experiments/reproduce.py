r"""``virtmodel reproduce``: every figure and table of the paper from one command.

Each *item* runs (or reuses from its sweep store) the sweeps and simulations
behind one figure or table and writes

* figures to ``OUT/figures/NAME.pdf`` (paper) and ``.png`` (README, docs),
* tables to ``OUT/tables/NAME.csv`` (every column) and ``NAME.tex`` (a
  booktabs ``tabular`` for the paper),
* the numbers the paper's text quotes as ``\newcommand`` macros in
  ``OUT/tables/numbers-ITEM.tex``, gathered into ``OUT/tables/numbers.tex``,
* the derivations the paper shows, ``vm.derive(name).latex()``, to
  ``OUT/derivations/NAME.tex``.

Simulations go through :func:`virtmodel.sweep` with a store in
``STORE/ITEM`` (default ``data/reproduce/SIZE``): a rerun computes only the
points that are missing, and every number depends on the root seed, the
point and the replication only, so two runs write byte-identical files
(figures carry no dates or versions, :func:`virtmodel.plotting.save`).  A
file whose bytes would not change is left alone and reported ``unchanged``.

Items that need real data (``VIRTMODEL_DATA``, see ``virtmodel data``) are
skipped with a message naming the datasets when those are absent; their
earlier outputs are left as they are.
"""

from __future__ import annotations

import io
import math
import os
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._lazy import lazy
from ..errors import InvalidParameter, VirtmodelError, VirtmodelWarning

pd = lazy("pandas")  # `virtmodel --help` builds this parser: keep it fast (issue 12, item 8)

__all__ = ["Size", "SIZES", "ITEMS", "DERIVATIONS", "reproduce", "latex_table", "latex_number",
           "add_reproduce_parser"]

#: root seed of every sweep
SEED = 2026


@dataclass(frozen=True)
class Size:
    """How long each experiment runs.

    ``validation``: customers per replication and replications per battery
    check, or the name of one of ``virtmodel validate``'s sizes
    (:data:`virtmodel.experiments.validation.SIZES`), over the battery
    ``areas`` (default: all); ``slowdown``: customers and replications per policy;
    ``consolidation``: customers per replication and replications per point;
    ``clock``: simulated hours, replications and poll intervals (s);
    ``azure_hosts``: cluster sizes replayed.
    """

    name: str
    validation: tuple[int, int] | str
    slowdown: tuple[int, int]
    consolidation: tuple[int, int]
    clock: tuple[float, int, tuple[float, ...]]
    azure_hosts: tuple[int, ...]
    areas: tuple[str, ...] | None = None
    consolidation_vms: tuple[int, ...] = (2, 4, 8)
    consolidation_loads: tuple[float, ...] = (0.3, 0.5, 0.7, 0.85)

    def __post_init__(self):
        if not self.name or not self.name.replace("_", "").isalnum():
            raise InvalidParameter(f"Size.name must be a word (letters, digits, _), got {self.name!r}")
        pairs = [("slowdown", self.slowdown), ("consolidation", self.consolidation)]
        if not isinstance(self.validation, str):
            pairs.append(("validation", self.validation))
        for label, pair in pairs:
            if len(pair) != 2 or pair[0] < 100 or pair[1] < 2:
                raise InvalidParameter(
                    f"Size.{label} must be (customers >= 100, replications >= 2), got {pair!r}")


def _areas():
    from .validation import AREAS

    return AREAS


#: ``--quick`` (CI: a few minutes on 2 cores) and the default (the paper); the validation table is
#: ``virtmodel validate --quick``'s battery at its size (read when it runs) in both
SIZES = {
    "quick": Size("quick", validation="quick", slowdown=(20_000, 5), consolidation=(20_000, 5),
                  clock=(4.0, 5, (16.0, 32.0, 64.0, 128.0)), azure_hosts=(400, 600, 800, 1000, 1200)),
    "default": Size("default", validation="quick", slowdown=(200_000, 10),
                    consolidation=(100_000, 10), clock=(8.0, 10, (16.0, 32.0, 64.0, 128.0, 256.0)),
                    azure_hosts=tuple(range(300, 1401, 100))),
}

#: the derivations the paper shows (``OUT/derivations/NAME.tex``)
DERIVATIONS = ("mg1.mean_wait", "erlang_a.abandonment_probability", "clock.offset_error_bound",
               "clock.lost_tick_rate_error_delay")


# --------------------------------------------------------------------------- output


@dataclass
class Context:
    size: Size
    out: Path
    store: Path
    workers: int
    log: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    written: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)

    def say(self, text):
        print(text, flush=True)
        self.log.append(text)

    def put(self, relative: str, data: bytes):
        """Write ``OUT/relative`` unless it already holds exactly ``data``."""
        target = self.out / relative
        if target.exists() and target.read_bytes() == data:
            self.unchanged.append(target)
            self.say(f"  unchanged {target}")
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        self.written.append(target)
        self.say(f"  wrote     {target}")

    def table(self, name: str, frame: pd.DataFrame, latex: str | None = None):
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, float_format="%.10g", lineterminator="\n")
        self.put(f"tables/{name}.csv", buffer.getvalue().encode())
        if latex is not None:
            self.put(f"tables/{name}.tex", latex.encode())

    def figure(self, name: str, draw, height: float | None = None):
        """Draw with ``draw(ax)`` in the paper style; write NAME.pdf and NAME.png."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        from .. import plotting

        with plotting.paper_style():
            size = plt.rcParams["figure.figsize"]
            fig, ax = plt.subplots(figsize=(size[0], height or size[1]))
            draw(ax)
            with tempfile.TemporaryDirectory() as tmp:
                for path in plotting.save(fig, Path(tmp) / name):
                    self.put(f"figures/{path.name}", path.read_bytes())
            plt.close(fig)

    def numbers(self, item: str, values: dict):
        """Write the item's ``\\newcommand`` macros (name -> already formatted text)."""
        lines = [f"% numbers of item {item!r}, written by virtmodel reproduce ({self.size.name} size)"]
        for name, text in values.items():
            if not name.isalpha():
                raise InvalidParameter(f"a LaTeX macro name must be letters only, got {name!r}")
            lines.append(f"\\newcommand{{\\{name}}}{{{text}}}")
        self.put(f"tables/numbers-{item}.tex", ("\n".join(lines) + "\n").encode())


def latex_escape(text) -> str:
    """``text`` with LaTeX's special characters escaped (for table cells)."""
    out = str(text)
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("#", r"\#"), ("_", r"\_"),
                 ("$", r"\$"), ("{", r"\{"), ("}", r"\}"), ("~", r"\textasciitilde{}"), ("^", r"\^{}")):
        out = out.replace(a, b)
    return out


def latex_number(value, digits: int = 3) -> str:
    """A number for LaTeX text: ``digits`` significant digits, thousands separated, ``\\infty`` for inf.

    >>> latex_number(0.012345), latex_number(41234.0, 2), latex_number(float("inf")), latex_number(2.5e-7)
    ('0.0123', '41{,}000', '$\\\\infty$', '$2.50 \\\\times 10^{-7}$')

    Integers (Python or numpy) are printed whole: ``latex_number(20000)`` is ``'20{,}000'``.
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{int(value):,}".replace(",", "{,}")
    value = float(value)
    if math.isinf(value):
        return "$\\infty$" if value > 0 else "$-\\infty$"
    if math.isnan(value):
        return "--"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e7):
        mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
        return f"${mantissa} \\times 10^{{{int(exponent)}}}$"
    rounded = float(f"{value:.{digits}g}")
    decimals = max(digits - 1 - math.floor(math.log10(abs(rounded))), 0) if rounded else 0
    return f"{rounded:,.{decimals}f}".replace(",", "{,}")


def latex_table(frame: pd.DataFrame, columns) -> str:
    """A booktabs ``tabular`` of ``frame``: ``columns`` is a list of ``(column, header, format)``.

    ``format`` is a callable value -> text (LaTeX), or None for escaped text;
    numeric columns are right-aligned.
    """
    spec, head, body = [], [], []
    for col, header, fmt in columns:
        numeric = pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col])
        spec.append("r" if numeric or fmt is not None else "l")
        head.append(header)
    values = {col: frame[col].tolist() for col, _, _ in columns}  # per column: ints stay ints (iterrows casts)
    for i in range(len(frame)):
        cells = [(fmt(values[col][i]) if fmt is not None else latex_escape(values[col][i])) for col, _, fmt in columns]
        body.append(" & ".join(cells) + r" \\")
    return "\n".join([f"\\begin{{tabular}}{{{''.join(spec)}}}", r"\toprule", " & ".join(head) + r" \\",
                      r"\midrule", *body, r"\bottomrule", r"\end{tabular}", ""])


def _sweep(ctx: Context, item: str, fn, grid, replications: int, **kwargs) -> pd.DataFrame:
    """Run ``fn`` over ``grid`` with the item's store; report how many points were reused."""
    from .sweep import grid_points, sweep

    store = ctx.store / item
    points = len(grid_points(grid)[0])
    have = 0
    if (store / "sweep.json").exists():
        have = len([p for p in store.glob("point-*.parquet")])
    backend = "serial" if ctx.workers == 1 else "processes"

    def run():
        return sweep(fn, grid, replications=replications, seed=SEED, backend=backend, workers=ctx.workers,
                     store=store, progress=False, **kwargs)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", VirtmodelWarning)
        try:
            df = run()
        except VirtmodelError as exc:
            if "holds a different sweep" not in str(exc):
                raise
            # the store is reproduce's own cache: a changed definition (size, grid, version) starts it over
            ctx.say(f"  {store} held another definition of {item!r}; recomputing. {str(exc)[:400]}")
            shutil.rmtree(store)
            have = 0
            df = run()
    untrusted = [str(w.message) for w in caught if issubclass(w.category, VirtmodelWarning)]
    for w in caught:
        if not issubclass(w.category, VirtmodelWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if untrusted:  # reported, never hidden: the numbers are kept as they are
        ctx.say(f"  note: {len(untrusted)} VirtmodelWarning(s) (run too short to trust or overloaded); "
                f"first: {untrusted[0][:240]}")
    reused = min(have, points)
    ctx.say(f"  {item}: {points} points, reused {reused} from {store}, computed {points - reused}")
    failed = df[df["error"].notna()]
    if len(failed):
        raise RuntimeError(f"{item}: {len(failed)} sweep point(s) failed, first: {failed['error'].iloc[0]}")
    return df


def _estimates(df: pd.DataFrame, params) -> pd.DataFrame:
    """The point estimates (replication -1, source sim): ``params..., metric, group, value, ci_low, ci_high``."""
    est = df[(df["replication"] == -1) & (df["source"] == "sim")]
    return est[[*params, "metric", "group", "value", "ci_low", "ci_high"]].reset_index(drop=True)


# --------------------------------------------------------------------------- items


def _validation(ctx: Context):
    from ..sim import stats
    from .paper_runs import battery_scenario
    from .validation import SIZES as VALIDATE_SIZES
    from .validation import battery, check_replications
    from .validation_summary import area_of_checks, area_summary

    areas = ctx.size.areas or _areas()
    size = ctx.size.validation
    customers, replications = VALIDATE_SIZES[size] if isinstance(size, str) else size
    checks = battery(areas)
    frames = []
    # checks run validate's sizes (customers x Check.length, replications as run_battery gives them):
    # one sweep (and store) per (length, replications)
    def reps(check):
        return check_replications(check, customers, replications)

    for length, count in sorted({(c.length, reps(c)) for c in checks}):
        labels = [c.label for c in checks if c.length == length and reps(c) == count]
        name = f"validation-x{length:g}" + ("" if count == replications else f"-r{count}")
        frames.append(_sweep(ctx, name, battery_scenario, {"check": labels}, count,
                             customers=max(int(customers * length), 100)))
    df = pd.concat(frames, ignore_index=True)
    key = ["check", "metric", "group"]
    est = df[df["replication"] == -1]
    analytic = est[est["source"] == "analytic"][[*key, "value", "exact", "model"]].rename(columns={"value": "analytic"})
    sim = est[est["source"] == "sim"][[*key, "value", "ci_low", "ci_high", "engine"]].rename(
        columns={"value": "sim_mean"})
    table = analytic.merge(sim, on=key)
    table["exact"] = table["exact"].astype(bool)
    per_rep = df[(df["replication"] >= 0) & (df["source"] == "sim")]
    values = {k: g["value"].to_numpy() for k, g in per_rep.groupby(key, sort=False)}
    # the verdict as `virtmodel validate` gives it: Bonferroni over the exact rows
    m = int(table["exact"].sum())
    level = 1 - 0.05 / max(m, 1)
    family = [stats.student_t_interval(values[tuple(k)], level=level)
              for k in table[key].itertuples(index=False)]
    nonzero = table["analytic"] != 0
    gap = (table["sim_mean"] - table["analytic"]).abs()
    table["rel_error"] = np.where(nonzero, gap / table["analytic"].abs().where(nonzero, 1.0), table["sim_mean"].abs())
    table["agrees"] = (table["ci_low"] <= table["analytic"]) & (table["analytic"] <= table["ci_high"])
    table["passes"] = [bool(iv.low <= a <= iv.high) or not e
                       for iv, a, e in zip(family, table["analytic"], table["exact"], strict=True)]
    length = {c.label: c.length for c in checks}
    table["customers"] = [max(int(customers * length[c]), 100) for c in table["check"]]
    order = {c.label: i for i, c in enumerate(checks)}
    table = table.sort_values("check", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    area_of = area_of_checks(areas)
    summary = area_summary(table, area_of)
    ctx.table("validation_rows", table)
    exact = table[table["exact"]]
    total = pd.DataFrame([dict(area="all", checks=table["check"].nunique(), rows=len(table), exact=len(exact),
                               outside=int((~exact["agrees"]).sum()), expected=f"{0.05 * len(exact):.1f}",
                               FAIL=int((~exact["passes"]).sum()),
                               worst_exact="", approx=int((~table["exact"]).sum()), worst_approx="")])
    shown = pd.concat([summary, total], ignore_index=True)
    ctx.table("validation", shown, latex_table(shown, [
        ("area", "area", None), ("checks", "checks", str), ("rows", "rows", str), ("exact", "exact", str),
        ("outside", "out", str), ("expected", "exp.", str), ("FAIL", "fail", str),
        ("worst_exact", "worst exact", lambda t: latex_escape(t)), ("approx", "approx.", str),
        ("worst_approx", "worst approx.", lambda t: latex_escape(t))]))
    from ..figures import plot_validation_errors

    ctx.figure("validation", lambda ax: plot_validation_errors(ax, table, area_of), height=2.6)
    ctx.numbers("validation", {
        "ValChecks": str(table["check"].nunique()), "ValRows": latex_number(len(table), 6),
        "ValExactRows": latex_number(len(exact), 6), "ValOutside": str(int((~exact["agrees"]).sum())),
        "ValExpected": f"{0.05 * len(exact):.1f}", "ValFail": str(int((~exact["passes"]).sum())),
        "ValApproxRows": str(int((~table["exact"]).sum())), "ValCustomers": latex_number(customers, 6),
        "ValReplications": str(replications),
        "ValLongest": latex_number(int(max(c.length for c in checks) * customers), 6),
        "ValFamilyLevel": f"{level:.5f}", "ValAreas": str(len(summary)),
    })


def _slowdown(ctx: Context):
    from ..analytic.solve import predict
    from ..figures import plot_paper_slowdown
    from .paper_runs import SLOWDOWN_POLICIES, slowdown_edges, slowdown_point, slowdown_scenario, slowdown_service

    load = 0.8
    customers, replications = ctx.size.slowdown
    df = _sweep(ctx, "slowdown", slowdown_point, {"policy": list(SLOWDOWN_POLICIES), "load": [load],
                                                  "customers": [customers], "replications": [replications]}, 1)
    est = _estimates(df, ["policy"])
    sim = est.pivot_table(index=["policy", "group"], columns="metric", values="value", sort=False).reset_index()
    sim = sim[["policy", "group", "mean_size", "mean_response", "ci_low", "ci_high"]].rename(columns={"group": "bin"})
    sim["slowdown"] = sim["mean_response"] / sim["mean_size"]
    edges = slowdown_edges()
    grid = np.geomspace(0.02, edges[-1], 80)
    analytic = pd.concat([pd.DataFrame({"policy": name, "size": grid,
                                        "mean_response": predict(slowdown_scenario(name, load))
                                        .response_given_size(grid)}) for name in SLOWDOWN_POLICIES],
                         ignore_index=True)
    ctx.table("slowdown_sim", sim)
    ctx.table("slowdown_analytic", analytic)
    ctx.figure("slowdown", lambda ax: plot_paper_slowdown(ax, analytic, sim))
    first, last = sim.groupby("policy").first(), sim.groupby("policy").last()
    ps = predict(slowdown_scenario("PS", load)).response_given_size(np.array([1.0]))[0]
    ctx.numbers("slowdown", {
        "SlowLoad": f"{load:g}", "SlowScv": f"{slowdown_service().scv:g}",
        "SlowCustomers": latex_number(customers, 6), "SlowReplications": str(replications),
        "SlowPS": latex_number(ps, 3), "SlowBins": str(len(edges) - 1),
        "SlowSmallFCFS": latex_number(first.loc["FCFS", "slowdown"], 2),
        "SlowSmallSRPT": latex_number(first.loc["SRPT", "slowdown"], 2),
        "SlowSmallSJF": latex_number(first.loc["SJF", "slowdown"], 2),
        "SlowLargeSRPT": latex_number(last.loc["SRPT", "slowdown"], 2),
        "SlowLargeFCFS": latex_number(last.loc["FCFS", "slowdown"], 2),
        "SlowLargeSize": latex_number(last.loc["SRPT", "mean_size"], 2),
    })


def _consolidation(ctx: Context):
    from ..analytic.consolidation import consolidation_gain
    from ..figures import plot_consolidation_gain
    from .paper_runs import consolidation_point

    customers, replications = ctx.size.consolidation
    grid = {"n_vms": list(ctx.size.consolidation_vms), "load": list(ctx.size.consolidation_loads),
            "customers": [customers]}
    df = _sweep(ctx, "consolidation", consolidation_point, grid, replications)
    est = _estimates(df, ["n_vms", "load"])
    sim = est[est["metric"] == "gain"][["n_vms", "load", "value", "ci_low", "ci_high"]].rename(
        columns={"value": "gain"}).reset_index(drop=True)
    loads = np.linspace(0.05, 0.9, 60)
    analytic = pd.concat([pd.DataFrame({"n_vms": n, "load": loads, "gain": consolidation_gain(n, loads)})
                          for n in ctx.size.consolidation_vms], ignore_index=True)
    ctx.table("consolidation_sim", sim, latex_table(sim, [
        ("n_vms", "VMs $N$", str), ("load", r"load $\rho$", lambda v: f"{v:g}"),
        ("gain", "gain (sim.)", lambda v: f"{v:.3f}"),
        ("ci_low", "95 \\% CI", lambda v: f"[{v:.3f},"), ("ci_high", "", lambda v: f"{v:.3f}]")]))
    ctx.table("consolidation_analytic", analytic)
    ctx.figure("consolidation", lambda ax: plot_consolidation_gain(ax, analytic, sim))
    n_max, rho_max = max(ctx.size.consolidation_vms), max(ctx.size.consolidation_loads)
    top = sim[(sim["n_vms"] == n_max) & (sim["load"] == rho_max)].iloc[0]
    ctx.numbers("consolidation", {
        "ConsMaxVMs": str(n_max), "ConsMaxLoad": f"{rho_max:g}",
        "ConsGainExact": latex_number(consolidation_gain(n_max, rho_max), 3),
        "ConsGainSim": latex_number(top["gain"], 3), "ConsGainLow": latex_number(top["ci_low"], 3),
        "ConsGainHigh": latex_number(top["ci_high"], 3), "ConsCustomers": latex_number(customers, 6),
        "ConsReplications": str(replications),
    })


def _clock_poll(ctx: Context):
    from ..analytic.clock import filtered_offset_error
    from ..figures import plot_clock_poll
    from .paper_runs import clock_paths, clock_poll_scenario

    hours, replications, polls = ctx.size.clock
    n_vms = 10
    df = _sweep(ctx, "clock_poll", clock_poll_scenario, {"poll": list(polls), "hours": [hours], "n_vms": [n_vms]},
                replications)
    est = _estimates(df, ["poll"])
    rms = est[(est["metric"] == "clock_offset_rms") & (est["group"] == "all")]
    floor = float(np.sqrt(filtered_offset_error(*clock_paths(), 8)[1]))
    table = pd.DataFrame({"poll_s": rms["poll"].to_numpy(), "rms_s": rms["value"].to_numpy(),
                          "ci_low_s": rms["ci_low"].to_numpy(), "ci_high_s": rms["ci_high"].to_numpy(),
                          "floor_s": floor})
    ctx.table("clock_poll", table)
    ctx.figure("clock_poll", lambda ax: plot_clock_poll(ax, table))
    ctx.numbers("clock_poll", {
        "ClockFloor": latex_number(floor * 1e6, 3), "ClockShortPoll": f"{min(polls):g}",
        "ClockLongPoll": f"{max(polls):g}", "ClockRmsShort": latex_number(table["rms_s"].iloc[0] * 1e6, 3),
        "ClockRmsLong": latex_number(table["rms_s"].iloc[-1] * 1e6, 3), "ClockHours": f"{hours:g}",
        "ClockReplications": str(replications), "ClockVMs": str(n_vms),
    })


def _needs(ctx: Context, item: str, names) -> bool:
    from .. import data

    missing = [n for n in names if not data.available(n)]
    if missing:
        ctx.say(f"  SKIPPED {item}: needs the real datasets {missing}, which are not here "
                f"(set VIRTMODEL_DATA or run `virtmodel data fetch NAME`); its earlier outputs, if any, are kept")
        return False
    return True


def _azure(ctx: Context):
    from ..figures import plot_azure_blocking
    from .paper_runs import AZURE_HOST, AZURE_METHODS, azure_point, azure_trace

    if not _needs(ctx, "azure_blocking", ["azure_v1"]):
        return False
    df = _sweep(ctx, "azure_blocking", azure_point, {"hosts": list(ctx.size.azure_hosts),
                                                     "method": list(AZURE_METHODS)}, 1)
    est = _estimates(df, ["hosts", "method"])
    table = est[est["metric"] == "blocking_probability"][["hosts", "method", "value"]].rename(
        columns={"value": "blocking_probability"}).reset_index(drop=True)
    wide = table.pivot(index="hosts", columns="method", values="blocking_probability").reset_index()
    ctx.table("azure_blocking", table, latex_table(wide, [
        ("hosts", "hosts", str), ("first_fit", "first fit", latex_number), ("dot_product", "dot product", latex_number),
        ("kaufman_roberts_pooled", "K--R pooled", latex_number)]))
    requests = int(azure_trace().arrival_times.size)
    ctx.figure("azure_blocking", lambda ax: plot_azure_blocking(
        ax, table, host_label=f"hosts ({AZURE_HOST[0]} vCPU, {AZURE_HOST[1]:g} GB each)", requests=requests),
        height=2.7)
    at = wide.set_index("hosts")
    hosts = 1000 if 1000 in at.index else int(at.index[len(at) // 2])
    ctx.numbers("azure_blocking", {
        "AzureHosts": latex_number(hosts, 6), "AzureFirstFit": latex_number(at.loc[hosts, "first_fit"], 2),
        "AzureDotProduct": latex_number(at.loc[hosts, "dot_product"], 2),
        "AzurePooled": latex_number(at.loc[hosts, "kaufman_roberts_pooled"], 2),
        "AzureSmallHosts": latex_number(int(at.index[0]), 6),
        "AzureSmallFirstFit": latex_number(at["first_fit"].iloc[0], 2),
        "AzureRequests": latex_number(requests, 6),
        "AzureHostCpus": str(AZURE_HOST[0]), "AzureHostMemory": f"{AZURE_HOST[1]:g}",
    })
    return True


def _callcentre(ctx: Context):
    from .. import data
    from ..figures import plot_callcentre
    from .callcentre_data import hourly_erlang_table

    if not _needs(ctx, "callcentre", ["bank_callcenter"]):
        return False
    ctx.say("  callcentre: computed from the bank call-centre data (no simulation, nothing to reuse)")
    table = hourly_erlang_table(data.load("bank_callcenter"))
    days = table.attrs["days"]
    table = table.reset_index()
    ctx.table("callcentre", table, latex_table(table, [
        ("hour", "hour", str), ("calls", "calls", str), ("offered_load", "load", lambda v: f"{v:.1f}"),
        ("agents", "$c$", str), ("agents_effective", r"$c_\mathrm{eff}$", str),
        ("measured_wait", "wait", lambda v: f"{v:.0f}"), ("fitted_wait", "Erl.~A", lambda v: f"{v:.0f}"),
        ("measured_abandonment", "P(ab.)", lambda v: f"{v:.3f}"),
        ("fitted_abandonment", "Erl.~A", lambda v: f"{v:.3f}")]))
    ctx.figure("callcentre", lambda ax: plot_callcentre(ax, table))
    err = (table["fitted_wait"] / table["measured_wait"] - 1).abs()
    c_err = (table["erlang_c_fitted_wait"] / table["measured_wait"] - 1).abs()
    ctx.numbers("callcentre", {
        "BankDays": str(days), "BankCalls": latex_number(table["calls"].sum(), 6), "BankHours": str(len(table)),
        "BankCountedUnder": str(int((table["erlang_a_wait"] < 0.5 * table["measured_wait"]).sum())),
        "BankStaffRatio": latex_number((table["agents_effective"] / table["agents"]).median(), 2),
        "BankFitWithin": str(int((err < 0.25).sum())),
        "BankFitMedianErr": latex_number(100 * err.median(), 2) + "\\,\\%",
        "BankFitWorstErr": latex_number(100 * err.max(), 2) + "\\,\\%",
        "BankErlangCUnstable": str(int(np.isinf(table["erlang_c_fitted_wait"]).sum())),
        "BankErlangCMedianErr": latex_number(100 * c_err[np.isfinite(c_err)].median(), 2) + "\\,\\%",
    })
    return True


def _clock_data(ctx: Context):
    from .. import data
    from ..figures import plot_nist_bound
    from .clock_data import gnss_chain_hops, nist_delay_bound

    if not _needs(ctx, "clock_data", ["chrony_pps_nist", "gnss_chrony_chain"]):
        return False
    ctx.say("  clock_data: computed from the NIST and GNSS clock data (no simulation, nothing to reuse)")
    nist = nist_delay_bound(data.load("chrony_pps_nist"))
    ctx.table("nist_bound", nist[["time", "source", "offset_s", "peer_delay_s", "bound_s", "local_error_s",
                                  "offset_error_s", "within_raw", "within"]])
    ctx.figure("nist_bound", lambda ax: plot_nist_bound(ax, nist))
    chain = gnss_chain_hops(data.load("gnss_chrony_chain"))
    us = lambda v: f"{v * 1e6:.1f}"  # noqa: E731
    ctx.table("gnss_chain", chain, latex_table(chain, [
        ("host", "host", None), ("measured_mean_s", "mean", us), ("measured_sd_s", "sd", us),
        ("predicted_sd_s", "sd, indep.", us), ("predicted_sd_with_covariance_s", "sd, cov.", us),
        ("hop_correlation_with_upstream", "corr.", lambda v: "" if np.isnan(v) else f"{v:.2f}")]))
    last = chain.iloc[-1]
    ctx.numbers("clock_data", {
        "NistTotal": str(len(nist)), "NistWithinRaw": str(int(nist["within_raw"].sum())),
        "NistWithin": str(int(nist["within"].sum())),
        "NistMedianOffset": latex_number(nist["offset_s"].median() * 1e3, 2),
        "GnssHosts": str(len(chain)), "GnssSeconds": latex_number(chain["seconds"].iloc[0], 6),
        "GnssLastMeasuredSd": latex_number(last["measured_sd_s"] * 1e6, 3),
        "GnssLastPredictedSd": latex_number(last["predicted_sd_s"] * 1e6, 3),
        "GnssLastCorr": latex_number(last["hop_correlation_with_upstream"], 2),
    })
    return True


def _derivations(ctx: Context):
    from ..symbolic import derive

    ctx.say(f"  derivations: {len(DERIVATIONS)} written from vm.derive(name).latex() (no simulation)")
    for name in DERIVATIONS:
        d = derive(name)
        header = f"% vm.derive({name!r}).latex(), written by virtmodel reproduce\n"
        ctx.put(f"derivations/{name.replace('.', '-')}.tex", (header + d.latex() + "\n").encode())


#: the items in the order they run: name -> (function, what it makes)
ITEMS = {
    "derivations": (_derivations, "the derivations shown in the paper"),
    "validation": (_validation, "validation table (per area) and figure"),
    "slowdown": (_slowdown, "slowdown against job size, four policies"),
    "consolidation": (_consolidation, "consolidation gain, dedicated against pooled pCPUs"),
    "clock_poll": (_clock_poll, "NTP clock error against poll interval"),
    "azure_blocking": (_azure, "cluster blocking on the Azure V1 trace (real data)"),
    "callcentre": (_callcentre, "bank call centre against Erlang A (real data)"),
    "clock_data": (_clock_data, "NIST delta/2 bound and GNSS chain (real data)"),
}


def _gather_numbers(ctx: Context):
    parts = []
    for item in ITEMS:
        path = ctx.out / "tables" / f"numbers-{item}.tex"
        if path.exists():
            parts.append(f"\\input{{tables/numbers-{item}}}")
    header = "% every number the paper's text quotes, from virtmodel reproduce (one file per item)\n"
    ctx.put("tables/numbers.tex", (header + "\n".join(parts) + "\n").encode())


def reproduce(out="paper", store=None, size="default", only=None, workers=None) -> Context:
    """Run the items (all, or those named in ``only``) and write their figures and tables under ``out``.

    Parameters
    ----------
    out : path-like
        Output root: ``figures/``, ``tables/`` and ``derivations/`` below it.
    store : path-like, optional
        Root of the sweep stores; default ``data/reproduce/<size name>``.
    size : str or Size
        ``"quick"``, ``"default"`` or a :class:`Size`.
    only : iterable of str, optional
        Item names (:data:`ITEMS`).
    workers : int, optional
        Processes for the sweeps (default: up to 2); results do not depend on it.

    Returns
    -------
    Context
        ``written``, ``unchanged`` (paths) and ``log`` (the lines printed).
    """
    if isinstance(size, str):
        if size not in SIZES:
            raise InvalidParameter(f"size must be one of {sorted(SIZES)} or a Size, got {size!r}")
        size = SIZES[size]
    names = list(ITEMS) if not only else list(only)
    unknown = [n for n in names if n not in ITEMS]
    if unknown:
        raise InvalidParameter(f"only must name items among {list(ITEMS)}, got {unknown}")
    workers = min(2, os.cpu_count() or 1) if workers is None else int(workers)
    if workers < 1:
        raise InvalidParameter(f"workers must be >= 1, got {workers}")
    out = Path(out)
    ctx = Context(size=size, out=out, store=Path(store) if store else Path("data", "reproduce", size.name),
                  workers=workers)
    ctx.say(f"virtmodel reproduce: {size.name} size, items {', '.join(names)}; outputs under {out}/, "
            f"sweep stores under {ctx.store}/")
    skipped = ctx.skipped
    for name in ITEMS:
        if name not in names:
            continue
        fn, what = ITEMS[name]
        ctx.say(f"[{name}] {what}")
        if fn(ctx) is False:
            skipped.append(name)
    _gather_numbers(ctx)
    ctx.say(f"done: wrote {len(ctx.written)} file(s), {len(ctx.unchanged)} unchanged"
            + (f"; SKIPPED (no data): {', '.join(skipped)}" if skipped else ""))
    return ctx


# --------------------------------------------------------------------------- command line


def _main(args) -> int:
    try:
        reproduce(out=args.out, store=args.store, size="quick" if args.quick else "default", only=args.only,
                  workers=args.workers)
    except InvalidParameter as exc:
        print(f"virtmodel reproduce: error: {exc}", file=sys.stderr)
        return 2
    return 0


def add_reproduce_parser(sub) -> None:
    """``virtmodel reproduce [--quick] [--only NAME ...] [--out DIR] [--store DIR] [--workers N]``."""
    r = sub.add_parser("reproduce", help="rebuild every figure and table of the paper (paper/figures, paper/tables)")
    r.add_argument("--quick", action="store_true",
                   help="short runs (CI: a few minutes on 2 cores); default: the paper's sizes")
    r.add_argument("--only", action="append", choices=list(ITEMS), metavar="NAME",
                   help=f"only this item (repeatable): {', '.join(ITEMS)}")
    r.add_argument("--out", default="paper", help="output root: figures/, tables/, derivations/ (default paper)")
    r.add_argument("--store", default=None,
                   help="root of the sweep stores that reruns reuse (default data/reproduce/quick or /default)")
    r.add_argument("--workers", type=int, default=None, help="processes (default up to 2; results do not depend on it)")
    r.set_defaults(func=_main)
