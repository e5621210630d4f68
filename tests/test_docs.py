"""The documentation site's own examples run, and the README sections its pages include exist.

The user-guide pages (docs/guide/*.md) include sections of the README by their headings
(``{include}`` with ``:start-after:``/``:end-before:``); a renamed heading would break ``make docs``
only, so it is caught here in the default suite.  The ```python blocks written in docs/*.md
themselves (not included from the README, whose blocks tests/test_readme.py runs) are executed
as written.  Building the site itself is ``make docs`` (CI).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted([*DOCS.glob("*.md"), *(DOCS / "guide").glob("*.md")])
_INCLUDE = re.compile(r"```\{include\}\s+(?P<path>\S+)\n(?P<options>(?::[^\n]*\n)*)```")
_OPTION = re.compile(r':(start-after|end-before):\s*"(?P<text>[^"]*)"')
_PYTHON = re.compile(r"```python\n(?P<code>.*?)```", re.DOTALL)


def _includes():
    for page in PAGES:
        for match in _INCLUDE.finditer(page.read_text(encoding="utf-8")):
            options = dict((m.group(1), m.group("text")) for m in _OPTION.finditer(match.group("options")))
            yield pytest.param(page, match.group("path"), options, id=f"{page.stem}:{options.get('start-after')}")


def _examples():
    for page in PAGES:
        for i, match in enumerate(_PYTHON.finditer(page.read_text(encoding="utf-8"))):
            yield pytest.param(match.group("code"), id=f"{page.relative_to(DOCS)}:{i}")


def test_the_site_has_its_pages():
    names = {p.relative_to(DOCS).as_posix() for p in PAGES}
    assert {"index.md", "getting_started.md", "guide/index.md", "guide/io.md", "guide/network.md"} <= names
    assert len([n for n in names if n.startswith("guide/")]) >= 14


def test_every_page_is_in_a_toctree():
    # Sphinx warns (an error under make docs' -W) about a page no toctree lists
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    guide = (DOCS / "guide" / "index.md").read_text(encoding="utf-8")
    for page in PAGES:
        if page.name == "index.md":
            continue
        listing = guide if page.parent.name == "guide" else index
        listed = re.search(rf"^{re.escape(page.stem)}$", listing, flags=re.MULTILINE)
        assert listed, f"{page.relative_to(DOCS)} is in no toctree"


@pytest.mark.parametrize(("page", "path", "options"), list(_includes()))
def test_included_readme_sections_exist(page, path, options):
    source = (page.parent / path).resolve()
    text = source.read_text(encoding="utf-8")
    start, end = options.get("start-after"), options.get("end-before")
    assert start is not None and start in text, f"{page.name}: {start!r} is no longer in {source.name}"
    assert end is not None and end in text, f"{page.name}: {end!r} is no longer in {source.name}"
    assert text.index(start) < text.index(end, text.index(start)), f"{page.name}: {start!r} comes after {end!r}"
    # a heading inside the included part means the README gained a section there: the page would
    # swallow it (or jump heading levels); give it its own include
    chunk = text[text.index(start) + len(start) : text.index(end, text.index(start))]
    outside_code = re.sub(r"```.*?```", "", chunk, flags=re.DOTALL)
    headings = re.findall(r"^#{1,6} .*$", outside_code, flags=re.MULTILINE)
    assert not headings, f"{page.name}: the part of {source.name} after {start!r} holds headings {headings}"


@pytest.mark.parametrize("code", list(_examples()))
def test_example_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    exec(compile(code, "<docs example>", "exec"), {"__name__": "__docs__"})
