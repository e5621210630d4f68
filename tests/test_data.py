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


def _stock_zlib() -> bool:
    """False for zlib-ng and the like, which compress differently from the zlib that wrote the reference copy."""
    import zlib

    return "ng" not in zlib.ZLIB_RUNTIME_VERSION


def test_gzip_bytes_reproduces_the_reference_copy(data_dir):
    """A gzip-recipe file fetched from its original is byte-identical to the reference copy."""
    import zlib

    if not _stock_zlib():
        pytest.skip(f"zlib {zlib.ZLIB_RUNTIME_VERSION} compresses differently from stock zlib; fetched .gz "
                    "files are then checked on their decompressed bytes")
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
    measurements = _copy(data_dir, tmp_path, "chrony_pps_nist")[1]
    measurements.write_bytes(gzip.compress(gzip.decompress(measurements.read_bytes()), compresslevel=1))
    assert len(data.load("chrony_pps_nist", directory=tmp_path)["measurements"]) == 467


def test_bad_options():
    with pytest.raises(InvalidParameter, match="unknown option"):
        data.load("ntp_four_timestamps", colour="red")
    with pytest.raises(InvalidParameter, match="form must be"):
        data.load("planetlab", form="tall")
    with pytest.raises(InvalidParameter, match="vms must be"):
        data.load("bitbrains", vms=[0, 51])


# --------------------------------------------------------------------------- fetch over HTTP on 127.0.0.1


class _Server:
    """A copy of the originals laid out as BASE/OWNER/REPO/COMMIT/PATH, served by http.server in a thread."""

    def __init__(self, root):
        import http.server
        import threading

        self.root, self.requests = root, []
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def log_message(self, *args):  # quiet; remember what was asked
                server.requests.append(self.path)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def original(self, name, source_path):
        d = data.info(name)
        return self.root / d.repository / d.commit / source_path

    def publish(self, name, data_dir):
        """Serve the originals of ``name``'s as-is and gzip files, recovered from the reference copy."""
        for f in data.info(name).files:
            raw = (data_dir / f.path).read_bytes()
            if f.recipe == "gzip":
                raw = gzip.decompress(raw)
            target = self.original(name, f.source_path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(raw)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server(tmp_path):
    srv = _Server(tmp_path / "served")
    yield srv
    srv.close()


def _leftovers(root):
    """Everything under the data directory: staging folders and partial files included."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_fetch_over_http_gives_the_published_bytes(data_dir, server, tmp_path):
    server.publish("chrony_pps_nist", data_dir)  # three gzip-of-original files
    server.publish("ntp_four_timestamps", data_dir)  # one as-is file
    cache = tmp_path / "cache"
    for name in ("chrony_pps_nist", "ntp_four_timestamps"):
        got = data.fetch(name, directory=cache, base_url=server.url, timeout=10)
        for f, p in zip(data.info(name).files, got, strict=True):
            raw = p.read_bytes()
            if f.content_sha256 is not None:
                assert hashlib.sha256(gzip.decompress(raw)).hexdigest() == f.content_sha256
            if f.content_sha256 is None or _stock_zlib():
                assert hashlib.sha256(raw).hexdigest() == f.sha256  # byte for byte, gzip included
    assert _leftovers(cache) == sorted(f.path for n in ("chrony_pps_nist", "ntp_four_timestamps")
                                       for f in data.info(n).files)
    assert len(data.load("chrony_pps_nist", directory=cache)["measurements"]) == 467
    # present and correct: nothing downloaded again
    asked = len(server.requests)
    data.fetch("ntp_four_timestamps", directory=cache, base_url=server.url, timeout=10)
    assert len(server.requests) == asked


def test_fetch_refuses_bytes_that_differ_and_writes_nothing(data_dir, server, tmp_path, monkeypatch):
    server.publish("chrony_pps_nist", data_dir)
    bad = server.original("chrony_pps_nist", "demo_files/measurements.log")
    bad.write_bytes(bad.read_bytes().replace(b"129.6.15.28", b"129.6.15.99", 1))
    cache = tmp_path / "cache"
    monkeypatch.setenv(data.BASE_URL_VAR, server.url)  # the environment variable works too
    with pytest.raises(data.ChecksumMismatch, match=r"demo_files/measurements\.log") as err:
        data.fetch("chrony_pps_nist", directory=cache, timeout=10)
    assert "Nothing was written" in str(err.value)
    assert _leftovers(cache) == []  # tracking.log.gz (good) was not moved in either: all or nothing
    assert not any(cache.iterdir())  # no staging folder left behind


def test_fetch_replaces_a_corrupt_cached_file(data_dir, server, tmp_path):
    server.publish("ntp_four_timestamps", data_dir)
    cache = tmp_path / "cache"
    (p,) = data.fetch("ntp_four_timestamps", directory=cache, base_url=server.url, timeout=10)
    p.write_bytes(p.read_bytes()[:1000])
    with pytest.raises(data.ChecksumMismatch):
        data.load("ntp_four_timestamps", directory=cache)
    data.fetch("ntp_four_timestamps", directory=cache, base_url=server.url, timeout=10)
    assert len(data.load("ntp_four_timestamps", directory=cache)) == 1_528


@pytest.mark.slow
def test_fetch_rebuilds_gcd_by_its_recipe(data_dir, server, tmp_path, monkeypatch):
    """google_gcd (about 25 s): the recipe turns GCD_VMs.tar.gz into the long CSV, byte for byte.

    The served archive is rebuilt from the reference copy (1,600 members of 288 lines, in the
    order of the CSV), so its own sha256 is not the published archive's: the test registers it.
    """
    import io
    import tarfile

    from virtmodel.data import _recipes

    d = data.info("google_gcd")
    long = pd.read_csv(data_dir / d.file("gcd_vms_long.csv.gz").path, dtype=str)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for vm_name, rows in long.groupby("vm", sort=False):
            body = "".join(f"{c} {m}\n" for c, m in zip(rows["cpu_util_pct"], rows["mem_util_pct"], strict=True))
            info = tarfile.TarInfo(f"GCD_VMs/{vm_name}")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body.encode()))
    archive = server.original("google_gcd", "GCD_VMs.tar.gz")
    archive.parent.mkdir(parents=True)
    archive.write_bytes(buf.getvalue())
    server.original("google_gcd", "README.md").write_bytes((data_dir / d.file("README.md").path).read_bytes())
    monkeypatch.setitem(_recipes.SOURCE_SHA256[d.repository], "GCD_VMs.tar.gz",
                        hashlib.sha256(buf.getvalue()).hexdigest())
    cache = tmp_path / "cache"
    got = data.fetch("google_gcd", directory=cache, base_url=server.url, timeout=10)
    f = d.file("gcd_vms_long.csv.gz")
    assert hashlib.sha256(gzip.decompress(got[0].read_bytes())).hexdigest() == f.content_sha256
    assert len(data.load("google_gcd", directory=cache)) == 1_600 * 288


def _rda(name, columns):
    """A gzip-compressed R version-2 XDR .rda holding one data frame (the subset R writes for babyboom)."""
    import struct

    def ints(*v):
        return struct.pack(f">{len(v)}i", *v)

    def char(s):
        return ints(0x40009, len(s)) + s.encode()

    def sym(s):
        return ints(1) + char(s)

    def strings(values):
        return ints(16, len(values)) + b"".join(char(v) for v in values)

    def attributes(pairs):  # pairlist of (tag, value) ending in NILVALUE
        return b"".join(ints(2 | 1 << 10) + sym(tag) + value for tag, value in pairs) + ints(254)

    def column(values):
        if isinstance(values[0], float):
            return ints(14, len(values)) + struct.pack(f">{len(values)}d", *values)
        levels = sorted(set(values))
        codes = [levels.index(v) + 1 for v in values]
        return (ints(13 | 1 << 8 | 1 << 9, len(codes), *codes)
                + attributes([("levels", strings(levels)), ("class", strings(["factor"]))]))

    n = len(next(iter(columns.values())))
    frame = (ints(19 | 1 << 8 | 1 << 9, len(columns)) + b"".join(column(v) for v in columns.values())
             + attributes([("names", strings(list(columns))), ("row.names", ints(13, 2, -2**31, -n)),
                           ("class", strings(["data.frame"]))]))
    body = b"RDX2\nX\n" + ints(2, 0x40201, 0x20300) + ints(2 | 1 << 10) + sym(name) + frame + ints(254)
    return gzip.compress(body)


def test_fetch_rebuilds_a_derived_file_by_its_recipe(data_dir, server, tmp_path, monkeypatch):
    """babyboom: the recipe converts data/babyboom.rda to the CSV, byte for byte, over HTTP.

    The served .rda is written from the reference CSV by ``_rda`` above, so its sha256 is not the
    published file's: the test registers it.  (The recipe was also checked against the real
    cran/UsingR file at the registered commit; see data/README.md.)
    """
    from virtmodel.data import _recipes

    d = data.info("babyboom")
    csv = pd.read_csv(data_dir / d.files[0].path)
    rda = _rda("babyboom", {c: (csv[c].astype(float).tolist() if c != "gender" else csv[c].tolist())
                            for c in csv.columns})
    target = server.original("babyboom", "data/babyboom.rda")
    target.parent.mkdir(parents=True)
    target.write_bytes(rda)
    monkeypatch.setitem(_recipes.SOURCE_SHA256["cran/UsingR"], "data/babyboom.rda", hashlib.sha256(rda).hexdigest())
    cache = tmp_path / "cache"
    (got,) = data.fetch("babyboom", directory=cache, base_url=server.url, timeout=10)
    assert hashlib.sha256(got.read_bytes()).hexdigest() == d.files[0].sha256
    assert len(data.load("babyboom", directory=cache)) == 44
    # an .rda whose bytes differ from the registered ones is refused before the recipe runs
    target.write_bytes(_rda("babyboom", {"wt": [1.0]}))
    with pytest.raises(data.ChecksumMismatch, match="babyboom.rda"):
        data.fetch("babyboom", directory=tmp_path / "other", base_url=server.url, timeout=10)
    assert _leftovers(tmp_path / "other") == []


def test_fetch_errors(server, tmp_path):
    with pytest.raises(data.NoFetcher, match="no public source"):
        data.fetch("aircraft_arrivals", directory=tmp_path)
    with pytest.raises(data.DataError, match=r"could not download .*404"):  # nothing published
        data.fetch("ntp_four_timestamps", directory=tmp_path / "cache", base_url=server.url, timeout=10)
    assert _leftovers(tmp_path / "cache") == []
    with pytest.raises(data.UnknownDataset, match="did you mean 'babyboom'"):
        data.fetch("baby_boom", directory=tmp_path)


# --------------------------------------------------------------------------- command line


def test_cli_list_info_path(capsys, tmp_path):
    from virtmodel.cli import main

    assert main(["data", "--dir", str(tmp_path), "list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in data.names())
    assert max(len(line) for line in out.splitlines()[:-1]) <= 80  # readable at 80 columns
    assert main(["data", "--dir", str(tmp_path), "info", "ntp_four_timestamps"]) == 0
    out = capsys.readouterr().out
    assert "MarcosPernica/AnalisisNTP4 @" in out and "b99831210a8bbd49bda2498d8140fd97ef54272e" in out
    assert "dd257087ed6e15a6" in out and "absent" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert main(["data", "--dir", str(tmp_path), "path", "babyboom"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "queueing")
    assert main(["data", "info", "bitbrain"]) == 2
    assert "did you mean 'bitbrains'" in capsys.readouterr().err


def test_cli_fetch_and_verify(data_dir, server, tmp_path, capsys):
    from virtmodel.cli import main

    server.publish("ntp_four_timestamps", data_dir)
    cache = str(tmp_path / "cache")
    assert main(["data", "--dir", cache, "fetch", "ntp_four_timestamps", "--base-url", server.url]) == 0
    assert "1 file(s) present and checked" in capsys.readouterr().out
    assert main(["data", "--dir", cache, "verify", "ntp_four_timestamps"]) == 0
    assert "all match their sha256" in capsys.readouterr().out
    assert main(["data", "--dir", cache, "fetch", "aircraft_arrivals"]) == 2
    assert "no public source" in capsys.readouterr().err
    assert main(["data", "--dir", cache, "fetch"]) == 2  # neither names nor --all


@pytest.mark.slow
def test_committed_summary_tables_are_up_to_date(data_dir, tmp_path):
    """data/*.csv equal what `virtmodel data summary` writes from the real files (about 10 s)."""
    from pathlib import Path

    from virtmodel.data._summary import write_summaries

    repo_data = Path(__file__).resolve().parents[1] / "data"
    for path in write_summaries(tmp_path, directory=data_dir):
        assert path.read_text() == (repo_data / path.name).read_text(), path.name


def test_data_directory_is_the_env_var_else_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "copy"))
    assert data.data_dir() == tmp_path / "copy" == data.path()
    monkeypatch.delenv(data.ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # what pooch.os_cache honours on Linux
    import sys

    if sys.platform.startswith("linux"):
        assert data.data_dir() == tmp_path / "cache" / "virtmodel"
    assert data.data_dir(tmp_path / "explicit") == tmp_path / "explicit"


def test_chrony_banner_lines_are_skipped_and_field_counts_checked(tmp_path):
    """chrony repeats a banner every 32 lines (sourcestats.c: logwrites % 32); the parser skips it."""
    banner = "=" * 60 + "\n   Date (UTC) Time     IP Address   St   Freq ppm ...\n" + "=" * 60 + "\n"
    line = ("2021-12-19 05:00:{s:02d} PPS              1      4.417      0.067  1.094e-06 N  1  3.957e-07 "
            "-9.719e-12  1.000e-09  8.640e-06  2.516e-05\n")
    log = tmp_path / "tracking.log"
    log.write_text(banner + line.format(s=30) + banner + line.format(s=14))
    frame = data.read_chrony_log(log, "tracking")
    assert len(frame) == 2 and frame["time"].is_monotonic_increasing  # sorted
    assert frame["offset_s"].tolist() == [1.094e-06, 1.094e-06] and frame["stratum"].dtype == np.int16
    log.write_text(line.format(s=1).replace(" N  1 ", " N "))  # a field missing
    with pytest.raises(ValueError, match="13 fields, chrony documents 14"):
        data.read_chrony_log(log, "tracking")


def test_decimal_to_ns_is_exact_where_float64_is_not():
    """Integer nanoseconds of 'SSSSSSSSSS.NNNNNNNNN' strings, for any digits (hypothesis)."""
    from hypothesis import given
    from hypothesis import strategies as st

    @given(st.integers(0, 4_000_000_000), st.integers(0, 999_999_999), st.booleans())
    def check(seconds, nanos, negative):
        sign = "-" if negative else "+"
        text = f"{sign}{seconds}.{nanos:09d}"
        expected = (-1 if negative else 1) * (seconds * 1_000_000_000 + nanos)
        assert data.decimal_to_ns(pd.Series([text]))[0] == expected

    check()
    # what float64 would have done to the first NTP timestamp: 1539402146.440543305 -> ...305176 ns
    assert int(float("1539402146.440543305") * 1e9) != 1_539_402_146_440_543_305
