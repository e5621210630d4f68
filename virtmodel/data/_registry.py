"""The registry of real datasets: what each is, where it came from, its files and their sha256.

Every dataset here was written by people outside virtmodel and taken from a
public GitHub repository at a fixed commit (the provenance table of
``../shared/data/README.md``).  A file is either the original (``as_is``), the
original gzip-compressed (``gzip``, written with :func:`gzip_bytes`, which
reproduces the reference copy byte for byte), a reformatting of several
originals (``derived``, rebuilt by a recipe in :mod:`virtmodel.data._recipes`),
or has no public source (``none``).

The sha256 of every file is in ``files.sha256`` beside this module (two hashes
per file: the file as it sits in the reference copy, and for ``.gz`` files the
decompressed bytes).  Regenerate it from a verified copy with::

    python -m virtmodel.data._registry DIR > virtmodel/data/files.sha256
"""

from __future__ import annotations

import difflib
import gzip
import hashlib
import io
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ._errors import UnknownDataset

__all__ = ["DataFile", "Dataset", "DATASETS", "get", "names", "gzip_bytes", "manifest"]

RAW_URL = "https://raw.githubusercontent.com"
RECIPES = ("as_is", "gzip", "derived", "none")


def _read_manifest() -> dict[str, tuple[str, str | None]]:
    text = resources.files(__package__).joinpath("files.sha256").read_text()
    table = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        sha, content, path = line.split(maxsplit=2)
        table[path] = (sha, None if content == "-" else content)
    return table


_MANIFEST = _read_manifest()


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset.

    Attributes
    ----------
    path : str
        Path under the data directory (``VIRTMODEL_DATA`` or the cache), e.g.
        ``"clock/ntp_four_timestamps_2018/measurements.log"``.
    sha256 : str
        sha256 of the file's bytes in the reference copy.
    content_sha256 : str or None
        For a ``.gz`` file, sha256 of the decompressed bytes (for a ``gzip``
        recipe, the original file in the source repository).
    recipe : str
        ``"as_is"`` (the original), ``"gzip"`` (the original, gzip-compressed),
        ``"derived"`` (rebuilt from originals by the dataset's recipe) or
        ``"none"`` (no public source).
    source_path : str or None
        Path of the original in the dataset's repository (``as_is``/``gzip``).
    documentation : bool
        True for a README or licence kept beside the data; loaders do not read it.
    """

    path: str
    recipe: str
    source_path: str | None = None
    documentation: bool = False
    sha256: str = field(init=False)
    content_sha256: str | None = field(init=False)

    def __post_init__(self):
        if self.recipe not in RECIPES:
            raise ValueError(f"recipe must be one of {RECIPES}, got {self.recipe!r}")
        if self.recipe in ("as_is", "gzip") and not self.source_path:
            raise ValueError(f"{self.path}: recipe {self.recipe!r} needs source_path")
        sha, content = _MANIFEST[self.path]
        object.__setattr__(self, "sha256", sha)
        object.__setattr__(self, "content_sha256", content)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Dataset:
    """A real dataset: description, citation, licence, files and public source.

    Attributes
    ----------
    name : str
        Short name passed to :func:`virtmodel.data.load` and ``virtmodel data``.
    title : str
        One-line description.
    description : str
        What the data are, units, size, what virtmodel uses them for.
    citation : str
        The work to cite.
    licence : str
        Licence of the data as stated at the source ("none stated" when none).
    redistributable : bool
        False when no licence allows shipping the files: virtmodel never ships
        any dataset, and fetches these from their public home only.
    repository, commit : str or None
        GitHub ``owner/name`` and the 40-hex commit the files were taken from;
        None when there is no public source (then :func:`fetch` refuses).
    files : tuple of DataFile
    recipe : str
        How the files here were made from the originals.
    returns : str
        What :func:`virtmodel.data.load` returns for it.
    pitfalls : tuple of str
        Documented quirks of the files and what the loader does about them.
    """

    name: str
    title: str
    description: str
    citation: str
    licence: str
    redistributable: bool
    repository: str | None
    commit: str | None
    files: tuple[DataFile, ...]
    recipe: str
    returns: str
    pitfalls: tuple[str, ...] = ()

    def __post_init__(self):
        if (self.repository is None) != (self.commit is None):
            raise ValueError(f"{self.name}: repository and commit go together")
        if self.commit is not None and len(self.commit) != 40:
            raise ValueError(f"{self.name}: commit must be 40 hex digits, got {self.commit!r}")

    @property
    def data_files(self) -> tuple[DataFile, ...]:
        """The files a loader reads (documentation left out)."""
        return tuple(f for f in self.files if not f.documentation)

    @property
    def fetchable(self) -> bool:
        return self.repository is not None

    def url(self, source_path: str, base_url: str = RAW_URL) -> str:
        """``BASE/OWNER/REPO/COMMIT/PATH`` of an original file (GitHub's raw address scheme)."""
        if not self.fetchable:
            raise ValueError(f"dataset {self.name!r} has no public source")
        return f"{base_url.rstrip('/')}/{self.repository}/{self.commit}/{source_path}"

    def file(self, path_or_name: str) -> DataFile:
        for f in self.files:
            if path_or_name in (f.path, f.name):
                return f
        raise KeyError(path_or_name)


def _bitbrains_files() -> tuple[DataFile, ...]:
    return tuple(DataFile(f"vm_workload/bitbrains_rnd_2013-07/{i}.csv.gz", "gzip", f"rnd/2013-7/{i}.csv")
                 for i in range(1, 51))


_DATASETS = (
    Dataset(
        name="bank_callcenter",
        title="33,344 calls to an Israeli bank's call centre, February 1999 (Technion SEE)",
        description=(
            "One row per call: VRU (voice response unit) entry and exit, queue entry and exit, "
            "service start and end (times of day, 1 s resolution), priority, service type, outcome "
            "(AGENT served, HANG abandoned, PHANTOM) and agent. About 27,000 served calls, mean "
            "service about 176 s, median 107 s; a little over half queued. For arrival rates by hour, "
            "service and patience laws, and M/M/c, M/G/c and Erlang-A validation."),
        citation=(
            "Brown, L., Gans, N., Mandelbaum, A., Sakov, A., Shen, H., Zeltyn, S., Zhao, L. (2005). "
            "Statistical analysis of a telephone call center: a queueing-science perspective. "
            "Journal of the American Statistical Association 100(469), 36-50. Data: Technion Service "
            "Enterprise Engineering (SEE) Center, 'anonymous bank'; copy from github.com/mtpa/mtpa."),
        licence="none stated",
        redistributable=False,
        repository="mtpa/mtpa",
        commit="b279e0132b731d646fe084f6f573cb9b4c86cd2e",
        files=(DataFile("queueing/anonymous_bank_callcenter_feb1999/data_anonymous_bank_february.txt.gz",
                        "gzip", "MTPA_Chapter_6/data_anonymous_bank_february.txt"),),
        recipe="gzip of the original",
        returns=("DataFrame, one row per call, sorted by vru_entry: vru_line, customer_id (str), "
                 "call_id (int64), priority (int8), type, outcome, server (category); vru_entry, vru_exit, "
                 "q_start, q_exit, ser_start, ser_exit (datetime64, NaT where the call had no such stage); vru_time_s, "
                 "q_time_s, ser_time_s (int64 seconds as logged); queued (has a queue stage), served (outcome "
                 "AGENT), abandoned (outcome HANG after queueing) (bool)."),
        pitfalls=(
            "Times are times of day on the call's date; a time more than 12 h before the VRU entry is "
            "on the next day (calls that cross midnight), and the loader adds the day.",
            "A stage (queue, service) whose start and exit are both '0:00:00' did not happen: NaT. (One "
            "call, AA0102 31056, entered the queue at exactly midnight and is kept.)",
            "call_id is unique only within a vru_line: the key is (vru_line, call_id).",
            "21 customer_id values were mangled to floats by a spreadsheet (e.g. '6.02701E+11'): "
            "customer_id is kept as text, 0 meaning unidentified.",
            "About 25 calls have vru_exit before vru_entry (negative vru_time, as logged): kept as is.",
        ),
    ),
    Dataset(
        name="aircraft_arrivals",
        title="213 aircraft arrival times in one airspace sector (454LT), 1969 (Hsu, JASA 1979)",
        description=(
            "Arrival times in seconds after 16:00 of 213 aircraft entering one air-traffic sector; "
            "near-Poisson (coefficient of variation of the gaps about 0.94). For Poisson-process tests."),
        citation=(
            "Hsu, D. A. (1979). Detecting shifts of parameter in gamma sequences with applications to "
            "stock price and air traffic flow analysis. Journal of the American Statistical Association "
            "74(365), 31-40."),
        licence="published table (facts typed from the paper); no licence",
        redistributable=False,
        repository=None,
        commit=None,
        files=(DataFile("queueing/aircraft_arrivals_454LT_1969.csv", "none"),),
        recipe="typed from the paper's table; there is no fetcher",
        returns="DataFrame: arrival_s (int64 seconds after 16:00), gap_s (float, NaN for the first), sorted.",
    ),
    Dataset(
        name="babyboom",
        title="44 births in one 24-h day in a Brisbane hospital (Dunn 1999)",
        description=(
            "Time of birth (clock time hhmm and minutes after midnight), sex and weight [g] of 44 babies "
            "born on 18 December 1997. Textbook Poisson-process example."),
        citation=(
            "Dunn, P. K. (1999). A simple dataset for demonstrating common distributions. Journal of "
            "Statistics Education 7(3). Copy: R package UsingR (Verzani), data/babyboom.rda."),
        licence="GPL (>= 2) (UsingR package)",
        redistributable=True,
        repository="cran/UsingR",
        commit="2deca5c5bc723c83a61df26d06f43ae1fb073512",
        files=(DataFile("queueing/babyboom_dunn1999.csv", "derived"),),
        recipe=".rda converted to CSV (columns clock.time, gender, wt, running.time)",
        returns=("DataFrame sorted by minutes_after_midnight: clock_time_hhmm (int64), gender (category), "
                 "weight_g (float64), minutes_after_midnight (int64)."),
    ),
    Dataset(
        name="planetlab",
        title="CPU utilisation of PlanetLab VMs every 5 min, 10 days of March-April 2011 (CoMon/CloudSim)",
        description=(
            "CPU utilisation [%] of 898-1,516 PlanetLab VMs a day every 300 s over 24 h (288 samples), "
            "10 days, 11,746 VM-days; integers 0-99. The workload of Beloglazov & Buyya's dynamic VM "
            "consolidation study, as shipped with CloudSim's examples."),
        citation=(
            "Beloglazov, A., Buyya, R. (2012). Optimal online deterministic algorithms and adaptive "
            "heuristics for energy and performance efficient dynamic consolidation of virtual machines in "
            "cloud data centers. Concurrency and Computation: Practice and Experience 24(13), 1397-1420. "
            "Data: CoMon project (Park & Pai 2006) via CloudSim (Calheiros et al. 2011)."),
        licence="Apache-2.0 (CloudSim)",
        redistributable=True,
        repository="Cloudslab/cloudsim",
        commit="476ceef2c0ffe02e0b637bbeed4d6805dbd1707a",
        files=(DataFile("vm_workload/planetlab_comon_2011_cloudsim/planetlab_cpu_util_5min.csv.gz", "derived"),),
        recipe=("one row per file modules/cloudsim-examples/src/main/resources/workload/planetlab/DAY/VM "
                "(288 lines, one integer each): day, vm, u000..u287"),
        returns=("long DataFrame (form='long', default) sorted by day, vm, t_index_5min: day "
                 "(datetime64), vm (category), t_index_5min (int16), time_s (int32, seconds after "
                 "midnight), cpu_util_pct (int8); or form='wide': the file's day, vm, u000..u287."),
    ),
    Dataset(
        name="bitbrains",
        title="Bitbrains GWA-T-12 'Rnd': 50 VMs every 5 min, July 2013 (Shen, van Beek, Iosup 2015)",
        description=(
            "Per-VM resource use of 50 VMs of a managed-hosting provider every 300 s for a month: cores, "
            "CPU capacity and usage [MHz, %], memory capacity and usage [KB], disk and network "
            "throughput [KB/s]."),
        citation=(
            "Shen, S., van Beek, V., Iosup, A. (2015). Statistical characterization of business-critical "
            "workloads hosted in cloud datacenters. 15th IEEE/ACM CCGrid, 465-474. Grid Workloads "
            "Archive GWA-T-12 Bitbrains; copy from github.com/JessieRayeBauer/Time-Series-Forecasting-."),
        licence="BSD-2-Clause (repository of the copy)",
        redistributable=True,
        repository="JessieRayeBauer/Time-Series-Forecasting-",
        commit="0901a0da3024507c7732c782621e590077abca64",
        files=_bitbrains_files(),
        recipe="gzip of the originals rnd/2013-7/{1..50}.csv",
        returns=("long DataFrame sorted by vm, time_unix_s: vm (int16, 1..50), time_unix_s (int64), "
                 "time (datetime64[ns, UTC]), cpu_cores, cpu_capacity_mhz, cpu_usage_mhz, cpu_usage_pct, "
                 "mem_capacity_kb, mem_usage_kb, disk_read_kb_per_s, disk_write_kb_per_s, "
                 "net_rx_kb_per_s, net_tx_kb_per_s (float64; cpu_cores int64)."),
        pitfalls=(
            "Separator ';' followed by a tab ('; \\t'): read with sep=';' and skipinitialspace.",
            "The Timestamp column is Unix seconds despite the header's [ms].",
            "Rows are sorted by the loader (the README warns they may not be; in this copy they are).",
            "VM 20 has 4,156 exactly duplicated rows and 2 timestamps with differing rows (its CPU "
            "columns are zero from 2013-07-16 11:50 UTC on): exact duplicates are dropped, then "
            "the first row of each timestamp kept; attrs['duplicates_dropped'] counts them per VM.",
            "VMs whose CPU usage is zero throughout are listed in attrs['all_zero_vms'] (none in this "
            "copy although the README mentions two); drop_all_zero=True drops them.",
        ),
    ),
    Dataset(
        name="azure_v1",
        title="410,276 VM requests of Azure Public Dataset V1 (2017): arrivals, sizes, lifetimes",
        description=(
            "One row per VM request of the test split of Huawei Cloud's trace_generation_rnn processing "
            "of Azure's vmtable: 300-s arrival bin, tenant batch, flavour (1-16 vCPU, 0.75-112 GB), "
            "lifetime bin with its bounds [s] and whether it is right-censored. For admission (Erlang "
            "loss), placement and consolidation."),
        citation=(
            "Cortez, E., Bonde, A., Muzio, A., Russinovich, M., Fontoura, M., Bianchini, R. (2017). "
            "Resource Central: understanding and predicting workloads for improved resource management "
            "in large cloud platforms. SOSP '17, 153-167. Processed traces: Bergsma, S. et al. (2021), "
            "github.com/huaweicloud/trace_generation_rnn."),
        licence="CC-BY-4.0 (traces); MIT (code of the processing repository)",
        redistributable=True,
        repository="huaweicloud/trace_generation_rnn",
        commit="fa856db037539396ae5dbc71f5a255f74c888443",
        files=(
            DataFile("vm_workload/azure_v1_arrivals_lifetimes/v1.test_flat_derived.csv.gz", "derived"),
            DataFile("vm_workload/azure_v1_arrivals_lifetimes/flav_map.txt", "as_is", "resources/maps/flav_map.txt"),
            DataFile("vm_workload/azure_v1_arrivals_lifetimes/batch_size_map.txt", "as_is",
                     "resources/maps/batch_size_map.txt"),
            DataFile("vm_workload/azure_v1_arrivals_lifetimes/INPUT.md", "as_is", "INPUT.md", documentation=True),
            DataFile("vm_workload/azure_v1_arrivals_lifetimes/LICENSE", "as_is", "resources/traces/LICENSE",
                     documentation=True),
        ),
        recipe=("resources/traces/v1.test.txt and v1.test.c2591400.txt (plain text at this commit) "
                "flattened to one row per VM with resources/maps/flav_map.txt and v1.interval_map.txt (a bin's "
                "bounds are the least and greatest seconds mapped to it; see INPUT.md)"),
        returns=("DataFrame sorted by bin_end_s (file order within a bin): bin_end_s, tenant_batch, "
                 "flavor (category), vcpus, mem_gb, censored (bool), dur_bin, dur_bin_lo_s, dur_bin_hi_s."),
        pitfalls=("Lifetimes are known only to a bin [dur_bin_lo_s, dur_bin_hi_s]; a censored VM's bin "
                  "bounds the time it had run when the trace ended, not its lifetime.",),
    ),
    Dataset(
        name="google_gcd",
        title="1,600 'VMs' from Google cluster data 2011: CPU and memory every 5 min over 24 h",
        description=(
            "CPU and memory utilisation [%] of 1,600 VMs built from the Google cluster trace (tasks of a "
            "job summed every 5 min over 24 h, filtered to 5-90 % CPU). The one multi-resource per-VM "
            "set here."),
        citation=(
            "Reiss, C., Wilkes, J., Hellerstein, J. L. (2011). Google cluster-usage traces. VM set from "
            "'Virtual Machine Consolidation with Multiple Usage Prediction for Energy-Efficient Cloud "
            "Data Centers', IEEE Transactions on Services Computing (HiPro-IT)."),
        licence="none stated",
        redistributable=False,
        repository="HiPro-IT/CPU-and-Memory-resource-usage-from-Google-Cluster-Data",
        commit="327b8ce301d43fd09e0a6b63279edca0728d1af8",
        files=(
            DataFile("vm_workload/google_gcd_1600vm/gcd_vms_long.csv.gz", "derived"),
            DataFile("vm_workload/google_gcd_1600vm/README.md", "as_is", "README.md", documentation=True),
        ),
        recipe=("GCD_VMs.tar.gz (files GCD_VMs/vm_JOB_N: 288 lines 'cpu_pct mem_pct') to long format in "
                "archive order: vm, t_index_5min, cpu_util_pct, mem_util_pct (values printed with %g)"),
        returns=("long DataFrame sorted by vm, t_index_5min: vm (category), t_index_5min (int16), "
                 "cpu_util_pct, mem_util_pct (float64); form='wide' gives two vm x 288 frames in a dict."),
        pitfalls=("613 memory values exceed 100 % (up to 215 %) in the source: kept as is.",
                  "The derived file keeps 6 significant digits of the source's values (printf %g: "
                  "7.249499999999999 became 7.2495); the recipe does the same.",),
    ),
    Dataset(
        name="gnss_chrony_chain",
        title="True clock error of 4 PCs syncing in a chain over NTP (chrony) under CPU stress, 2021",
        description=(
            "Each PC measured once a second against its own GNSS card (Meinberg GNS181PEX) for about "
            "6 h while they synchronise in a chain AS1 (GNSS-fed root) <- AS2 <- AS3 <- AS4 over plain "
            "NTP with chrony (no hardware timestamps). Offset mean/SD grows along the chain (about "
            "60/43, 116/141, 224/160 us). For multi-hop synchronisation error."),
        citation=("Meier, F. (2021). ScionTimeExperiments, experiment 7 (ETH Zurich), "
                  "github.com/fimeier/ScionTimeExperiments."),
        licence="none stated",
        redistributable=False,
        repository="fimeier/ScionTimeExperiments",
        commit="449783583db986ee83dbc7b2464d2810060cc965",
        files=(
            DataFile("clock/gnss_truth_chrony_cpuload_2021/exp7_offsets_derived.csv.gz", "derived"),
            DataFile("clock/gnss_truth_chrony_cpuload_2021/README_experiment7.md", "as_is", "7/README.md",
                     documentation=True),
        ),
        recipe=("GNS181PEX lines of 7/AS{1..4}_final.txt parsed to host, ref_time_unix, sys_time_unix, "
                "offset_s (text as logged), ltcy_us, exec_us (as Python floats: 0.10 became 0.1)"),
        returns=("DataFrame sorted by host, ref_time_ns: host (category AS1..AS4), hop (int8, 0..3), "
                 "ref_time_unix and sys_time_unix (str, exact as logged), ref_time_ns and sys_time_ns "
                 "(int64 Unix nanoseconds, exact), offset_ns (int64, ref - sys, exact), offset_s (float64, "
                 "as logged), "
                 "ltcy_us, exec_us (float64)."),
        pitfalls=("Timestamps have 9 decimals: a float64 keeps only about 0.2 us of a Unix time, so they "
                  "are read as text and converted to integer nanoseconds.",
                  "The logged offset_s was computed in float64 from absolute times: it differs from the "
                  "exact ref - sys (offset_ns) by more than 1 ns in 60,738 of 90,198 rows, mostly by "
                  "-238 ns (the float64 spacing at 1.6e9 s), at most 23 us; use offset_ns for exact work "
                  "(attrs['offset_logged_differs_rows'] and ['offset_logged_minus_exact_max_ns']).",),
    ),
    Dataset(
        name="ntp_four_timestamps",
        title="1,528 NTP exchanges with all four timestamps t1..t4 (2018)",
        description=(
            "Client send t1, server receive t2, server send t3, client receive t4 (Unix seconds with "
            "nanosecond digits) and the offset phi the logging tool computed. For the on-wire "
            "offset/delay code."),
        citation="Pernica, M. (2018). AnalisisNTP4, github.com/MarcosPernica/AnalisisNTP4, measurements.log.",
        licence="none stated",
        redistributable=False,
        repository="MarcosPernica/AnalisisNTP4",
        commit="b99831210a8bbd49bda2498d8140fd97ef54272e",
        files=(DataFile("clock/ntp_four_timestamps_2018/measurements.log", "as_is", "measurements.log"),),
        recipe="as is",
        returns=("DataFrame in file order (sorted by t1): t1..t4 and phi (str, exact as logged), "
                 "t1_ns..t4_ns (int64 Unix nanoseconds, exact), phi_s (float64). "
                 "exact_offset_delay(frame) gives offset and delay computed exactly."),
        pitfalls=("phi was computed by the tool in double precision from absolute timestamps; it agrees "
                  "with ((t2-t1)+(t3-t4))/2 computed exactly only to about 2e-7 s. Use "
                  "exact_offset_delay, never float(t2) - float(t1).",),
    ),
    Dataset(
        name="chrony_pps_nist",
        title="chrony logs of a GPS-PPS-disciplined host with NIST NTP measurements, December 2021",
        description=(
            "tracking, measurements and statistics logs of chrony on a host locked to a GPS PPS signal, "
            "including 467 NTP measurements of NIST servers (offset, delay, dispersion) taken while the "
            "local clock was near-true: the NTP offset error against delay asymmetry."),
        citation="munzz11 (2021). chronny_log_to_csv, github.com/munzz11/chronny_log_to_csv, demo_files.",
        licence="none stated",
        redistributable=False,
        repository="munzz11/chronny_log_to_csv",
        commit="8c35cba442f063af6998cbd4df74a1540a2cd511",
        files=tuple(DataFile(f"clock/chrony_pps_nist_2021_munzz11/{k}.log.gz", "gzip", f"demo_files/{k}.log")
                    for k in ("tracking", "measurements", "statistics")),
        recipe="gzip of the originals",
        returns=("dict of three DataFrames 'tracking', 'measurements', 'statistics', each sorted by time "
                 "(datetime64, UTC) with chrony's documented columns, units in the names (_s, _ppm)."),
        pitfalls=("Whitespace-separated, no header; columns as documented for chrony's "
                  "'log tracking measurements statistics' (chrony.conf(5)) and written by reference.c, "
                  "ntp_core.c and sourcestats.c.",),
    ),
)

DATASETS: dict[str, Dataset] = {d.name: d for d in _DATASETS}


def names() -> list[str]:
    """Names of every registered dataset, in registry order."""
    return list(DATASETS)


def get(name: str) -> Dataset:
    """The :class:`Dataset` called ``name``; :class:`UnknownDataset` lists close matches otherwise."""
    if isinstance(name, Dataset):
        return name
    if not isinstance(name, str):
        raise UnknownDataset(f"dataset name must be a string, got {name!r}")
    try:
        return DATASETS[name]
    except KeyError:
        pass
    close = difflib.get_close_matches(name, DATASETS, n=3, cutoff=0.5)
    close += [n for n in DATASETS if name and name.lower() in n and n not in close]
    hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    raise UnknownDataset(f"no dataset named {name!r}; {hint}known datasets: {', '.join(DATASETS)} "
                         "(virtmodel data list)") from None


def gzip_bytes(raw: bytes, name: str) -> bytes:
    """gzip ``raw`` exactly as the reference copy was written (level 9, mtime 0, file name in header).

    >>> gzip.decompress(gzip_bytes(b"abc", "x.txt"))
    b'abc'
    """
    buf = io.BytesIO()
    with gzip.GzipFile(filename=name, mode="wb", compresslevel=9, fileobj=buf, mtime=0) as gz:
        gz.write(raw)
    out = bytearray(buf.getvalue())
    out[9] = 255  # OS field "unknown", as in the reference copy (Python writes 255 too; keep it explicit)
    return bytes(out)


def manifest(directory: str | Path) -> str:
    """The ``files.sha256`` text for a verified copy of the data directory."""
    directory = Path(directory)
    lines = ["# sha256 of each file of the reference copy (../shared/data), then sha256 of its",
             "# decompressed bytes for .gz files ('-' otherwise), then its path under the data directory.",
             "# Regenerate: python -m virtmodel.data._registry DIR > virtmodel/data/files.sha256"]
    for p in sorted(directory.rglob("*")):
        rel = p.relative_to(directory).as_posix()
        if p.is_dir() or rel == "README.md":
            continue
        raw = p.read_bytes()
        content = hashlib.sha256(gzip.decompress(raw)).hexdigest() if rel.endswith(".gz") else "-"
        lines.append(f"{hashlib.sha256(raw).hexdigest()} {content} {rel}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(manifest(sys.argv[1]))
