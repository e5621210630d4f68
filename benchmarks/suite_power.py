"""Power audit of the test suite: every interval a test compares, and the smallest error it detects.

A simulation-vs-theory test detects a relative error in an exact value only if that error is
larger than the relative half-width of the interval it is compared with (issue 18: the default
suite must detect 2 % in every mean delay it checks, the slow suite 1 %).  This tool runs pytest
with a recording plugin that is active only here (never in a normal ``pytest`` run): it wraps

* :meth:`virtmodel.sim.results.SimResult.ci` -- every interval a test asks for (metric, group,
  level, low, high, number of replication or batch means, which ``SimResult``);
* :func:`virtmodel.predict` and :meth:`Prediction.value` -- the exact values a test looked up,
  so an interval is measured against the exact value of the same (metric, group) that the test
  predicted last (else against the interval's own centre, marked ``vs centre``);
* :func:`virtmodel.experiments.compare.family_wise` -- the rows of family-wise comparison tables;
* :func:`virtmodel.sim.stats.student_t_interval` when a test calls it directly;

and appends one JSON line per interval to a file, plus one per test (outcome, seconds).  The
report then lists, per test, its widest relative half-width on a mean delay (``mean_wait``,
``mean_response``, ``work_weighted_wait`` and every other mean of a waiting, response, latency
or completion time) and on any other metric, **family-wise**: an interval a test takes at 95 %
is rescaled (Student-t quantile ratio) to the Bonferroni level ``1 - 0.05 / m`` over the test's
``m`` distinct 95 % rows; an interval at another level is the test's own family-wise one.  A
test that builds more than ``--coverage-results`` SimResults is marked ``[many runs]``: a coverage
test (many short experiments, each interval wide on purpose), random scenarios, or the mutation
catalogue (mutated runs included); its widest interval is not a power figure.

Usage (run test files one at a time on a shared machine; records are appended)::

    python3 benchmarks/suite_power.py run /tmp/audit.jsonl -- -m slow tests/sim/test_polling.py
    python3 benchmarks/suite_power.py report /tmp/audit.jsonl [--above 0.01] [--rows MATCH]

``run`` passes everything after ``--`` to pytest (``-p no:cacheprovider`` is added);
``report`` prints a markdown table (test, rows, level, widest mean-delay half-width and whether
it was measured against an exact value, widest other half-width, wall and CPU seconds (the
process and its worker pools), outcome); with
``--rows MATCH``, every interval of the tests whose id contains MATCH instead.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

#: words that make a metric a delay (a mean of waiting, response, latency or completion times)
DELAY_WORDS = ("wait", "response", "delay", "latency", "makespan", "ready", "completion", "start")
#: prefixes of quantile metrics (p50_..., p95_..., p99_...): reported apart from the means
QUANTILE_PREFIXES = ("p50_", "p90_", "p95_", "p99_")


#: delay metrics that are differences of mean delays (relative half-widths of a small difference)
DIFFERENCES = ("asymmetry",)


def is_mean_delay(metric: str) -> bool:
    """Whether ``metric`` is a mean delay (not a quantile, a difference, a count, a share or a rate)."""
    return (not metric.startswith(QUANTILE_PREFIXES) and any(w in metric for w in DELAY_WORDS)
            and not any(w in metric for w in DIFFERENCES))


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (worker pools)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class Recorder:
    """pytest plugin: records intervals and exact values per test into a JSON-lines file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.test = "(collection)"
        self.started = 0.0
        self.cpu_started = 0.0
        self._undo = []
        self._file = None
        self._exact = {}

    # ------------------------------------------------------------------ recording
    def _write(self, record: dict) -> None:
        record["test"] = self.test
        self._file.write(json.dumps(record, default=float) + "\n")

    def _interval(self, source, metric, group, level, low, high, n, result=None) -> None:
        exact = self._exact.get((metric, str(group)))
        self._write(dict(kind="interval", source=source, metric=metric, group=str(group), level=float(level),
                         low=float(low), high=float(high), n=None if n is None else int(n), result=result,
                         exact=exact))

    def _remember(self, prediction) -> None:
        if getattr(prediction, "exact", False):
            for row in prediction.values.itertuples(index=False):
                self._exact[row.metric, str(row.group)] = float(row.value)

    def _patch(self, owner, name, wrapper) -> None:
        original = getattr(owner, name)
        self._undo.append((owner, name, original))
        setattr(owner, name, wrapper(original))

    def pytest_configure(self, config) -> None:
        import virtmodel as vm
        from virtmodel.analytic import solve
        from virtmodel.experiments import compare as compare_module
        from virtmodel.sim import results, stats

        self._file = self.path.open("a")
        rec = self

        def ci(original):
            def wrapped(self, metric, group="all", level=0.95):
                low, high = original(self, metric, group, level)
                src = self.per_replication if self.replications >= 2 else self.batches
                n = int(((src["metric"] == metric) & (src["group"] == group)).sum())
                rec._interval("SimResult.ci", metric, group, level, low, high, n, result=id(self))
                return low, high
            return wrapped

        def predict(original):
            def wrapped(*args, **kwargs):
                prediction = original(*args, **kwargs)
                rec._remember(prediction)
                return prediction
            return wrapped

        def value(original):
            def wrapped(self, metric, group="all"):
                rec._remember(self)
                return original(self, metric, group)
            return wrapped

        def family_wise(original):
            def wrapped(table, level=0.95):
                out = original(table, level)
                for row in out.itertuples(index=False):
                    if bool(row.exact):
                        rec._exact[row.metric, str(getattr(row, "group", "all"))] = float(row.analytic)
                        rec._interval("family_wise", row.metric, getattr(row, "group", "all"), row.level,
                                      row.ci_low, row.ci_high, row.n)
                return out
            return wrapped

        def student_t(original):
            def wrapped(samples, level=0.95, **kwargs):
                iv = original(samples, level, **kwargs)
                caller = sys._getframe(1).f_code.co_filename
                if "/tests/" in caller.replace("\\", "/"):
                    rec._interval("student_t_interval", "(samples)", "-", iv.level, iv.low, iv.high, iv.n)
                return iv
            return wrapped

        self._patch(results.SimResult, "ci", ci)
        self._patch(solve.Prediction, "value", value)
        self._patch(solve, "predict", predict)
        self._patch(vm, "predict", predict)
        self._patch(compare_module, "family_wise", family_wise)
        self._patch(stats, "student_t_interval", student_t)

    def pytest_unconfigure(self, config) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()
        if self._file is not None:
            self._file.close()

    def pytest_runtest_setup(self, item) -> None:
        self.test = item.nodeid
        self._exact = {}
        self.started = time.perf_counter()
        self.cpu_started = cpu_seconds()

    def pytest_runtest_logreport(self, report) -> None:
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self._write(dict(kind="test", outcome=report.outcome, seconds=time.perf_counter() - self.started,
                             cpu=cpu_seconds() - self.cpu_started))
            self._file.flush()


# ---------------------------------------------------------------------- report


def _t_ratio(level_from: float, level_to: float, n: int) -> float:
    from scipy import stats

    if n is None or n < 2:
        return math.nan
    return stats.t.ppf(0.5 + level_to / 2, n - 1) / stats.t.ppf(0.5 + level_from / 2, n - 1)


def load(paths) -> list:
    """Records from one or more JSON-lines files (a later run of a test replaces an earlier one)."""
    by_test = defaultdict(list)
    for path in paths:
        current = defaultdict(list)
        for line in Path(path).read_text().splitlines():
            record = json.loads(line)
            current[record["test"]].append(record)
            if record["kind"] == "test":
                by_test[record["test"]] = current.pop(record["test"])
    return [r for records in by_test.values() for r in records]


def family_wise_rows(intervals) -> list[tuple[float, float, dict]]:
    """``(level, relative half-width, record)`` per interval of one test, at the family-wise level.

    An interval taken at 95 % is rescaled to ``1 - 0.05 / m`` over the test's ``m`` distinct 95 %
    rows; the half-width is relative to the exact value when the test predicted one for the same
    (metric, group), else to the interval's centre (nan when that is 0).
    """
    m95 = max(1, len({(r["result"], r["metric"], r["group"]) for r in intervals if r["level"] == 0.95}))
    out = []
    for r in intervals:
        half = (r["high"] - r["low"]) / 2
        level = r["level"]
        if level == 0.95 and m95 > 1:
            level = 1 - 0.05 / m95
            half *= _t_ratio(0.95, level, r["n"])
        ref = r["exact"] if r["exact"] else (r["high"] + r["low"]) / 2
        out.append((level, half / abs(ref) if ref else math.nan, r))
    return out


def audit(records, coverage_results: int = 20) -> list[dict]:
    """Per test: rows, level, widest family-wise relative half-width (mean delays / other), seconds."""
    tests = defaultdict(list)
    for r in records:
        tests[r["test"]].append(r)
    rows = []
    for test, recs in tests.items():
        intervals = [r for r in recs if r["kind"] == "interval"]
        done = [r for r in recs if r["kind"] == "test"]
        results = {r["result"] for r in intervals if r["result"] is not None}
        widest = {"delay": (0.0, None), "other": (0.0, None)}
        levels = set()
        for level, rel, r in family_wise_rows(intervals):
            levels.add(round(level, 6))
            if not math.isfinite(rel):
                continue
            key = "delay" if is_mean_delay(r["metric"]) else "other"
            if rel > widest[key][0]:
                widest[key] = (rel, r)
        rows.append(dict(test=test, intervals=len(intervals), results=len(results),
                         coverage=len(results) > coverage_results, levels=sorted(levels),
                         delay=widest["delay"][0], delay_row=widest["delay"][1],
                         other=widest["other"][0], other_row=widest["other"][1],
                         seconds=sum(d["seconds"] for d in done), cpu=sum(d.get("cpu", math.nan) for d in done),
                         outcome=",".join(d["outcome"] for d in done)))
    return rows


def _describe(row) -> str:
    if row is None:
        return "-"
    against = "exact" if row["exact"] else "vs centre"
    return f"{row['metric']}[{row['group']}] ({against})"


def report(paths, above: float = 0.0, coverage_results: int = 20) -> str:
    rows = audit(load(paths), coverage_results)
    lines = ["| test | intervals (SimResults) | level (family-wise) | widest mean delay | which | widest other "
             "| which | wall s | CPU s | outcome |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: r["test"]):
        if max(r["delay"], r["other"]) < above and not r["coverage"]:
            continue
        level = "-" if not r["levels"] else (f"{min(r['levels']):.5f}" if len(r["levels"]) == 1 else
                                             f"{min(r['levels']):.5f}-{max(r['levels']):.5f}")
        name = r["test"] + (" [many runs]" if r["coverage"] else "")
        lines.append(f"| {name} | {r['intervals']} ({r['results']}) | {level} | "
                     f"{r['delay']:.2%} | {_describe(r['delay_row'])} | {r['other']:.2%} | "
                     f"{_describe(r['other_row'])} | {r['seconds']:.1f} | {r['cpu']:.1f} | {r['outcome']} |")
    return "\n".join(lines)


def rows_report(paths, match: str) -> str:
    """Every interval of the tests whose id contains ``match``, at its family-wise level."""
    tests = defaultdict(list)
    for r in load(paths):
        if match in r["test"] and r["kind"] == "interval":
            tests[r["test"]].append(r)
    lines = []
    for test, intervals in tests.items():
        lines.append(f"{test}")
        for level, rel, r in family_wise_rows(intervals):
            against = "exact" if r["exact"] else "centre"
            lines.append(f"    {r['metric']:24s} {r['group']:12s} level {level:.5f} n {r['n']} "
                         f"half-width {rel:.2%} (vs {against})")
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    pytest_args = []
    if "--" in argv:
        cut = argv.index("--")
        argv, pytest_args = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run pytest with the recorder; arguments for pytest after --")
    run.add_argument("out", type=Path, help="JSON-lines file the records are appended to")
    rep = sub.add_parser("report", help="per-test table of the widest family-wise relative half-widths")
    rep.add_argument("records", type=Path, nargs="+")
    rep.add_argument("--above", type=float, default=0.0, help="list only tests with a half-width above this")
    rep.add_argument("--coverage-results", type=int, default=20,
                     help="a test with more SimResults than this is marked [many runs]")
    rep.add_argument("--rows", metavar="MATCH", help="every interval of the tests whose id contains MATCH")
    args = parser.parse_args(argv)
    if args.command == "run":
        import pytest

        return int(pytest.main(["-p", "no:cacheprovider", *pytest_args], plugins=[Recorder(args.out)]))
    print(rows_report(args.records, args.rows) if args.rows else
          report(args.records, args.above, args.coverage_results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
