"""Readers that turn each dataset's files into tidy, typed, sorted pandas DataFrames.

Conventions of every frame returned by :func:`virtmodel.data.load`:

- units are in the column names (``_s`` seconds, ``_ns`` nanoseconds, ``_pct``
  percent, ``_mhz``, ``_kb``, ``_kb_per_s``, ``_gb``, ``_ppm``, ``_us``); a
  column without a suffix is a count, a label or dimensionless;
- rows are sorted (the sort key is in ``frame.attrs["sorted_by"]``) and the
  index is a fresh ``RangeIndex``;
- ``frame.attrs`` holds ``dataset``, ``citation``, ``licence``, ``source``
  and any counts of what the loader dropped or flagged.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._lazy import lazy
from ..errors import InvalidParameter
from ._errors import CorruptDataFile
from ._registry import Dataset

pd = lazy("pandas")

__all__ = ["LOADERS", "OPTIONS", "check_options", "exact_offset_delay", "decimal_to_ns"]

LOADERS: dict[str, Callable] = {}
OPTIONS: dict[str, tuple[str, ...]] = {}


def _loader(name: str, options: tuple[str, ...] = ()):
    def register(fn):
        LOADERS[name] = fn
        OPTIONS[name] = options
        return fn
    return register


def check_options(name: str, options: dict) -> None:
    """Raise InvalidParameter for an option ``load(name)`` does not accept or a bad value."""
    allowed = OPTIONS[name]
    bad = sorted(set(options) - set(allowed))
    if bad:
        raise InvalidParameter(f"load({name!r}) got unknown option(s) {bad}; it accepts "
                               f"{list(allowed) if allowed else 'none'}")
    if "form" in options and options["form"] not in ("long", "wide"):
        raise InvalidParameter(f"form must be 'long' or 'wide', got {options['form']!r}")
    if options.get("vms") is not None:
        vms = options["vms"]
        vms = [vms] if isinstance(vms, int | np.integer) else list(vms)
        if not vms or not all(isinstance(v, int | np.integer) and 1 <= v <= 50 for v in vms):
            raise InvalidParameter(f"vms must be a non-empty list of integers 1..50, got {options['vms']!r}")


#: with pandas' ParserError and EmptyDataError, added where a file is read (pandas is loaded lazily)
_READ_ERRORS = (ValueError, TypeError, KeyError, OSError, EOFError, zlib.error, UnicodeDecodeError, IndexError)


class _reading:
    """Context manager: any parse error becomes CorruptDataFile naming the file."""

    def __init__(self, dataset: Dataset, path: Path):
        self.dataset, self.path = dataset, path

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        read_errors = (*_READ_ERRORS, pd.errors.ParserError, pd.errors.EmptyDataError)
        if exc_type is not None and issubclass(exc_type, read_errors) and not issubclass(exc_type, CorruptDataFile):
            raise CorruptDataFile(
                f"{self.path}: cannot be read as dataset {self.dataset.name!r} ({exc_type.__name__}: {exc}); "
                f"the file is corrupt or not the published version: delete it and run "
                f"`virtmodel data fetch {self.dataset.name}`") from exc
        return False


def _check_columns(path: Path, found, expected) -> None:
    found = [str(c).strip() for c in found]
    if found != list(expected):
        raise CorruptDataFile(f"{path}: columns {found} differ from the documented {list(expected)}")


def _finish(frame: pd.DataFrame, dataset: Dataset, sorted_by, **extra) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    frame.attrs.update({
        "dataset": dataset.name, "title": dataset.title, "citation": dataset.citation,
        "licence": dataset.licence,
        "source": (f"github.com/{dataset.repository}@{dataset.commit}" if dataset.fetchable else dataset.recipe),
        "sorted_by": list(sorted_by), **extra})
    return frame



def decimal_to_ns(text: pd.Series) -> np.ndarray:
    """Exact integer nanoseconds of decimal strings such as ``"1539402146.440543305"`` or ``"+0.000001192"``.

    Up to nine decimals are kept exactly (no float rounding); more raise
    ``ValueError``.

    >>> decimal_to_ns(pd.Series(["1539402146.440543305", "-0.5", "+0.000001192", "7"])).tolist()
    [1539402146440543305, -500000000, 1192, 7000000000]
    """
    s = pd.Series(text, dtype=str).str.strip()
    sign = np.where(s.str.startswith("-"), -1, 1).astype(np.int64)
    body = s.str.lstrip("+-")
    parts = body.str.split(".", n=1, expand=True)
    if parts.shape[1] == 1:
        parts[1] = ""
    frac = parts[1].fillna("")
    if (frac.str.len() > 9).any():
        raise ValueError("more than 9 decimals cannot be held in integer nanoseconds")
    whole = parts[0].astype(np.int64).to_numpy()
    frac_ns = frac.str.ljust(9, "0").astype(np.int64).to_numpy()
    return sign * (whole * 1_000_000_000 + frac_ns)


# --------------------------------------------------------------------------- queueing


_BANK_COLUMNS = ("vru+line", "call_id", "customer_id", "priority", "type", "date", "vru_entry", "vru_exit",
                 "vru_time", "q_start", "q_exit", "q_time", "outcome", "ser_start", "ser_exit", "ser_time",
                 "server")


def _seconds_of_day(col: pd.Series) -> np.ndarray:
    hms = col.str.split(":", expand=True)
    if hms.shape[1] != 3:
        raise ValueError(f"times must be h:mm:ss, got e.g. {col.iloc[0]!r}")
    h, m, s = (hms[i].astype(np.int64).to_numpy() for i in range(3))
    return h * 3600 + m * 60 + s


@_loader("bank_callcenter")
def _bank(dataset: Dataset, paths: list[Path], **options) -> pd.DataFrame:
    (path,) = paths
    with _reading(dataset, path):
        raw = pd.read_csv(path, sep="\t", dtype=str, compression="gzip", keep_default_na=False)
        _check_columns(path, raw.columns, _BANK_COLUMNS)
        date = pd.to_datetime(raw["date"], format="%y%m%d").to_numpy()
        entry = _seconds_of_day(raw["vru_entry"])
        out = pd.DataFrame({
            "vru_line": raw["vru+line"].astype(str),
            "call_id": raw["call_id"].astype(np.int64),
            "customer_id": raw["customer_id"].astype(str),  # a few are Excel-mangled ("6.02701E+11")
            "priority": raw["priority"].astype(np.int8),
            "type": raw["type"].astype("category"),
            "outcome": raw["outcome"].astype("category"),
            "server": raw["server"].astype("category"),
        })
        tods = {col: _seconds_of_day(raw[col])
                for col in ("vru_entry", "vru_exit", "q_start", "q_exit", "ser_start", "ser_exit")}
        for col, tod in tods.items():
            next_day = tod < entry - 43_200  # more than 12 h before the VRU entry: after midnight
            when = date + ((tod + 86_400 * next_day) * 1_000_000_000).astype("timedelta64[ns]")
            if col.startswith(("q_", "ser_")):  # a stage whose start and end are both 0:00:00 did not happen
                stage = col.split("_")[0]
                absent = (tods[f"{stage}_start"] == 0) & (tods[f"{stage}_exit"] == 0)
                when = np.where(absent, np.datetime64("NaT"), when)
            out[col] = pd.to_datetime(when)
        for col in ("vru_time", "q_time", "ser_time"):
            out[col + "_s"] = raw[col].astype(np.int64)
    out["queued"] = out["q_start"].notna().to_numpy()
    out["served"] = (out["outcome"] == "AGENT").to_numpy()
    out["abandoned"] = ((out["outcome"] == "HANG") & out["queued"]).to_numpy()
    out = out.sort_values(["vru_entry", "vru_line", "call_id"], kind="mergesort")
    return _finish(out, dataset, ["vru_entry", "vru_line", "call_id"],
                   time_zone="local time of the call centre (Israel), naive datetimes")


@_loader("aircraft_arrivals")
def _aircraft(dataset: Dataset, paths: list[Path], **options) -> pd.DataFrame:
    (path,) = paths
    with _reading(dataset, path):
        raw = pd.read_csv(path)
        _check_columns(path, raw.columns, ["arrival_s"])
        arrival = np.sort(raw["arrival_s"].astype(np.int64).to_numpy(), kind="stable")
    out = pd.DataFrame({"arrival_s": arrival, "gap_s": np.diff(arrival, prepend=np.nan)})
    return _finish(out, dataset, ["arrival_s"], origin="16:00 local time")


@_loader("babyboom")
def _babyboom(dataset: Dataset, paths: list[Path], **options) -> pd.DataFrame:
    (path,) = paths
    with _reading(dataset, path):
        raw = pd.read_csv(path)
        _check_columns(path, raw.columns, ["clock.time", "gender", "wt", "running.time"])
        out = pd.DataFrame({
            "clock_time_hhmm": raw["clock.time"].astype(np.int64),
            "gender": raw["gender"].astype("category"),
            "weight_g": raw["wt"].astype(np.float64),
            "minutes_after_midnight": raw["running.time"].astype(np.int64),
        })
    out = out.sort_values("minutes_after_midnight", kind="mergesort")
    return _finish(out, dataset, ["minutes_after_midnight"])


# --------------------------------------------------------------------------- VM workloads


def _form(name: str, options: dict) -> str:
    return options.get("form", "long")


@_loader("planetlab", ("form",))
def _planetlab(dataset: Dataset, paths: list[Path], **options) -> pd.DataFrame:
    form = _form(dataset.name, options)
    (path,) = paths
    ucols = [f"u{i:03d}" for i in range(288)]
    with _reading(dataset, path):
        raw = pd.read_csv(path, dtype={"day": str, "vm": str})
        _check_columns(path, raw.columns, ["day", "vm", *ucols])
        raw["day"] = pd.to_datetime(raw["day"], format="%Y%m%d")
        values = raw[ucols].to_numpy()
        if not np.issubdtype(values.dtype, np.integer):
            raise ValueError("utilisations must be integers")
    raw = raw.sort_values(["day", "vm"], kind="mergesort")
    if form == "wide":
        raw[ucols] = raw[ucols].astype(np.int8)
        return _finish(raw, dataset, ["day", "vm"], form="wide", sample_period_s=300)
    values = raw[ucols].to_numpy(np.int8)
    n = len(raw)
    codes, cats = pd.factorize(raw["vm"], sort=True)
    t = np.tile(np.arange(288, dtype=np.int16), n)
    out = pd.DataFrame({
        "day": np.repeat(raw["day"].to_numpy(), 288),
        "vm": pd.Categorical.from_codes(np.repeat(codes, 288), categories=cats),
        "t_index_5min": t,
        "time_s": t.astype(np.int32) * 300,
        "cpu_util_pct": values.ravel(),
    })
    return _finish(out, dataset, ["day", "vm", "t_index_5min"], form="long", sample_period_s=300)


_BITBRAINS_COLUMNS = {
    "Timestamp [ms]": "time_unix_s", "CPU cores": "cpu_cores",
    "CPU capacity provisioned [MHZ]": "cpu_capacity_mhz", "CPU usage [MHZ]": "cpu_usage_mhz",
    "CPU usage [%]": "cpu_usage_pct", "Memory capacity provisioned [KB]": "mem_capacity_kb",
    "Memory usage [KB]": "mem_usage_kb", "Disk read throughput [KB/s]": "disk_read_kb_per_s",
    "Disk write throughput [KB/s]": "disk_write_kb_per_s",
    "Network received throughput [KB/s]": "net_rx_kb_per_s",
    "Network transmitted throughput [KB/s]": "net_tx_kb_per_s",
}


def _bitbrains_vm(path: Path) -> pd.DataFrame:
    # separator ";\t": split on ";" and skip the tab
    raw = pd.read_csv(path, sep=";", skipinitialspace=True)
    _check_columns(path, raw.columns, list(_BITBRAINS_COLUMNS))
    raw.columns = list(_BITBRAINS_COLUMNS.values())
    raw["time_unix_s"] = raw["time_unix_s"].astype(np.int64)
    raw["cpu_cores"] = raw["cpu_cores"].astype(np.int64)
    for col in raw.columns[2:]:
        raw[col] = raw[col].astype(np.float64)
    return raw


@_loader("bitbrains", ("vms", "drop_all_zero"))
def _bitbrains(dataset: Dataset, paths: list[Path], **options) -> pd.DataFrame:
    frames, dropped, all_zero = [], {}, []
    for path in paths:
        vm = int(path.name.split(".")[0])
        with _reading(dataset, path):
            one = _bitbrains_vm(path)
        n0 = len(one)
        one = one.drop_duplicates()  # exact duplicate rows (VM 20)
        one = one.drop_duplicates("time_unix_s", keep="first")
        if len(one) != n0:
            dropped[vm] = n0 - len(one)
        if (one["cpu_usage_mhz"] == 0).all():
            all_zero.append(vm)
        one.insert(0, "vm", np.int16(vm))
        frames.append(one)
    out = pd.concat(frames, ignore_index=True)
    if options.get("drop_all_zero", False) and all_zero:
        out = out[~out["vm"].isin(all_zero)]
    out.insert(2, "time", pd.to_datetime(out["time_unix_s"], unit="s", utc=True))
    out = out.sort_values(["vm", "time_unix_s"], kind="mergesort")
    return _finish(out, dataset, ["vm", "time_unix_s"], sample_period_s=300, duplicates_dropped=dropped,
                   all_zero_vms=all_zero)


@_loader("azure_v1")
def _azure(dataset: Dataset, paths: list[Path], **options) -> pd.DataFrame:
    path = paths[0]
    cols = ["bin_end_s", "tenant_batch", "flavor", "vcpus", "mem_gb", "censored_flag", "dur_bin",
            "dur_bin_lo_s", "dur_bin_hi_s"]
    with _reading(dataset, path):
        raw = pd.read_csv(path, dtype={"flavor": str, "censored_flag": str})
        _check_columns(path, raw.columns, cols)
        flag = raw["censored_flag"]
        if not flag.isin(["U", "C"]).all():
            raise ValueError(f"censored_flag must be U or C, got {sorted(set(flag) - {'U', 'C'})}")
        out = pd.DataFrame({
            "bin_end_s": raw["bin_end_s"].astype(np.int64),
            "tenant_batch": raw["tenant_batch"].astype(np.int64),
            "flavor": raw["flavor"].astype("category"),
            "vcpus": raw["vcpus"].astype(np.int16),
            "mem_gb": raw["mem_gb"].astype(np.float64),
            "censored": (flag == "C").to_numpy(),
            "dur_bin": raw["dur_bin"].astype(np.int16),
            "dur_bin_lo_s": raw["dur_bin_lo_s"].astype(np.int64),
            "dur_bin_hi_s": raw["dur_bin_hi_s"].astype(np.int64),
        })
    out = out.sort_values("bin_end_s", kind="mergesort")
    return _finish(out, dataset, ["bin_end_s"], bin_width_s=300)


@_loader("google_gcd", ("form",))
def _gcd(dataset: Dataset, paths: list[Path], **options):
    form = _form(dataset.name, options)
    path = paths[0]
    with _reading(dataset, path):
        raw = pd.read_csv(path, dtype={"vm": str})
        _check_columns(path, raw.columns, ["vm", "t_index_5min", "cpu_util_pct", "mem_util_pct"])
        raw["t_index_5min"] = raw["t_index_5min"].astype(np.int16)
        raw["cpu_util_pct"] = raw["cpu_util_pct"].astype(np.float64)
        raw["mem_util_pct"] = raw["mem_util_pct"].astype(np.float64)
    raw = raw.sort_values(["vm", "t_index_5min"], kind="mergesort")
    if form == "wide":
        wide = {}
        for col in ("cpu_util_pct", "mem_util_pct"):
            w = raw.pivot(index="vm", columns="t_index_5min", values=col)
            w.attrs.update({"dataset": dataset.name, "citation": dataset.citation, "values": col})
            wide[col] = w
        return wide
    raw["vm"] = raw["vm"].astype("category")
    return _finish(raw, dataset, ["vm", "t_index_5min"], sample_period_s=300)


# --------------------------------------------------------------------------- clock


@_loader("gnss_chrony_chain")
def _gnss(dataset: Dataset, paths: list[Path], **options) -> pd.DataFrame:
    path = paths[0]
    cols = ["host", "ref_time_unix", "sys_time_unix", "offset_s", "ltcy_us", "exec_us"]
    with _reading(dataset, path):
        raw = pd.read_csv(path, dtype={"host": str, "ref_time_unix": str, "sys_time_unix": str, "offset_s": str})
        _check_columns(path, raw.columns, cols)
        ref_ns, sys_ns = decimal_to_ns(raw["ref_time_unix"]), decimal_to_ns(raw["sys_time_unix"])
        # the logged offset was computed in float64 from absolute times: it may differ from the
        # exact ref - sys by multiples of ~238 ns (the float64 spacing at 1.6e9 s); keep both
        logged_minus_exact = decimal_to_ns(raw["offset_s"]) - (ref_ns - sys_ns)
        host = raw["host"]
        if not host.isin(["AS1", "AS2", "AS3", "AS4"]).all():
            raise ValueError(f"hosts must be AS1..AS4, got {sorted(set(host))}")
        out = pd.DataFrame({
            "host": pd.Categorical(host, categories=["AS1", "AS2", "AS3", "AS4"]),
            "hop": (host.str[2].astype(np.int8) - 1).to_numpy(),
            "ref_time_unix": raw["ref_time_unix"].astype(str),
            "sys_time_unix": raw["sys_time_unix"].astype(str),
            "ref_time_ns": ref_ns, "sys_time_ns": sys_ns, "offset_ns": ref_ns - sys_ns,
            "offset_s": raw["offset_s"].astype(np.float64),
            "ltcy_us": raw["ltcy_us"].astype(np.float64), "exec_us": raw["exec_us"].astype(np.float64),
        })
    out = out.sort_values(["host", "ref_time_ns"], kind="mergesort")
    return _finish(out, dataset, ["host", "ref_time_ns"],
                   offset_sign="offset = reference (GNSS) time - system time",
                   offset_logged_differs_rows=int((np.abs(logged_minus_exact) > 1).sum()),
                   offset_logged_minus_exact_max_ns=int(np.abs(logged_minus_exact).max(initial=0)))


@_loader("ntp_four_timestamps")
def _ntp(dataset: Dataset, paths: list[Path], **options) -> pd.DataFrame:
    (path,) = paths
    names = ["t1", "t2", "t3", "t4", "phi"]
    with _reading(dataset, path):
        raw = pd.read_csv(path, skiprows=3, header=None, names=names, dtype=str)
        if raw.isna().any().any():
            raise ValueError("rows with fewer than 5 fields")
        out = pd.DataFrame({c: raw[c].str.strip().astype(str) for c in names})
        for c in names[:4]:
            out[c + "_ns"] = decimal_to_ns(out[c])
        out["phi_s"] = out["phi"].astype(np.float64)
    out = out.sort_values("t1_ns", kind="mergesort")
    return _finish(out, dataset, ["t1_ns"],
                   timestamps="t1 client send, t2 server receive, t3 server send, t4 client receive (Unix s)")


def exact_offset_delay(frame: pd.DataFrame) -> pd.DataFrame:
    """NTP offset and delay of each exchange computed exactly from integer nanoseconds.

    offset = ((t2 - t1) + (t3 - t4)) / 2, delay = (t4 - t1) - (t3 - t2)
    (RFC 5905, section 8; Mills, *Computer Network Time Synchronization*).  The
    differences are taken in int64 nanoseconds, so no digit of the logged
    timestamps is lost; ``offset_ns`` is a multiple of 0.5 ns held exactly in
    a float64.

    Parameters
    ----------
    frame : DataFrame
        With integer columns ``t1_ns, t2_ns, t3_ns, t4_ns`` (as from
        ``load("ntp_four_timestamps")``).

    Returns
    -------
    DataFrame
        ``offset_ns`` (float64), ``delay_ns`` (int64), ``offset_s``, ``delay_s``
        (float64), same index as ``frame``.

    Examples
    --------
    >>> f = pd.DataFrame({"t1_ns": [0], "t2_ns": [1_000_000_001], "t3_ns": [1_000_000_002], "t4_ns": [10]})
    >>> exact_offset_delay(f)[["offset_ns", "delay_ns"]].iloc[0].tolist()
    [999999996.5, 9.0]
    """
    t1, t2, t3, t4 = (frame[c].to_numpy(np.int64) for c in ("t1_ns", "t2_ns", "t3_ns", "t4_ns"))
    twice_offset = (t2 - t1) + (t3 - t4)
    delay = (t4 - t1) - (t3 - t2)
    offset = twice_offset / 2.0  # exact: |twice_offset| < 2**53
    return pd.DataFrame({"offset_ns": offset, "delay_ns": delay, "offset_s": offset / 1e9,
                         "delay_s": delay / 1e9}, index=frame.index)


# chrony's log columns: chrony.conf(5) "log" directive; written by reference.c (tracking),
# ntp_core.c (measurements) and sourcestats.c (statistics).
CHRONY_COLUMNS = {
    "tracking": (
        ("date", str), ("time", str), ("reference", str), ("stratum", np.int16), ("freq_ppm", float),
        ("skew_ppm", float), ("offset_s", float), ("leap", str), ("combined_sources", np.int16),
        ("offset_sd_s", float), ("remaining_correction_s", float), ("root_delay_s", float),
        ("root_dispersion_s", float), ("max_error_s", float)),
    "measurements": (
        ("date", str), ("time", str), ("source", str), ("leap", str), ("stratum", np.int16),
        ("tests_123", str), ("tests_567", str), ("tests_abcd", str), ("local_poll_log2_s", np.int16),
        ("remote_poll_log2_s", np.int16), ("score", float), ("offset_s", float), ("peer_delay_s", float),
        ("peer_dispersion_s", float), ("root_delay_s", float), ("root_dispersion_s", float),
        ("refid", str), ("mode", str), ("tx_timestamp_source", str), ("rx_timestamp_source", str)),
    "statistics": (
        ("date", str), ("time", str), ("source", str), ("std_dev_s", float), ("est_offset_s", float),
        ("offset_sd_s", float), ("diff_freq", float), ("est_skew", float), ("stress", float),
        ("samples", np.int32), ("regression_start", np.int32), ("runs", np.int32), ("asymmetry", float)),
}
_CHRONY_LINE = re.compile(r"^\d{4}-\d\d-\d\d ")


def read_chrony_log(path: str | Path, kind: str) -> pd.DataFrame:
    """Parse one chrony log (``tracking``, ``measurements`` or ``statistics``; plain or ``.gz``).

    Banner and header lines (chrony repeats them every so often) are skipped;
    every data line must have the documented number of fields.  Returns a
    frame sorted by ``time`` (datetime64[ns, UTC]); ``offset_s`` of
    measurements is RFC 5905's theta (positive: local clock slow of the
    source); ``diff_freq`` and ``est_skew`` of statistics are dimensionless
    (seconds per second).
    """
    spec = CHRONY_COLUMNS[kind]
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        lines = [ln for ln in fh if _CHRONY_LINE.match(ln)]
    names = [n for n, _ in spec]
    raw = pd.read_csv(io.StringIO("".join(lines)), sep=r"\s+", header=None, dtype=str, engine="c")
    if raw.shape[1] != len(spec):
        raise ValueError(f"{kind} lines have {raw.shape[1]} fields, chrony documents {len(spec)}")
    raw.columns = names
    out = pd.DataFrame({"time": pd.to_datetime(raw["date"] + " " + raw["time"], format="%Y-%m-%d %H:%M:%S",
                                               utc=True)})
    for n, typ in spec[2:]:
        out[n] = raw[n].astype(str) if typ is str else raw[n].astype(typ)
    return out.sort_values("time", kind="mergesort").reset_index(drop=True)


@_loader("chrony_pps_nist")
def _chrony(dataset: Dataset, paths: list[Path], **options) -> dict[str, pd.DataFrame]:
    out = {}
    for path in paths:
        kind = path.name.split(".")[0]
        with _reading(dataset, path):
            frame = read_chrony_log(path, kind)
        out[kind] = _finish(frame, dataset, ["time"], log=kind)
    return out
