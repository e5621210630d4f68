"""Issue 12, item 8: ``import virtmodel`` loads neither sympy nor matplotlib, pandas nor scipy's
special, stats, integrate and optimize (they load on first use).

Measured on the 2-core development machine (median of 7 runs, CPU time of
``python3 -c "import time, resource; import virtmodel; ..."``): 0.93 s before pandas and scipy were
made lazy, 0.28 s after (bare interpreter 0.03 s). The tests check which modules are loaded rather
than the time, which a shared machine makes noisy.
"""

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


#: the heavy modules that ``import virtmodel`` must leave unloaded (bound through ``virtmodel._lazy``)
LAZY_MODULES = ("pandas", "scipy.special", "scipy.stats", "scipy.integrate", "scipy.optimize", "sympy", "matplotlib",
                "numba")


def test_import_virtmodel_does_not_load_pandas_or_scipy():
    out = run(f"import sys, virtmodel\nprint([m for m in {LAZY_MODULES!r} if m in sys.modules])")
    assert out == "[]"


def test_lazy_modules_load_on_first_use_and_give_the_same_numbers():
    out = run(
        "import sys, virtmodel as vm\n"
        "print('scipy.special' in sys.modules, 'pandas' in sys.modules)\n"
        "b = vm.analytic.erlang_b(1000, 900.0)\n"
        "print('scipy.special' in sys.modules, 'pandas' in sys.modules)\n"
        "frame = vm.predict(vm.Scenario(pcpus=1, vms=[vm.VM('a', vm.dists.Exponential(0.5),\n"
        "                                                 vm.dists.LogNormal(1.0, 2.0))])).to_frame()\n"
        "print('pandas' in sys.modules, type(frame).__module__.split('.')[0])\n"
        "print(repr(b), repr(vm.dists.LogNormal(1.0, 2.0).laplace(0.5)))\n"
    )
    from virtmodel.analytic import erlang_b
    from virtmodel.dists import LogNormal

    assert out.splitlines() == ["False False", "True False", "True pandas",
                                f"{erlang_b(1000, 900.0)!r} {LogNormal(1.0, 2.0).laplace(0.5)!r}"]


def test_lazy_module_stand_in():
    from virtmodel._lazy import lazy

    stand_in = lazy("fractions")
    assert "fractions" in repr(stand_in)
    import fractions

    assert stand_in.Fraction is fractions.Fraction
    assert "Fraction" in vars(stand_in)  # copied: the next read is a plain attribute look-up


def test_command_line_help_does_not_load_pandas_or_scipy():
    """``virtmodel --help`` builds every sub-command's parser: 0.9 s of CPU before, 0.37 s after (2-core machine)."""
    out = run("import sys, runpy\n"
              "sys.argv = ['virtmodel', '--help']\n"
              "try:\n"
              "    runpy.run_module('virtmodel', run_name='__main__')\n"
              "except SystemExit:\n"
              "    pass\n"
              f"print('MODULES', [m for m in {LAZY_MODULES!r} if m in sys.modules])")
    assert out.splitlines()[-1] == "MODULES []"
