"""``virtmodel data ...``: list, describe, fetch, locate and summarise the real datasets.

``virtmodel data list``
    One line per dataset: name, whether its files are here, whether it can be fetched.
``virtmodel data info NAME``
    Description, citation, licence, public source, files (sha256) and what load returns.
``virtmodel data fetch NAME [NAME ...] | --all [--dir DIR] [--base-url URL] [--force]``
    Download from the public source, check sha256, write atomically.
``virtmodel data path [NAME]``
    The data directory (``$VIRTMODEL_DATA`` or the user cache), or a dataset's folder.
``virtmodel data verify [NAME ...]``
    Check the sha256 of the files present.
``virtmodel data summary [--out DIR]``
    Write data/datasets_summary.csv and data/dataset_key_figures.csv from the real files.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

WIDTH = 80

__all__ = ["add_data_parser"]


def _wrap(label: str, text: str, hang: int = 0) -> str:
    return textwrap.fill(text, WIDTH, initial_indent=f"{label:<13}", subsequent_indent=" " * (13 + hang),
                         break_on_hyphens=False, break_long_words=False)


def _list(args) -> int:
    from . import DATASETS, available, data_dir

    root = data_dir(args.dir)
    print(f"{'name':<20} {'here':<5} {'fetch':<6} title")
    for d in DATASETS.values():
        here = "yes" if available(d.name, root) else "no"
        fetch = "yes" if d.fetchable else "no"
        title = textwrap.shorten(d.title, WIDTH - 34, placeholder="...")
        print(f"{d.name:<20} {here:<5} {fetch:<6} {title}")
    print(f"\ndata directory: {_describe_dir(root, args.dir)}")
    return 0


def _describe_dir(root: Path, explicit) -> str:
    from . import ENV_VAR

    if explicit:
        return f"{root} (--dir)"
    if os.environ.get(ENV_VAR):
        return f"{root} (${ENV_VAR})"
    return f"{root} (user cache; set ${ENV_VAR} to use another)"


def _info(args) -> int:
    from . import data_dir, info

    d = info(args.name)
    root = data_dir(args.dir)
    print(d.name)
    print("=" * len(d.name))
    for label, text in (("title", d.title), ("description", d.description), ("cite", d.citation),
                        ("licence", d.licence + ("" if d.redistributable else
                                                 "; fetched from its public home, never shipped")),
                        ("source", f"github.com/{d.repository} @ {d.commit}" if d.fetchable else "none: no fetcher"),
                        ("recipe", d.recipe), ("load returns", d.returns)):
        print(_wrap(label, text))
    for i, pit in enumerate(d.pitfalls):
        print(_wrap("pitfalls" if i == 0 else "", "- " + pit, hang=2))
    print(f"files        (in {root})")
    shown = d.files if len(d.files) <= 6 else d.files[:3]
    for f in shown:
        here = "here" if (root / f.path).is_file() else "absent"
        print(textwrap.fill(f"{f.path}", WIDTH, initial_indent="  ", subsequent_indent="    "))
        origin = f"from {f.source_path}" if f.source_path else ("derived" if f.recipe == "derived" else "no source")
        print(textwrap.fill(f"sha256 {f.sha256[:16]}... {f.recipe}, {origin}, {here}", WIDTH,
                            initial_indent="    ", subsequent_indent="      "))
    if len(shown) < len(d.files):
        rest = d.files[len(shown):]
        n_here = sum((root / f.path).is_file() for f in rest)
        print(textwrap.fill(f"... and {len(rest)} more like them ({n_here} here); every sha256 is in "
                            "virtmodel/data/files.sha256", WIDTH, initial_indent="  ", subsequent_indent="    "))
    return 0


def _fetch(args) -> int:
    from . import DATASETS, DataError, data_dir, fetch, info

    if args.all == bool(args.names):
        print("virtmodel data fetch: give dataset names or --all (not both)", file=sys.stderr)
        return 2
    names = [n for n, d in DATASETS.items() if d.fetchable] if args.all else args.names
    root = data_dir(args.dir)
    status = 0
    for name in names:
        try:
            d = info(name)
            if not d.fetchable:
                fetch(name)  # raises NoFetcher with the explanation
            missing = sum(not (root / f.path).is_file() for f in d.files)
            if missing or args.force:
                n = len(d.files) if args.force else missing
                print(f"{d.name}: downloading {n} file(s) from github.com/{d.repository} ...", flush=True)
            paths = fetch(name, directory=args.dir, base_url=args.base_url, force=args.force,
                          workers=args.workers)
            print(f"{d.name}: {len(paths)} file(s) present and checked in {root / Path(d.files[0].path).parent}")
        except DataError as exc:
            print(f"virtmodel data fetch: error: {exc}", file=sys.stderr)
            status = 2
    if args.all:
        skipped = [n for n, d in DATASETS.items() if not d.fetchable]
        print(f"no public source, not fetched: {', '.join(skipped)}")
    return status


def _path(args) -> int:
    from . import path

    print(path(args.name, args.dir))
    return 0


def _verify(args) -> int:
    from . import DATASETS, DataError, data_dir, info, verify_file

    root = data_dir(args.dir)
    status = 0
    for name in args.names or list(DATASETS):
        try:
            d = info(name)
        except DataError as exc:
            print(f"virtmodel data verify: error: {exc}", file=sys.stderr)
            return 2
        present = [f for f in d.files if (root / f.path).is_file()]
        try:
            for f in present:
                verify_file(d, f, root / f.path)
            print(f"{d.name:<20} {len(present)}/{len(d.files)} file(s) present, all match their sha256")
        except DataError as exc:
            print(f"{d.name:<20} FAILED: {exc}", file=sys.stderr)
            status = 1
    return status


def _summary(args) -> int:
    from ._summary import write_summaries

    for p in write_summaries(args.out, directory=args.dir):
        print(f"wrote {p}")
    return 0


def add_data_parser(sub) -> None:
    """Add the ``data`` command to the top-level subparsers of ``virtmodel``."""
    from ..errors import VirtmodelError

    p = sub.add_parser("data", help="real datasets: list, info, fetch, path, verify, summary",
                       description=__doc__.split("\n")[0])
    p.add_argument("--dir", default=None, help="data directory (default $VIRTMODEL_DATA, else the user cache)")
    dsub = p.add_subparsers(dest="data_command", required=True)
    dsub.add_parser("list", help="one line per dataset").set_defaults(data_func=_list)
    i = dsub.add_parser("info", help="citation, licence, source, files of a dataset")
    i.add_argument("name")
    i.set_defaults(data_func=_info)
    f = dsub.add_parser("fetch", help="download from the public source and check sha256")
    f.add_argument("names", nargs="*", metavar="NAME")
    f.add_argument("--all", action="store_true", help="every dataset with a public source")
    f.add_argument("--base-url", default=None,
                   help="where the originals are, as BASE/OWNER/REPO/COMMIT/PATH (default "
                        "$VIRTMODEL_DATA_URL, else https://raw.githubusercontent.com)")
    f.add_argument("--force", action="store_true", help="download even files present and correct")
    f.add_argument("--workers", type=int, default=8, help="parallel downloads (default 8)")
    f.set_defaults(data_func=_fetch)
    pa = dsub.add_parser("path", help="the data directory, or a dataset's folder")
    pa.add_argument("name", nargs="?")
    pa.set_defaults(data_func=_path)
    v = dsub.add_parser("verify", help="check the sha256 of the files present")
    v.add_argument("names", nargs="*", metavar="NAME")
    v.set_defaults(data_func=_verify)
    s = dsub.add_parser("summary", help="write the per-dataset summary tables (data/*.csv)")
    s.add_argument("--out", default="data", help="folder for the CSV files (default data/)")
    s.set_defaults(data_func=_summary)

    def run(args) -> int:
        try:
            return args.data_func(args)
        except VirtmodelError as exc:
            print(f"virtmodel data: error: {exc}", file=sys.stderr)
            return 2

    p.set_defaults(func=run)
