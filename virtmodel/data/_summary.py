"""Small derived tables of the real datasets, for data/ (notebooks and the paper read them).

Regenerate with ``VIRTMODEL_DATA=/path/to/data virtmodel data summary --out data``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["summary", "key_figures", "write_summaries"]


def _frames(directory=None):
    from . import DATASETS, load

    for name in DATASETS:
        loaded = load(name, directory=directory)
        frames = loaded if isinstance(loaded, dict) else {"": loaded}
        for table, frame in frames.items():
            yield name, table, frame


def _span(frame: pd.DataFrame) -> tuple[str, str]:
    for col in ("time", "vru_entry", "day"):
        if col in frame and pd.api.types.is_datetime64_any_dtype(frame[col]):
            return str(frame[col].min()), str(frame[col].max())
    for col in ("time_unix_s",):
        if col in frame:
            t = pd.to_datetime(frame[col], unit="s", utc=True)
            return str(t.min()), str(t.max())
    for col in ("ref_time_ns", "t1_ns"):
        if col in frame:
            t = pd.to_datetime(frame[col], unit="ns", utc=True)
            return str(t.min()), str(t.max())
    return "", ""


def summary(directory: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per loaded table: dataset, table, rows, columns, time span, licence, source."""
    from . import info

    rows = []
    for name, table, frame in _frames(directory):
        d = info(name)
        start, end = _span(frame)
        rows.append({"dataset": name, "table": table or name, "rows": len(frame), "columns": frame.shape[1],
                     "time_start": start, "time_end": end, "licence": d.licence,
                     "source": f"github.com/{d.repository}@{d.commit}" if d.fetchable else d.recipe})
    return pd.DataFrame(rows)


def key_figures(directory: str | os.PathLike | None = None) -> pd.DataFrame:
    """The numbers the data README quotes, recomputed from the files: dataset, quantity, value, unit, definition."""
    from . import exact_offset_delay, load

    out = []

    def add(dataset, quantity, value, unit, definition):
        out.append({"dataset": dataset, "quantity": quantity, "value": float(value), "unit": unit,
                    "definition": definition})

    calls = load("bank_callcenter", directory=directory)
    served = calls[calls["served"]]
    queued = calls[calls["queued"]]
    add("bank_callcenter", "calls", len(calls), "", "rows of the file")
    add("bank_callcenter", "served_calls", len(served), "", "outcome AGENT")
    add("bank_callcenter", "mean_service", served["ser_time_s"].mean(), "s", "mean ser_time of served calls")
    add("bank_callcenter", "median_service", served["ser_time_s"].median(), "s", "median ser_time of served calls")
    add("bank_callcenter", "fraction_queued", calls["queued"].mean(), "", "calls with a queue stage / all calls")
    add("bank_callcenter", "abandonment_fraction_of_queued", queued["abandoned"].mean(), "",
        "queued calls that hung up (HANG) / queued calls")
    add("bank_callcenter", "mean_wait_of_queued", queued["q_time_s"].mean(), "s", "mean q_time of queued calls")
    for name in ("aircraft_arrivals", "babyboom"):
        frame = load(name, directory=directory)
        t = frame["arrival_s"] if name == "aircraft_arrivals" else frame["minutes_after_midnight"]
        gaps = np.diff(t.to_numpy(float))
        unit = "s" if name == "aircraft_arrivals" else "min"
        add(name, "arrivals", len(t), "", "rows")
        add(name, "mean_gap", gaps.mean(), unit, "mean time between consecutive arrivals")
        add(name, "cv_gap", gaps.std(ddof=1) / gaps.mean(), "", "coefficient of variation of the gaps")
    p = load("planetlab", directory=directory)
    add("planetlab", "vm_days", len(p) // 288, "", "VM-day series of 288 samples")
    add("planetlab", "mean_cpu_util", p["cpu_util_pct"].mean(), "%", "mean over all samples")
    b = load("bitbrains", directory=directory)
    add("bitbrains", "vms", b["vm"].nunique(), "", "")
    add("bitbrains", "samples", len(b), "", "rows after duplicates were dropped")
    add("bitbrains", "mean_cpu_usage", b["cpu_usage_pct"].mean(), "%", "mean CPU usage [%] over all samples")
    a = load("azure_v1", directory=directory)
    add("azure_v1", "vm_requests", len(a), "", "rows")
    add("azure_v1", "censored_fraction", a["censored"].mean(), "", "right-censored lifetimes / all")
    add("azure_v1", "mean_vcpus", a["vcpus"].mean(), "vCPU", "")
    add("azure_v1", "arrival_rate", len(a) / (a["bin_end_s"].max() - a["bin_end_s"].min() + 300), "1/s",
        "requests / span of the arrival bins")
    g = load("google_gcd", directory=directory)
    add("google_gcd", "vms", g["vm"].nunique(), "", "")
    add("google_gcd", "mean_cpu_util", g["cpu_util_pct"].mean(), "%", "")
    add("google_gcd", "mean_mem_util", g["mem_util_pct"].mean(), "%", "")
    add("google_gcd", "mem_values_over_100", (g["mem_util_pct"] > 100).sum(), "", "as in the source")
    gn = load("gnss_chrony_chain", directory=directory)
    for host, grp in gn.groupby("host", observed=True):
        add("gnss_chrony_chain", f"{host}_mean_offset", grp["offset_ns"].mean() / 1e3, "us", "exact ref - sys")
        add("gnss_chrony_chain", f"{host}_sd_offset", grp["offset_ns"].std() / 1e3, "us", "exact ref - sys")
    n = load("ntp_four_timestamps", directory=directory)
    ex = exact_offset_delay(n)
    add("ntp_four_timestamps", "exchanges", len(n), "", "rows")
    add("ntp_four_timestamps", "max_abs_exact_minus_logged_phi", (ex["offset_s"] - n["phi_s"]).abs().max(), "s",
        "((t2-t1)+(t3-t4))/2 in integer ns vs the logged phi")
    add("ntp_four_timestamps", "median_delay", ex["delay_s"].median(), "s", "(t4-t1)-(t3-t2)")
    m = load("chrony_pps_nist", directory=directory)["measurements"]
    add("chrony_pps_nist", "nist_measurements", len(m), "", "rows of measurements.log")
    add("chrony_pps_nist", "median_abs_offset", m["offset_s"].abs().median(), "s", "NTP offset vs a PPS-true clock")
    add("chrony_pps_nist", "median_peer_delay", m["peer_delay_s"].median(), "s", "")
    return pd.DataFrame(out)


def write_summaries(out: str | os.PathLike = "data", directory: str | os.PathLike | None = None) -> list[Path]:
    """Write ``datasets_summary.csv`` and ``dataset_key_figures.csv`` into ``out``; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "datasets_summary.csv", out / "dataset_key_figures.csv"]
    summary(directory).to_csv(paths[0], index=False, lineterminator="\n")
    key_figures(directory).to_csv(paths[1], index=False, float_format="%.10g", lineterminator="\n")
    return paths
