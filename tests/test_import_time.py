"""Issue 12, item 8: ``import virtmodel`` loads neither sympy nor matplotlib (they load on first use)."""

from __future__ import annotations

import subprocess
import sys


def run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          timeout=120).stdout.strip()


def test_import_virtmodel_does_not_load_sympy_or_matplotlib():
    out = run("import virtmodel, sys; print('sympy' in sys.modules, 'matplotlib' in sys.modules)")
    assert out == "False False"


def test_lazy_names_still_work():
    out = run(
        "import sys, virtmodel as vm\n"
        "from virtmodel import derive\n"
        "print(derive is vm.derive, 'mm1.mean_wait' in vm.derivations(), vm.Derivation.__name__,\n"
        "      'sympy' in sys.modules, 'matplotlib' in sys.modules)\n"
        "print(callable(vm.plotting.paper_style), 'matplotlib' in sys.modules, 'derive' in dir(vm))\n"
    )
    assert out.splitlines() == ["True True Derivation True False", "True True True"]
