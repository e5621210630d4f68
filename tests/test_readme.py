"""The README's examples run as written (issue 12: "each README example pasted into Python, all run").

Every ```python block of README.md is executed in a fresh namespace, in a
temporary working directory (examples may write ``data/`` or ``figures/``),
with matplotlib on the Agg backend.  A block preceded by the line
``<!-- readme-test: data NAME [NAME...] -->`` needs those real datasets: it
runs when they are present (``VIRTMODEL_DATA``) and is skipped, saying
which, otherwise; ``<!-- readme-test: skip (REASON) -->`` always skips.  The
blocks are written small, so the whole file runs in well under a minute.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
_SKIP = re.compile(r"<!--\s*readme-test:\s*skip\s*\((?P<reason>.*)\)\s*-->")
_DATA = re.compile(r"<!--\s*readme-test:\s*data\s+(?P<names>[\w\s]+?)\s*-->")


def readme_blocks(text: str) -> list[tuple[str, str, str | None]]:
    """``(id, code, skip)`` for each ```python block, the id from the section heading it is under.

    ``skip`` is None, ``"skip: REASON"`` or ``"data: NAME NAME"``.
    """
    blocks, heading, count, previous = [], "top", {}, ""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):                           # a heading (fenced blocks are skipped whole)
            heading = re.sub(r"[^a-z0-9]+", "-", line.lstrip("#").strip().lower()).strip("-")
        if line.strip() == "```python":
            end = lines.index("```", i + 1)
            count[heading] = count.get(heading, 0) + 1
            skip, data = _SKIP.search(previous), _DATA.search(previous)
            marker = f"skip: {skip.group('reason')}" if skip else f"data: {data.group('names')}" if data else None
            blocks.append((f"{heading}-{count[heading]}", "\n".join(lines[i + 1:end]) + "\n", marker))
            i, previous = end + 1, ""
            continue
        if line.strip().startswith("```"):                 # skip other fenced blocks whole
            i = lines.index("```", i + 1) + 1 if line.strip() != "```" else i + 1
            continue
        if line.strip():
            previous = line
        i += 1
    return blocks


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))


def test_readme_has_examples_and_no_outside_references():
    """Enough examples to cover the features, and no pointer to a document the user does not have."""
    assert len(BLOCKS) >= 15
    text = README.read_text(encoding="utf-8")
    assert "DESIGN" not in text
    for link in re.findall(r"\]\(([^)#]+)\)", text):
        if not link.startswith("http"):
            assert (ROOT / link).exists(), f"README links to {link}, which is not in the repository"


def test_readme_anchors_exist():
    """Every ``](#anchor)`` link names a heading (GitHub's slug: lower case, punctuation dropped, spaces to -)."""
    text = README.read_text(encoding="utf-8")
    body = re.sub(r"```.*?```", "", text, flags=re.S)
    slugs = {re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
             for line in body.splitlines() if line.startswith("#")}
    missing = [a for a in re.findall(r"\]\(#([^)]+)\)", text) if a not in slugs]
    assert not missing, f"README links to missing sections: {missing}"


def test_every_validation_area_and_notebook_is_documented():
    from virtmodel.experiments.validation import AREAS

    text = README.read_text(encoding="utf-8")
    missing = [area for area in AREAS if f"`{area}`" not in text]
    assert not missing, f"validate areas not described in the README: {missing}"
    notebooks = [nb.stem for nb in (ROOT / "notebooks").glob("*.py") if nb.stem not in text]
    assert not notebooks, f"notebooks not named in the README: {notebooks}"


def test_quick_start_commands_unchanged():
    text = README.read_text(encoding="utf-8")
    assert "python3 -m pip install -e . && python3 -m virtmodel validate" in text
    assert 'python3 -m pip install -e ".[dev]" && python3 -m pytest' in text


@pytest.mark.parametrize("code,skip", [(code, skip) for _, code, skip in BLOCKS], ids=[b[0] for b in BLOCKS])
def test_readme_example_runs(code, skip, tmp_path, monkeypatch):
    if skip and skip.startswith("skip: "):
        pytest.skip(skip[len("skip: "):])
    if skip and skip.startswith("data: "):
        from virtmodel import data

        missing = [name for name in skip[len("data: "):].split() if not data.available(name)]
        if missing:
            pytest.skip(f"needs the datasets {missing}: set VIRTMODEL_DATA or run `virtmodel data fetch NAME`")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": "__readme__"}
    exec(compile(code, f"README.md:{tmp_path.name}", "exec"), namespace)


def test_readme_commands_run(tmp_path, capsys):
    """The command-line examples that need no data: the top-level help and one scenario file (in process)."""
    from virtmodel.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0 and "predict" in capsys.readouterr().out
    out = tmp_path / "p.csv"
    assert main(["predict", str(ROOT / "scenarios" / "two_vms.toml"), "--out", str(out)]) == 0
    assert out.read_text().startswith("metric,group,value")
