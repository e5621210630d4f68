"""Pages that ``docs/conf.py`` writes at build time into ``docs/generated/`` (not committed).

* ``generated/notebooks/``: the jupytext notebooks of ``notebooks/*.py``, copied so that myst-nb
  executes them as pages (the sources stay where the tests and JupyterLab find them);
* ``generated/derivations/``: one page per ``virtmodel.symbolic`` module, every derivation
  registered there (``vm.derivations()``) with its steps in MathJax, its assumptions and source;
* ``generated/api/``: one page per public module, autodoc of its public names.

Each writer rewrites a file only when its text changes, so that Sphinx rebuilds only what changed.
"""

from __future__ import annotations

import importlib
import inspect
import shutil
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GENERATED = HERE / "generated"

#: notebooks that read real datasets (as in tests/test_notebooks.py): left out of the site, with a
#: note on the notebooks page, when the files are not in VIRTMODEL_DATA or the user cache
NEEDS_DATA = {"06_real_data": ("bank_callcenter", "aircraft_arrivals", "babyboom")}

#: modules left out of the API reference: the command line (documented by ``virtmodel --help`` and the
#: README) and ``python -m virtmodel``, which runs it on import
API_SKIP = ("virtmodel.cli", "virtmodel.__main__")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _prune(folder: Path, keep: set[Path]) -> None:
    """Remove generated files that no longer correspond to a source (a renamed notebook, ...)."""
    for path in folder.rglob("*"):
        if path.is_file() and path not in keep:
            path.unlink()


def _heading(title: str, level: int = 1) -> str:
    return "#" * level + " " + title + "\n"


# --------------------------------------------------------------------------- notebooks


def write_notebooks() -> list[str]:
    """Copy notebooks/*.py into generated/notebooks/; return the names left out for lack of data."""
    from virtmodel import data

    out = GENERATED / "notebooks"
    kept, left_out, entries = set(), [], []
    for source in sorted((ROOT / "notebooks").glob("*.py")):
        missing = [name for name in NEEDS_DATA.get(source.stem, ()) if not data.available(name)]
        if missing:
            left_out.append(f"{source.stem} (needs the datasets {', '.join(missing)})")
            continue
        target = out / source.name
        _write(target, source.read_text(encoding="utf-8"))
        kept.add(target)
        entries.append(source.stem)
    lines = [
        _heading("Notebooks"),
        "One notebook per area, executed when the site is built, with short runs "
        "(`VIRTMODEL_NB_CUSTOMERS`, 3,000 customers per replication unless set; the notebooks' "
        "own default is 20,000).  The sources are jupytext percent-format files in `notebooks/`; "
        "`jupyter lab` opens them as notebooks (see the README).\n",
    ]
    if left_out:
        lines.append(
            "Not on this build: " + "; ".join(left_out) + ".  Set `VIRTMODEL_DATA` or run "
            "`virtmodel data fetch NAME`, then rebuild.\n"
        )
    lines += ["```{toctree}", ":maxdepth: 1", "", *entries, "```", ""]
    index = out / "index.md"
    _write(index, "\n".join(lines))
    kept.add(index)
    _prune(out, kept)
    return left_out


# --------------------------------------------------------------------------- derivations


def _markdown_text(text: str) -> str:
    """Plain text in Markdown: escape the characters Markdown would read as markup."""
    for ch in "\\`*_[]<>|$":
        text = text.replace(ch, "\\" + ch)
    return text


def _derivation_section(d) -> str:
    """A derivation as numbered steps: each step's text, then its equation (MathJax), then the result."""
    from virtmodel.symbolic.derivation import _result_symbol, latex

    lines = [
        _heading(_markdown_text(d.title), 2),
        f"`vm.derive(\"{d.name}\")` — {'exact' if d.exact else '**approximation** (exact=False)'}.\n",
        "**Source.** " + _markdown_text(d.source) + "\n",
        "**Assumptions.**\n",
        *[f"- {_markdown_text(a)}" for a in d.assumptions],
        "",
        "**Parameters.** "
        + ", ".join(f"`{name}` = ${latex(sym)}$" for name, sym in d.parameters)
        + "\n",
        "**Derivation.**\n",
    ]
    for number, step in enumerate(d.steps, 1):
        lines += [f"{number}. {_markdown_text(step.description)}", "", "   $$", "   " + step.latex(), "   $$", ""]
    lines += ["**Result.**\n", "$$", _result_symbol(d.name) + " = " + latex(d.result), "$$", ""]
    return "\n".join(lines)


def write_derivations() -> None:
    """One page per module of virtmodel.symbolic that registers derivations."""
    from virtmodel.symbolic import derivation as registry
    from virtmodel.symbolic import derivations, derive

    by_module: dict[str, list[str]] = defaultdict(list)
    for name in derivations():
        by_module[registry._BUILDERS[name].__module__.rsplit(".", 1)[-1]].append(name)
    out = GENERATED / "derivations"
    kept = set()
    for module, names in sorted(by_module.items()):
        doc = importlib.import_module(f"virtmodel.symbolic.{module}").__doc__ or ""
        summary = doc.strip().split("\n\n")[0].replace("\n", " ") if doc.strip() else ""
        text = "\n".join([
            _heading(f"Derivations: {module}"),
            f"The {len(names)} derivation(s) registered by `virtmodel/symbolic/{module}.py`, built "
            "when this page was; each ends in the closed form that "
            f"`virtmodel.analytic.{module}` (or the model named in the source) evaluates.\n",
            *( [_markdown_text(summary) + "\n"] if summary else [] ),
            *(_derivation_section(derive(name)) for name in names),
        ])
        path = out / f"{module}.md"
        _write(path, text)
        kept.add(path)
    index_lines = [
        _heading("Derivations"),
        f"Every closed form in virtmodel has a sympy derivation: {len(derivations())} in all, listed by "
        "`vm.derivations()` and built by `vm.derive(name)`.  Each page below is generated from the "
        "registry when the site is built: the steps, each with its equation (rendered by MathJax), the "
        "assumptions, the source and the public parameter names that `Derivation.lambdify()` takes.  "
        "`Derivation.latex()` gives the whole derivation in an `align*` environment for a paper "
        "(`virtmodel derive NAME --latex` prints it), `Derivation.latex(\"aligned\")` for MathJax or a "
        "notebook.\n",
        "```{toctree}",
        ":maxdepth: 1",
        "",
        *sorted(by_module),
        "```",
        "",
    ]
    index = out / "index.md"
    _write(index, "\n".join(index_lines))
    kept.add(index)
    _prune(out, kept)


# --------------------------------------------------------------------------- API reference


def api_modules() -> list[str]:
    """Every public module of virtmodel (no component starts with ``_``), packages before their modules."""
    import pkgutil

    import virtmodel

    names = ["virtmodel"]
    for info in pkgutil.walk_packages(virtmodel.__path__, "virtmodel."):
        if any(part.startswith("_") for part in info.name.split(".")) or info.name in API_SKIP:
            continue
        names.append(info.name)
    return sorted(names)


def _bound_at_top_level(module) -> set[str]:
    """Names that a def, class or assignment at the top of the module's source binds (not imports)."""
    import ast

    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError):
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _holds_sympy(obj) -> bool:
    if type(obj).__module__.partition(".")[0] == "sympy":
        return True
    return isinstance(obj, tuple | list) and any(_holds_sympy(item) for item in obj)


def _own_public_names(module) -> list[str]:
    """Names documented on the module's page.

    Every public class and function the module defines (a def, class or assignment at its top;
    docstrings refer to implementation classes too), its constants in capitals, what its
    ``__all__`` lists that it binds itself, and what its ``__all__`` takes from a private module.
    """
    listed = getattr(module, "__all__", None) or []
    bound = _bound_at_top_level(module)
    own = []
    for n in dict.fromkeys([*listed, *sorted(bound)]):
        if n.startswith("_") or not hasattr(module, n):
            continue
        obj = getattr(module, n)
        if inspect.ismodule(obj):
            continue
        # classes, functions and numba dispatchers (not sympy symbols, which are callable too)
        routine = inspect.isclass(obj) or inspect.isroutine(obj) or hasattr(obj, "py_func")
        home = getattr(obj, "__module__", None) if routine else None
        if n in bound:
            if not (routine or n.isupper() or n in listed) or (not routine and _holds_sympy(obj)):
                continue  # a symbolic module's symbols and expressions are shown by its derivations
            if routine and (home is None or not home.startswith("virtmodel")):
                continue  # a sympy Function("pi") made here, a class from another library
            if routine and home != module.__name__ and home in _MODULES:
                continue  # an alias of something documented in its own module
            own.append(n)
        elif home is not None and home not in _MODULES:
            own.append(n)  # listed in __all__, imported from a private module
        elif not routine and n in listed:
            own.append(n)  # listed in __all__ and made by the module's __getattr__
    return own


def _reexported(module) -> list[tuple[str, str]]:
    """(name, canonical dotted path) for names in ``__all__`` that the module imports from elsewhere."""
    out = []
    for n in getattr(module, "__all__", ()):
        obj = getattr(module, n, None)
        if obj is None or inspect.ismodule(obj):
            continue
        home = getattr(obj, "__module__", None)
        if home and home != module.__name__ and home in _MODULES:
            out.append((n, f"{home}.{getattr(obj, '__name__', n)}"))
    return out


_MODULES: set[str] = set()


def _relative(target: str, module_name: str) -> str:
    """autosummary wants names under the page's module written relative to it."""
    return target.removeprefix(module_name + ".")


def _api_page(module_name: str) -> str:
    module = importlib.import_module(module_name)
    own = sorted(_own_public_names(module), key=lambda n: (not inspect.isclass(getattr(module, n)), n.lower()))
    reexported = _reexported(module)
    lines = [f"``{module_name}``", "=" * (len(module_name) + 4), "",
             f".. automodule:: {module_name}", "   :no-members:", ""]
    if reexported:
        lines += [".. rubric:: Names it gathers from other modules", "", ".. autosummary::", "",
                  *(f"   ~{_relative(target, module_name)}" for _, target in reexported), ""]
    # the summary table lists classes and functions; a constant's "summary" would be its type's docstring
    listed = [n for n in own if inspect.isclass(getattr(module, n)) or callable(getattr(module, n))]
    if listed:
        lines += [".. rubric:: Defined here", "", ".. autosummary::", "", *(f"   {n}" for n in listed), ""]
    for n in own:
        obj = getattr(module, n)
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            lines += [f".. autoexception:: {module_name}.{n}", "   :show-inheritance:", ""]
        elif inspect.isclass(obj):
            # members inherited from virtmodel's own (often private) bases are the model's results;
            # those of other libraries' bases (sympy.Function, ...) are not documented here
            foreign = [c for c in obj.__mro__[1:] if c.__module__.partition(".")[0] not in ("virtmodel", "builtins")]
            inherited = [] if foreign else ["   :inherited-members:"]
            lines += [f".. autoclass:: {module_name}.{n}", "   :members:", *inherited, ""]
        elif callable(obj):
            lines += [f".. autofunction:: {module_name}.{n}", ""]
        else:
            lines += [f".. autodata:: {module_name}.{n}", "   :no-value:", ""]
    submodules = sorted(m for m in _MODULES if m.rpartition(".")[0] == module_name)
    if submodules:
        lines += [".. rubric:: Modules", "", ".. autosummary::", "",
                  *(f"   {_relative(m, module_name)}" for m in submodules), ""]
    return "\n".join(lines)


def write_api() -> list[str]:
    """One reStructuredText page per public module; return the modules that could not be imported."""
    out = GENERATED / "api"
    kept, entries, failed = set(), [], []
    for module_name in api_modules():
        try:
            importlib.import_module(module_name)
        except ImportError as error:
            failed.append(f"{module_name} ({error})")
            continue
        _MODULES.add(module_name)
    for module_name in sorted(_MODULES):
        path = out / f"{module_name}.rst"
        _write(path, _api_page(module_name))
        kept.add(path)
        entries.append(module_name)
    index = out / "index.md"
    _write(index, "\n".join([
        _heading("API reference"),
        "Generated from the numpydoc docstrings of every public module: each model states its formula, "
        "its assumptions and its source, and each model of a real mechanism (Xen, KVM/Linux, NTP, PTP) "
        "what it keeps, simplifies and leaves out.  `import virtmodel as vm` gives the names on the "
        "{doc}`virtmodel` page; every object is documented once, in the module that defines it.\n",
        "```{toctree}", ":maxdepth: 1", "", *entries, "```", "",
    ]))
    kept.add(index)
    _prune(out, kept)
    return failed


def generate() -> dict[str, list[str]]:
    """Write every generated page; return what was left out, for conf.py to log."""
    return {"notebooks": write_notebooks(), "api": write_api(), "derivations": write_derivations() or []}


def clean() -> None:
    shutil.rmtree(GENERATED, ignore_errors=True)
