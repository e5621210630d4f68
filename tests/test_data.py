"""virtmodel.data: every loader on the real files, fetch over HTTP, and bad input.

The loader tests read the reference copy through the ``data_loaded`` fixture
(tests/conftest.py): they skip, saying why, when ``VIRTMODEL_DATA`` is unset
and the cache is empty.  Expected counts and ranges are those of
../shared/data/README.md (and, where the README is silent, measured once on
the reference copy and stated here).
"""

from __future__ import annotations

import gzip
import hashlib
import shutil

import numpy as np
import pandas as pd
import pytest

import virtmodel as vm
from virtmodel import data
from virtmodel.data._registry import gzip_bytes
from virtmodel.errors import InvalidParameter, VirtmodelError

# --------------------------------------------------------------------------- registry


def test_registry_lists_every_file_of_the_reference_copy_once():
    paths = [f.path for d in data.DATASETS.values() for f in d.files]
    assert len(paths) == len(set(paths)) == 67  # every file of ../shared/data except its README
    from virtmodel.data._registry import _MANIFEST

    assert set(paths) == set(_MANIFEST)
    for d in data.DATASETS.values():
        assert d.citation and d.licence and d.title and d.returns
        for f in d.files:
            assert len(f.sha256) == 64
            assert (f.content_sha256 is not None) == f.path.endswith(".gz")
        if d.fetchable:
            assert len(d.commit) == 40
            assert d.url("a/b.txt") == f"https://raw.githubusercontent.com/{d.repository}/{d.commit}/a/b.txt"
    assert not data.info("aircraft_arrivals").fetchable


def test_gzip_bytes_reproduces_the_reference_copy(data_dir):
    """A gzip-recipe file fetched from its original is byte-identical to the reference copy."""
    f = data.info("bitbrains").file("14.csv.gz")  # 57 kB
    raw = gzip.decompress((data_dir / f.path).read_bytes())
    assert hashlib.sha256(gzip_bytes(raw, f.name[:-3])).hexdigest() == f.sha256


# --------------------------------------------------------------------------- loaders on the real files


def test_bank_callcenter(data_loaded):
    calls = data_loaded("bank_callcenter")
    assert len(calls) == 33_344  # README
    assert calls["vru_entry"].is_monotonic_increasing
    assert not calls.duplicated(["vru_line", "call_id"]).any()  # the key (call_id alone repeats)
    assert calls["call_id"].dtype == np.int64 and calls["priority"].dtype == np.int8
    for col in ("vru_entry", "vru_exit", "q_start", "q_exit", "ser_start", "ser_exit"):
        assert pd.api.types.is_datetime64_any_dtype(calls[col])
    assert calls["vru_entry"].min() >= pd.Timestamp("1999-02-01")
    assert calls["vru_entry"].max() < pd.Timestamp("1999-03-01")
    served = calls[calls["served"]]
    assert len(served) == 27_162  # "about 27,000 served calls"
    assert served["ser_time_s"].mean() == pytest.approx(176.35, abs=0.01)  # "mean service about 176 s"
    assert served["ser_time_s"].median() == 107  # "median 107 s"
    assert 0.5 < calls["queued"].mean() < 0.6  # "a little over half queued" (0.549)
    # stages that did not happen are NaT, never midnight
    assert calls.loc[~calls["queued"], "q_exit"].isna().all()
    # times after midnight are on the next day: every recorded service interval has its logged length
    s = calls.dropna(subset=["ser_start", "ser_exit"])
    assert ((s["ser_exit"] - s["ser_start"]).dt.total_seconds() == s["ser_time_s"]).all()
    q = calls.dropna(subset=["q_start", "q_exit"])
    assert ((q["q_exit"] - q["q_start"]).dt.total_seconds() == q["q_time_s"]).all()
    assert set(calls["outcome"].cat.categories) == {"AGENT", "HANG", "PHANTOM"}
    assert calls["abandoned"].sum() > 0 and not (calls["abandoned"] & calls["served"]).any()


def test_aircraft_arrivals(data_loaded):
    a = data_loaded("aircraft_arrivals")
    assert len(a) == 213 and a["arrival_s"].is_monotonic_increasing
    gaps = a["gap_s"].dropna()
    assert gaps.std() / gaps.mean() == pytest.approx(0.94, abs=0.01)  # "CV ~0.94"


def test_babyboom(data_loaded):
    b = data_loaded("babyboom")
    assert len(b) == 44 and b["minutes_after_midnight"].is_monotonic_increasing
    assert b["minutes_after_midnight"].between(0, 1440).all()
    assert set(b["gender"].cat.categories) == {"boy", "girl"}
    assert b["weight_g"].between(1000, 5000).all()
    hhmm = b["clock_time_hhmm"]
    assert ((hhmm // 100) * 60 + hhmm % 100 == b["minutes_after_midnight"]).all()


def test_planetlab(data_loaded):
    p = data_loaded("planetlab")
    assert len(p) == 11_746 * 288  # 11,746 VM-days of 288 five-minute samples
    assert p["cpu_util_pct"].dtype == np.int8 and p["cpu_util_pct"].between(0, 100).all()
    per_day = p.groupby("day", observed=True)["vm"].nunique()
    assert len(per_day) == 10 and per_day.min() == 898 and per_day.max() == 1_516  # README
    assert per_day.index.min() >= pd.Timestamp("2011-03-01") and per_day.index.max() < pd.Timestamp("2011-05-01")
    assert (p["time_s"] == 300 * p["t_index_5min"].astype(np.int32)).all()
    wide = data_loaded("planetlab", form="wide")
    assert wide.shape == (11_746, 290)
    first = wide.iloc[0]
    np.testing.assert_array_equal(p["cpu_util_pct"].to_numpy()[:288], first.iloc[2:].to_numpy(np.int8))


def test_bitbrains(data_loaded):
    b = data_loaded("bitbrains")
    assert b["vm"].nunique() == 50
    assert b.groupby("vm")["time_unix_s"].apply(lambda s: s.is_monotonic_increasing).all()
    assert not b.duplicated(["vm", "time_unix_s"]).any()
    assert b.attrs["duplicates_dropped"] == {20: 4_158}  # 4,156 exact copies + 2 differing rows
    assert len(b) == 413_169 - 4_158
    # Unix seconds (not ms as the header says): the month of July 2013 (CEST)
    assert b["time"].min() >= pd.Timestamp("2013-06-30 22:00", tz="UTC")
    assert b["time"].max() < pd.Timestamp("2013-08-01", tz="UTC")
    assert b["cpu_usage_pct"].between(0, 110).all() and (b["cpu_usage_mhz"] >= 0).all()
    assert b["cpu_cores"].dtype == np.int64 and b["cpu_cores"].max() == 32
    assert b.attrs["all_zero_vms"] == []  # none in this copy (the README mentions two)
    sub = vm.data.load("bitbrains", directory=data.data_dir(), vms=[3, 1])
    assert sorted(sub["vm"].unique()) == [1, 3]


def test_azure_v1(data_loaded):
    a = data_loaded("azure_v1")
    assert len(a) == 410_276 and a["bin_end_s"].is_monotonic_increasing
    assert (a["bin_end_s"] % 300 == 0).all()
    assert a["vcpus"].between(1, 16).all() and a["mem_gb"].between(0.75, 112).all()
    assert (a["dur_bin_lo_s"] <= a["dur_bin_hi_s"]).all()
    assert a["censored"].dtype == bool and 0 < a["censored"].mean() < 0.1  # 23,311 censored


def test_google_gcd(data_loaded):
    g = data_loaded("google_gcd")
    assert len(g) == 1_600 * 288 and g["vm"].nunique() == 1_600
    assert g["cpu_util_pct"].between(5, 90).all()  # filtered to 5-90 % CPU at the source
    assert (g["mem_util_pct"] > 100).sum() == 613  # "a few memory values exceed 100 %"
    assert g["cpu_util_pct"].mean() == pytest.approx(21.84, abs=0.01)  # source README: mean 21.84
    wide = data_loaded("google_gcd", form="wide")
    assert wide["cpu_util_pct"].shape == (1_600, 288)


def test_gnss_chrony_chain(data_loaded):
    g = data_loaded("gnss_chrony_chain")
    assert len(g) == 90_198 and list(g["host"].cat.categories) == ["AS1", "AS2", "AS3", "AS4"]
    assert g["ref_time_ns"].dtype == np.int64
    assert (g["offset_ns"] == g["ref_time_ns"] - g["sys_time_ns"]).all()
    # exact: the text has 9 decimals and the integers keep every digit
    row = g.iloc[0]
    assert str(row["ref_time_ns"]) == row["ref_time_unix"].replace(".", "")
    stats = g.groupby("host", observed=True)["offset_ns"].agg(["mean", "std"]) / 1e3  # us
    # README: offset mean/SD about 60/43, 116/141, 224/160 us along the chain
    for host, (mean, sd) in {"AS2": (60, 43), "AS3": (116, 141), "AS4": (224, 160)}.items():
        assert stats.loc[host, "mean"] == pytest.approx(mean, abs=1)
        assert stats.loc[host, "std"] == pytest.approx(sd, abs=1)
    hours = g.groupby("host", observed=True)["ref_time_ns"].agg(lambda s: (s.max() - s.min()) / 3.6e12)
    assert hours.between(6, 6.5).all()  # "about 6 h", one sample a second


def test_ntp_four_timestamps_kept_exactly(data_loaded):
    n = data_loaded("ntp_four_timestamps")
    assert len(n) == 1_528 and n["t1_ns"].is_monotonic_increasing
    assert n["t1"].iloc[0] == "1539402146.440543305" and n["t1_ns"].iloc[0] == 1_539_402_146_440_543_305
    exact = data.exact_offset_delay(n)
    deviation = (exact["offset_s"] - n["phi_s"]).abs()
    # README: the exact formula differs from the logged phi by at most 2.06e-7 s
    assert deviation.max() <= 2.06e-7 + 5e-10
    assert deviation.max() > 1e-7  # ...and the float64 rounding of the tool is visible
    assert (exact["delay_s"] > 0).all()


def test_chrony_pps_nist(data_loaded):
    logs = data_loaded("chrony_pps_nist")
    assert set(logs) == {"tracking", "measurements", "statistics"}
    m, t, s = logs["measurements"], logs["tracking"], logs["statistics"]
    assert len(m) == 467 and len(t) == 13_062 and len(s) == 26_563
    for frame, kind in ((t, "tracking"), (m, "measurements"), (s, "statistics")):
        assert frame["time"].is_monotonic_increasing
        assert list(frame.columns) == ["time", *[c for c, _ in data.CHRONY_COLUMNS[kind][2:]]]
    assert set(m["source"]) == {"129.6.15.28", "129.6.15.29"}  # NIST time servers
    assert (m["peer_delay_s"] > 0).all() and m["offset_s"].abs().median() < 0.005
    assert (m["offset_s"].abs() > 0.1).sum() == 3  # three outliers, as logged (one of 11.75 s)
    assert m["time"].dt.year.eq(2021).all() and m["time"].dt.month.eq(12).all()
    assert "PPS" in set(t["reference"]) and t["stratum"].between(0, 16).all()


# --------------------------------------------------------------------------- bad input


def test_unknown_dataset_lists_close_matches():
    with pytest.raises(data.UnknownDataset, match=r"did you mean 'bitbrains'") as err:
        data.load("bitbrain")
    assert isinstance(err.value, VirtmodelError) and "known datasets" in str(err.value)
    with pytest.raises(data.UnknownDataset, match="chrony_pps_nist"):
        data.info("chrony")


def test_missing_file_says_how_to_fetch(tmp_path):
    with pytest.raises(data.DataFileMissing, match=r"virtmodel data fetch ntp_four_timestamps") as err:
        data.load("ntp_four_timestamps", directory=tmp_path)
    assert "clock/ntp_four_timestamps_2018/measurements.log" in str(err.value)
    with pytest.raises(data.NoFetcher, match="no public source"):
        data.load("aircraft_arrivals", directory=tmp_path)


def _copy(data_dir, tmp_path, name):
    d = data.info(name)
    for f in d.files:
        target = tmp_path / f.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data_dir / f.path, target)
    return [tmp_path / f.path for f in d.data_files]


def test_corrupt_file_is_refused_naming_it(data_dir, tmp_path):
    (log,) = _copy(data_dir, tmp_path, "ntp_four_timestamps")
    raw = bytearray(log.read_bytes())
    raw[500] = ord("7") if raw[500] != ord("7") else ord("8")  # one digit changed
    log.write_bytes(bytes(raw))
    with pytest.raises(data.ChecksumMismatch, match="measurements.log") as err:
        data.load("ntp_four_timestamps", directory=tmp_path)
    assert "virtmodel data fetch ntp_four_timestamps" in str(err.value)


def test_truncated_gzip_is_a_corrupt_file(data_dir, tmp_path):
    paths = _copy(data_dir, tmp_path, "chrony_pps_nist")
    raw = paths[1].read_bytes()
    paths[1].write_bytes(raw[: len(raw) // 2])
    with pytest.raises(data.ChecksumMismatch, match="measurements.log.gz"):
        data.load("chrony_pps_nist", directory=tmp_path)
    with pytest.raises(data.CorruptDataFile, match="measurements.log.gz"):
        data.load("chrony_pps_nist", directory=tmp_path, verify=False)


def test_recompressed_gzip_is_the_same_data(data_dir, tmp_path):
    """A .gz whose compressed bytes differ but whose content is the published one is accepted."""
    (log,) = _copy(data_dir, tmp_path, "bank_callcenter")
    log.write_bytes(gzip.compress(gzip.decompress(log.read_bytes()), compresslevel=1))
    assert len(data.load("bank_callcenter", directory=tmp_path)) == 33_344


def test_bad_options():
    with pytest.raises(InvalidParameter, match="unknown option"):
        data.load("ntp_four_timestamps", colour="red")
    with pytest.raises(InvalidParameter, match="form must be"):
        data.load("planetlab", form="tall")
    with pytest.raises(InvalidParameter, match="vms must be"):
        data.load("bitbrains", vms=[0, 51])
