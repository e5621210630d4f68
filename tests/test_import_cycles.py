"""Issue 13 item 5: the package's module-level imports form no cycle.

The test parses every ``virtmodel/**/*.py`` with :mod:`ast`, keeps the imports
that run when the module is imported (top-level statements, including those
under ``if``/``try`` but not ``if TYPE_CHECKING``; imports inside functions run
later and cannot form an import-time cycle), resolves relative imports, and
looks for strongly connected components of more than one module (Tarjan).
``from . import x`` is an edge to the submodule ``x``, not to the package;
importing a submodule's parent package is implicit in Python and not counted.
"""

from __future__ import annotations

import ast
import pathlib

import virtmodel

PACKAGE = pathlib.Path(virtmodel.__file__).parent


def _modules() -> dict[str, pathlib.Path]:
    mods = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ["virtmodel", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _targets(module: str, node, is_package: bool, mods) -> set[str]:
    if isinstance(node, ast.Import):
        return {a.name for a in node.names if a.name in mods}
    if node.level:
        base = module.split(".")
        if not is_package:
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    out = set()
    for alias in node.names:
        sub = f"{prefix}.{alias.name}"
        out.add(sub if sub in mods else prefix)
    return {m for m in out if m in mods}


def _module_level_imports(tree: ast.Module):
    """Import nodes that run at import time (not in functions/classes' methods, not under TYPE_CHECKING)."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            test = node.test
            if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                    isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
                stack.extend(node.orelse)
            else:
                stack.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            stack.extend(node.body + node.orelse + node.finalbody)
            for handler in node.handlers:
                stack.extend(handler.body)
        elif isinstance(node, (ast.With, ast.For, ast.While)):
            stack.extend(node.body)
        elif isinstance(node, ast.ClassDef):
            stack.extend(node.body)  # a class body runs at import time; its methods do not


def import_graph() -> dict[str, set[str]]:
    mods = _modules()
    graph = {}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        deps = set()
        for node in _module_level_imports(tree):
            deps |= _targets(name, node, path.name == "__init__.py", mods)
        graph[name] = deps - {name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (iterative Tarjan)."""
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_the_graph_sees_the_package():
    graph = import_graph()
    assert "virtmodel.analytic.solve" in graph and "virtmodel.areas" in graph
    assert "virtmodel.analytic.polling" in graph["virtmodel.areas"]
    assert "virtmodel.analytic.solve" in graph["virtmodel.analytic.polling"]


def test_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"} - {"e"}}
    assert import_cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycle():
    cycles = import_cycles(import_graph())
    assert cycles == [], "module-level import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_dispatcher_imports_none_of_its_plugins():
    """predict's dispatcher (analytic/solve.py) imports no solver plug-in at module level (DESIGN.md)."""
    graph = import_graph()
    plugins = {"virtmodel.analytic.polling", "virtmodel.analytic.allocation", "virtmodel.analytic.linux_fair"}
    assert not graph["virtmodel.analytic.solve"] & plugins


def test_plugins_register_when_only_the_dispatcher_is_imported():
    import subprocess
    import sys

    code = ("from virtmodel.analytic.solve import _SOLVERS\n"
            "from virtmodel.policies import Credit, LinuxFair, Polling, ProportionalShare\n"
            "print(all(p in _SOLVERS for p in (Credit, LinuxFair, Polling, ProportionalShare)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "True"
