"""Check the registry against local git clones of the source repositories, offline.

For every dataset with a public source, read each original at the registered
commit from a clone (``git show COMMIT:PATH``), rebuild the file exactly as
``virtmodel.data.fetch`` would (as is, gzip, or the derived recipe) and compare
its sha256 with the registry.  This is how the registry's claim "fetch gives
the published bytes" was checked without network access.

    python data/check_sources.py CLONES_DIR

CLONES_DIR holds one git repository per source, named ``OWNER+REPO`` (a bare
repository, a ``.git`` folder or a work tree; ``OWNER+REPO/repo`` also works).
Exit status 1 if a file differs.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from virtmodel import data
from virtmodel.data._recipes import RECIPES
from virtmodel.data._registry import gzip_bytes


def _git_dir(clones: Path, repository: str) -> Path | None:
    base = clones / repository.replace("/", "+")
    for cand in (base / "repo" / ".git", base / "repo", base / ".git", base):
        if (cand / "HEAD").is_file():
            return cand
    return None


def main(clones: Path) -> int:
    failed = 0
    for d in data.DATASETS.values():
        if not d.fetchable:
            continue
        git_dir = _git_dir(clones, d.repository)
        if git_dir is None:
            print(f"{d.name:<20} skipped: no clone of {d.repository} in {clones}")
            continue

        def get(path, sha256=None, _g=git_dir, _c=d.commit):
            raw = subprocess.run(["git", "--git-dir", str(_g), "show", f"{_c}:{path}"], capture_output=True,
                                 check=True).stdout
            if sha256 and hashlib.sha256(raw).hexdigest() != sha256:
                raise ValueError(f"{path}: sha256 differs from the recipe's registered original")
            return raw

        def get_many(paths, _get=get):
            return [_get(p) for p in paths]

        results = []
        for f in d.files:
            if f.recipe == "as_is":
                results.append((f, hashlib.sha256(get(f.source_path)).hexdigest() == f.sha256))
            elif f.recipe == "gzip":
                gz = gzip_bytes(get(f.source_path), f.name[:-3])
                results.append((f, hashlib.sha256(gz).hexdigest() == f.sha256))
        derived = [f for f in d.files if f.recipe == "derived"]
        if derived:
            built = RECIPES[d.name](d, get, get_many)
            for f in derived:
                expected = f.content_sha256 or f.sha256
                results.append((f, hashlib.sha256(built[f.path]).hexdigest() == expected))
        bad = [f.path for f, ok in results if not ok]
        failed += len(bad)
        print(f"{d.name:<20} {len(results) - len(bad)}/{len(results)} file(s) reproduced"
              + (f"; DIFFER: {', '.join(bad)}" if bad else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1])))
