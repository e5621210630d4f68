"""Real datasets: a registry, loaders to tidy DataFrames, and a checked fetcher.

Every dataset was measured by people outside virtmodel; virtmodel ships none of
their files (several carry no licence that allows it), only this registry of
where each came from and the sha256 of its bytes.

>>> import virtmodel as vm
>>> vm.data.names()[:3]
['bank_callcenter', 'aircraft_arrivals', 'babyboom']
>>> vm.data.info("ntp_four_timestamps").repository
'MarcosPernica/AnalisisNTP4'

Where the files are
-------------------
``$VIRTMODEL_DATA`` if set (CI and the tests point it at a copy of the data
directory), else the user cache ``pooch.os_cache("virtmodel")``.  Files keep
the reference copy's relative paths (``queueing/...``, ``vm_workload/...``,
``clock/...``).  :func:`fetch` fills that directory from the public source.

What load returns
-----------------
``load(name)`` returns one :class:`pandas.DataFrame` (``chrony_pps_nist``: a
dict of three, ``tracking``, ``measurements``, ``statistics``).  Columns are
typed, units are in the column names (``_s``, ``_ns``, ``_pct``, ``_mhz``,
``_kb``, ``_kb_per_s``, ``_gb``, ``_ppm``, ``_us``), rows are sorted (key in
``attrs["sorted_by"]``), and ``attrs`` carries the citation, licence and
source.  ``info(name).returns`` spells out each frame; ``virtmodel data info
NAME`` prints it.

=====================  ====================================================
name                   returns
=====================  ====================================================
bank_callcenter        one row per call: datetimes of each stage, durations
aircraft_arrivals      ``arrival_s``, ``gap_s``
babyboom               birth times (``minutes_after_midnight``), weight, sex
planetlab              long: day, vm, t_index_5min, time_s, cpu_util_pct
bitbrains              long: vm, time_unix_s, time, cpu/mem/disk/net columns
azure_v1               one row per VM request: bin, flavour, size, lifetime bin
google_gcd             long: vm, t_index_5min, cpu_util_pct, mem_util_pct
gnss_chrony_chain      host, hop, exact ns timestamps, offset_ns, offset_s
ntp_four_timestamps    t1..t4 exact (str and int ns), phi; exact_offset_delay
chrony_pps_nist        dict: tracking, measurements, statistics
=====================  ====================================================
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._errors import ChecksumMismatch, CorruptDataFile, DataError, DataFileMissing, NoFetcher, UnknownDataset
from ._fetch import BASE_URL_VAR, fetch, fetch_all
from ._loaders import CHRONY_COLUMNS, LOADERS, check_options, decimal_to_ns, exact_offset_delay, read_chrony_log
from ._registry import DATASETS, DataFile, Dataset, names
from ._registry import get as info
from ._store import ENV_VAR, data_dir, file_path, verify_file

__all__ = [
    "load", "fetch", "fetch_all", "path", "paths", "info", "names", "datasets", "data_dir", "available",
    "exact_offset_delay", "decimal_to_ns", "read_chrony_log", "CHRONY_COLUMNS",
    "Dataset", "DataFile", "DATASETS", "ENV_VAR", "BASE_URL_VAR",
    "DataError", "UnknownDataset", "DataFileMissing", "ChecksumMismatch", "CorruptDataFile", "NoFetcher",
]


def datasets():
    """A table of every dataset: name, title, licence, files, fetchable, present here."""
    import pandas as pd

    rows = []
    for d in DATASETS.values():
        rows.append({"name": d.name, "title": d.title, "licence": d.licence, "files": len(d.files),
                     "fetchable": d.fetchable, "present": available(d.name)})
    return pd.DataFrame(rows)


def _selected(dataset: Dataset, options: dict) -> tuple[DataFile, ...]:
    files = dataset.data_files
    if dataset.name == "bitbrains" and options.get("vms") is not None:
        vms = options["vms"]
        vms = [vms] if isinstance(vms, int | np.integer) else list(vms)
        by_vm = {int(f.name.split(".")[0]): f for f in files}
        files = tuple(by_vm[int(v)] for v in sorted(set(vms)))
    return files


def paths(name: str, directory: str | os.PathLike | None = None, *, documentation: bool = False) -> list[Path]:
    """Absolute paths of a dataset's files; :class:`DataFileMissing` says how to fetch one that is absent."""
    d = info(name)
    files = d.files if documentation else d.data_files
    return [file_path(d, f, directory) for f in files]


def path(name: str | None = None, directory: str | os.PathLike | None = None) -> Path:
    """The data directory, or (with ``name``) the folder holding that dataset's files."""
    root = data_dir(directory)
    if name is None:
        return root
    d = info(name)
    return root / Path(d.files[0].path).parent


def available(name: str, directory: str | os.PathLike | None = None) -> bool:
    """True if every data file of ``name`` is present (not checked; :func:`load` checks)."""
    d = info(name)
    root = data_dir(directory)
    return all((root / f.path).is_file() for f in d.data_files)


def load(name: str, *, directory: str | os.PathLike | None = None, verify: bool = True, **options):
    """Load a real dataset as tidy pandas DataFrame(s).

    Parameters
    ----------
    name : str
        A registered name (:func:`names`); an unknown one raises
        :class:`UnknownDataset` listing close matches.
    directory : path, optional
        Data directory; default ``$VIRTMODEL_DATA``, else the user cache.
    verify : bool
        Check each file's sha256 against the registry first (once per process
        and file); a mismatch raises :class:`ChecksumMismatch` naming the file.
    **options
        Per dataset: ``form="long" | "wide"`` (planetlab, google_gcd);
        ``vms=[...]`` (bitbrains: a subset of VMs 1..50) and
        ``drop_all_zero=True`` (bitbrains).

    Returns
    -------
    DataFrame, or dict of DataFrames for ``chrony_pps_nist`` (and
    ``google_gcd`` with ``form="wide"``).  See ``info(name).returns``.

    Raises
    ------
    UnknownDataset, DataFileMissing, NoFetcher, ChecksumMismatch, CorruptDataFile
        All are :class:`~virtmodel.errors.VirtmodelError`.
    """
    d = info(name)
    check_options(d.name, options)
    files = _selected(d, options)
    options = {k: v for k, v in options.items() if k != "vms"}
    found = [file_path(d, f, directory) for f in files]
    if verify:
        for f, p in zip(files, found, strict=True):
            verify_file(d, f, p)
    return LOADERS[d.name](d, found, **options)
