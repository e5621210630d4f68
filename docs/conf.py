"""Sphinx configuration of the virtmodel documentation site (``make docs``).

pydata-sphinx-theme and myst-nb, as numpy, scipy, pandas and ArviZ use them.  Pages under
``generated/`` (notebooks, derivations, API reference) are written by ``_generate.py`` at the
start of every build and are not committed.  The build treats warnings as errors
(``sphinx-build -W --keep-going -n``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))  # the virtmodel of this tree, installed or not

# Short notebook runs (the value the tests use) unless the caller asks for more.  The kernels inherit
# this environment: without MPLBACKEND (CI sets Agg) ipykernel draws figures inline, into the pages.
os.environ.setdefault("VIRTMODEL_NB_CUSTOMERS", "3000")
os.environ.pop("MPLBACKEND", None)

import _generate  # noqa: E402

import virtmodel  # noqa: E402

project = "virtmodel"
author = "the virtmodel authors"
copyright = "the virtmodel authors"  # noqa: A001  (Sphinx's name)
version = release = virtmodel.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]

LEFT_OUT = _generate.generate()

exclude_patterns = ["_build", "_generate.py", "conf.py", "**/.ipynb_checkpoints"]
root_doc = "index"

# -- MyST and notebooks ----------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
# notebooks/*.py are jupytext percent-format notebooks
nb_custom_formats = {".py": ["jupytext.reads", {"fmt": "py:percent"}]}
nb_execution_mode = "cache"
nb_execution_cache_path = str(HERE.parent / "build" / "docs-jupyter-cache")
nb_execution_timeout = int(os.environ.get("VIRTMODEL_DOCS_CELL_TIMEOUT", "600"))  # seconds per cell
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
nb_execution_in_temp = True  # what a notebook writes (stores, figures) goes to a temporary folder

# -- API reference ---------------------------------------------------------------------------------
autosummary_generate = False  # the pages are written by _generate.py
autodoc_typehints = "none"  # numpydoc docstrings state the types
autodoc_member_order = "bysource"
autodoc_default_options = {"exclude-members": "__init__, __new__, __post_init__"}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# No network at build time, so no intersphinx: references to other projects' objects stay plain text.
nitpick_ignore_regex = [
    ("py:.*", r"(numpy|np|pandas|pd|scipy|sympy|sp|simpy|matplotlib|dask|numba|pooch|typing|collections"
              r"|dataclasses|enum|abc|pathlib|os|concurrent|tqdm)(\..*)?"),
    ("py:.*", r"(int|float|str|bool|bytes|dict|list|tuple|set|frozenset|object|type|callable|None|Any"
              r"|Exception|ValueError|TypeError|RuntimeError|UserWarning|Warning|Path|Generator"
              r"|Callable|Iterable|Iterator|Sequence|Mapping|array_like|optional)"),
    ("py:.*", r"(decimal|itertools|functools|xarray|filelock|json|tomllib|multiprocessing|numbers)(\..*)?"),
    # private helpers and base classes (a leading underscore) are not documented
    ("py:.*", r"(.*\.)?_[A-Za-z]\w*(\..*)?"),
]
# numpydoc's References sections list sources the text does not cite with [1]_
suppress_warnings = ["ref.citation"]

# -- HTML ------------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"virtmodel {release}"
html_theme_options = {
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_show_sourcelink = False
html_last_updated_fmt = None


def _canonical_name(dotted: str) -> str | None:
    """Where the object that ``dotted`` imports (``virtmodel.simulate``) is defined and documented."""
    import importlib
    import inspect

    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        trail = []
        try:
            for attr in parts[split:]:
                parent, obj = obj, inspect.getattr_static(obj, attr) if inspect.isclass(obj) else getattr(obj, attr)
                trail.append(attr)
        except AttributeError:
            return None
        home = getattr(obj, "__module__", None)
        qualname = getattr(obj, "__qualname__", None)
        if home and qualname and "<" not in qualname and (inspect.isclass(obj) or inspect.isroutine(obj)):
            return f"{home}.{qualname}"
        if len(trail) >= 2 and inspect.isclass(parent):  # a property or attribute: its class's canonical name
            return f"{parent.__module__}.{parent.__qualname__}.{trail[-1]}"
        return None
    return None


def _resolve_field(app, env, node, contnode, wanted):
    """``SimResult.conditional``: a dataclass field, described in its class's Attributes section,
    has no entry of its own; link to the class."""
    import dataclasses

    owner, _, field = wanted.rpartition(".")
    if not owner or node.get("reftype") not in ("attr", "obj"):
        return None
    classes = [name for name, entry in env.get_domain("py").objects.items()
               if entry.objtype in ("class", "exception") and (name == owner or name.endswith("." + owner))]
    if len(classes) != 1:
        return None
    cls = _import(classes[0])
    if not dataclasses.is_dataclass(cls) or field not in {f.name for f in dataclasses.fields(cls)}:
        return None
    from sphinx.util.nodes import make_refnode

    entry = env.get_domain("py").objects[classes[0]]
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, classes[0])


def _import(dotted: str):
    import importlib

    module, _, name = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def _resolve_short_names(app, env, node, contnode):
    """Resolve a docstring reference written relative to its module (``UnstableSystem``,
    ``Virtualization.preset``) to the one documented object whose name ends that way, or to where
    the object it imports is documented (``virtmodel.simulate``)."""
    from sphinx.util.nodes import make_refnode

    target = node.get("reftarget", "")
    if node.get("refdomain") != "py":
        return None
    domain = env.get_domain("py")
    wanted = target.lstrip("~.")
    types = set(domain.objtypes_for_role(node.get("reftype", "obj")) or ())
    matches = [name for name, entry in domain.objects.items()
               if (name == wanted or name.endswith("." + wanted)) and (not types or entry.objtype in types)
               and not entry.aliased]
    if len(matches) > 1:  # prefer the object closest to the referring module
        module = node.get("py:module") or ""
        best = max(len(os.path.commonprefix([m, module])) for m in matches)
        matches = [m for m in matches if len(os.path.commonprefix([m, module])) == best]
    if len(matches) != 1:
        canonical = _canonical_name(wanted)  # virtmodel.simulate -> virtmodel.sim.run.simulate
        if canonical is None or canonical not in domain.objects:
            return _resolve_field(app, env, node, contnode, wanted)
        matches = [canonical]
    entry = domain.objects[matches[0]]
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, matches[0])


def _readme_links(app, docname, source):
    """docs/*.md link the README (``../README.md``), which is outside the site: on the site, the
    getting-started page carries its Quick start and the user guide its examples."""
    source[0] = source[0].replace("](../README.md)", "](getting_started.md)")


def setup(app):
    from sphinx.util import logging

    app.connect("missing-reference", _resolve_short_names)
    app.connect("source-read", _readme_links)

    logger = logging.getLogger("virtmodel.docs")
    for what, items in LEFT_OUT.items():
        for item in items:
            logger.info(f"virtmodel docs: {what}: left out {item}")
