"""Fetch a dataset's originals from its public source, check them, and cache the files atomically.

Originals are downloaded with pooch from ``BASE/OWNER/REPO/COMMIT/PATH`` where
BASE is ``https://raw.githubusercontent.com`` (GitHub's raw address scheme), or
the ``base_url`` argument, or ``$VIRTMODEL_DATA_URL`` (a mirror, or a test
server on 127.0.0.1).  Every original with a registered sha256 is checked on
arrival; every file written is checked against the registry (a derived file
after its recipe ran).  All files of a dataset are built in a staging folder
inside the data directory and moved into place (``os.replace``, atomic) only
when every one passed: a checksum failure leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ._errors import ChecksumMismatch, DataError, NoFetcher
from ._recipes import RECIPES
from ._registry import DATASETS, RAW_URL, DataFile, Dataset, get, gzip_bytes
from ._store import data_dir, verify_file

__all__ = ["fetch", "fetch_all", "resolve_base_url", "BASE_URL_VAR"]

BASE_URL_VAR = "VIRTMODEL_DATA_URL"
STAGING_PREFIX = ".virtmodel-fetch-"


def resolve_base_url(url: str | None = None) -> str:
    """The base address of the originals: ``url``, else ``$VIRTMODEL_DATA_URL``, else GitHub's raw host."""
    return (url or os.environ.get(BASE_URL_VAR) or RAW_URL).rstrip("/")


class _Downloader:
    """Downloads originals of one dataset into a staging folder with pooch, checking sha256."""

    def __init__(self, dataset: Dataset, base: str, staging: Path, workers: int, timeout: float):
        self.dataset, self.base, self.workers = dataset, base, max(1, int(workers))
        self.folder = staging / "originals"
        self.folder.mkdir()
        self.timeout = timeout

    def get(self, source_path: str, sha256: str | None = None) -> bytes:
        import pooch
        import requests

        url = self.dataset.url(source_path, self.base)
        known = f"sha256:{sha256}" if sha256 else None
        try:
            local = pooch.retrieve(url, known_hash=known, fname=uuid.uuid4().hex, path=self.folder,
                                   progressbar=False, downloader=pooch.HTTPDownloader(timeout=self.timeout))
        except ValueError as exc:  # pooch: hash mismatch (the temporary download is removed)
            if "hash" not in str(exc).lower():
                raise
            raise ChecksumMismatch(
                f"{source_path} of dataset {self.dataset.name!r} downloaded from {url} is not the published "
                f"file: {exc} Nothing was written to the data directory.") from None
        except (requests.RequestException, OSError) as exc:
            raise DataError(f"could not download {source_path} of dataset {self.dataset.name!r} from {url}: "
                            f"{exc}. Nothing was written to the data directory; check the network or the "
                            f"base URL (${BASE_URL_VAR})") from exc
        try:
            return Path(local).read_bytes()
        finally:
            Path(local).unlink(missing_ok=True)

    def get_many(self, source_paths: list[str]) -> list[bytes]:
        with ThreadPoolExecutor(self.workers) as pool:
            return list(pool.map(self.get, source_paths))


def _check(dataset: Dataset, f: DataFile, content: bytes, what: str) -> None:
    expected = f.content_sha256 if f.content_sha256 is not None else f.sha256
    actual = hashlib.sha256(content).hexdigest()
    if actual != expected:
        raise ChecksumMismatch(
            f"{f.path} of dataset {dataset.name!r} ({what}) has sha256 {actual}, expected {expected}: the source "
            "changed or the recipe no longer reproduces it. Nothing was written to the data directory.")


def _stage(dataset: Dataset, f: DataFile, content: bytes, staging: Path) -> Path:
    """Write the final bytes of ``f`` (gzip-compressed if it is a .gz) into the staging folder.

    ``content`` was checked already (pooch's sha256 or :func:`_check`).  The gzip
    stream is the reference copy's byte for byte with CPython's zlib; another
    zlib build may compress differently, which :func:`verify_file` accepts (it
    compares the decompressed bytes when the compressed ones differ).
    """
    final = gzip_bytes(content, f.name[:-3]) if f.path.endswith(".gz") else content
    tmp = staging / uuid.uuid4().hex
    tmp.write_bytes(final)
    return tmp


def fetch(name: str, *, directory: str | os.PathLike | None = None, base_url: str | None = None,
          force: bool = False, workers: int = 8, timeout: float = 60.0) -> list[Path]:
    """Download a dataset's files from its public source into the data directory and check them.

    Files already present with the published bytes are kept (``force=True``
    downloads them again); a present file whose bytes differ is replaced.

    Parameters
    ----------
    name : str
        Dataset name (:func:`virtmodel.data.names`).
    directory : path, optional
        Data directory to fill; default ``$VIRTMODEL_DATA``, else the user cache.
    base_url : str, optional
        Where the originals are, as ``BASE/OWNER/REPO/COMMIT/PATH``; default
        ``$VIRTMODEL_DATA_URL``, else ``https://raw.githubusercontent.com``.
    force : bool
        Download even files that are present and correct.
    workers : int
        Parallel downloads (the planetlab recipe reads 11,746 small files).
    timeout : float
        Seconds before one HTTP request gives up.

    Returns
    -------
    list of Path
        Every file of the dataset, now present and checked.

    Raises
    ------
    NoFetcher
        The dataset has no public source (``aircraft_arrivals``).
    ChecksumMismatch
        An original or a rebuilt file is not the published one; the message
        names the file, and nothing was written.
    DataError
        A download failed (network, HTTP status).
    """
    d = get(name)
    if not d.fetchable:
        raise NoFetcher(f"dataset {d.name!r} has no public source to fetch from ({d.recipe}); copy "
                        f"{', '.join(f.path for f in d.files)} into the data directory by hand")
    base = resolve_base_url(base_url)
    root = data_dir(directory)
    root.mkdir(parents=True, exist_ok=True)
    todo = []
    for f in d.files:
        target = root / f.path
        if target.is_file() and not force:
            try:
                verify_file(d, f, target)
                continue
            except ChecksumMismatch:
                pass  # replaced by a good copy below
        todo.append(f)
    if todo:
        _fetch_files(d, todo, root, base, workers, timeout)
    return [root / f.path for f in d.files]


def _fetch_files(d: Dataset, todo: list[DataFile], root: Path, base: str, workers: int, timeout: float) -> None:
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
    import pooch

    pooch_log = pooch.get_logger()  # pooch's own Logger (not registered with logging.getLogger)
    level = pooch_log.level
    pooch_log.setLevel(logging.WARNING)
    try:
        down = _Downloader(d, base, staging, workers, timeout)
        staged: dict[str, Path] = {}
        for f in todo:
            if f.recipe == "as_is":
                staged[f.path] = _stage(d, f, down.get(f.source_path, f.sha256), staging)
            elif f.recipe == "gzip":
                staged[f.path] = _stage(d, f, down.get(f.source_path, f.content_sha256), staging)
        derived = [f for f in todo if f.recipe == "derived"]
        if derived:
            built = RECIPES[d.name](d, down.get, down.get_many)
            for f in derived:
                content = built[f.path]
                _check(d, f, content, "rebuilt by its recipe")
                staged[f.path] = _stage(d, f, content, staging)
        for path, tmp in staged.items():  # everything passed: move into place
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, target)
    finally:
        pooch_log.setLevel(level)
        shutil.rmtree(staging, ignore_errors=True)


def fetch_all(*, directory: str | os.PathLike | None = None, base_url: str | None = None, force: bool = False,
              workers: int = 8, timeout: float = 60.0) -> dict[str, list[Path]]:
    """:func:`fetch` every dataset that has a public source; returns ``{name: paths}``."""
    return {name: fetch(name, directory=directory, base_url=base_url, force=force, workers=workers,
                        timeout=timeout)
            for name, d in DATASETS.items() if d.fetchable}
