"""Where the data files live and whether they are the published bytes."""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from pathlib import Path

from ._errors import ChecksumMismatch, DataFileMissing, NoFetcher
from ._registry import DataFile, Dataset, get

__all__ = ["ENV_VAR", "data_dir", "file_path", "verify_file", "sha256_file"]

ENV_VAR = "VIRTMODEL_DATA"

# (path, size, mtime_ns) -> True for files already verified in this process
_VERIFIED: dict[tuple[str, int, int], bool] = {}


def data_dir(directory: str | os.PathLike | None = None) -> Path:
    """The data directory: ``directory`` if given, else ``$VIRTMODEL_DATA``, else the user cache.

    The cache is ``pooch.os_cache("virtmodel")`` (``~/.cache/virtmodel`` on Linux).
    Files sit under it with the same relative paths as in the reference copy
    (``queueing/...``, ``vm_workload/...``, ``clock/...``), so ``VIRTMODEL_DATA``
    may point at a copy of that directory or at a cache filled by :func:`fetch`.
    """
    if directory is not None:
        return Path(directory).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("virtmodel"))


def _where(directory: Path) -> str:
    env = os.environ.get(ENV_VAR)
    if env and Path(env).expanduser() == directory:
        return f"{directory} (${ENV_VAR})"
    return f"{directory}"


def file_path(dataset: Dataset, f: DataFile, directory: str | os.PathLike | None = None) -> Path:
    """Absolute path of ``f``; :class:`DataFileMissing` (saying how to fetch it) when absent."""
    root = data_dir(directory)
    p = root / f.path
    if p.is_file():
        return p
    if not dataset.fetchable:
        raise NoFetcher(
            f"file {f.path} of dataset {dataset.name!r} not found in {_where(root)}; this dataset has no "
            f"public source to fetch from ({dataset.recipe}): copy the file there from a copy of the "
            f"reference data, or set {ENV_VAR} to a directory that holds it")
    raise DataFileMissing(
        f"file {f.path} of dataset {dataset.name!r} not found in {_where(root)}; fetch it with "
        f"`virtmodel data fetch {dataset.name}` (or virtmodel.data.fetch({dataset.name!r})), or set "
        f"{ENV_VAR} to a directory that holds the data")


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _sha256_gunzip(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
    except (OSError, EOFError, zlib.error):
        return None
    return h.hexdigest()


def verify_file(dataset: Dataset | str, f: DataFile, path: Path) -> None:
    """Raise :class:`ChecksumMismatch` unless ``path`` holds the published bytes of ``f``.

    A file passes if its sha256 is the reference copy's, or (``.gz``) if its
    decompressed bytes are (a copy recompressed differently is the same data).
    Results are remembered per (path, size, mtime) for the life of the process.
    """
    dataset = get(dataset)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if _VERIFIED.get(key):
        return
    actual = sha256_file(path)
    ok = actual == f.sha256
    if not ok and f.content_sha256 is not None:
        ok = _sha256_gunzip(path) == f.content_sha256
    if not ok:
        raise ChecksumMismatch(
            f"{path}: sha256 {actual} differs from the published {f.sha256} of {f.path} "
            f"(dataset {dataset.name!r}); the file is corrupt, truncated or not the published version. "
            f"Delete it and fetch it again (`virtmodel data fetch {dataset.name}`), or pass verify=False "
            "to read it anyway")
    _VERIFIED[key] = True
