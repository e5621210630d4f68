"""Mutation check (issue 18): every bug of a fixed catalogue is caught by a simulation-vs-theory check alone.

The catalogue, its checks and how each mutation reaches the code that ``engine="auto"`` runs are
described in ``tests/mutation_catalogue.py``.  A check compares the exact prediction with the
simulation row by row at family-wise level ``1 - 0.05 / rows`` (Bonferroni, no extra miss
allowed).  The unmutated code must pass every check, and every mutation must make one fail.

Default suite: the mutations whose checks are cheap (compiled engine, gated polling included,
scenario kinds, a short simpy credit run): all 27 today, closed forms scaled by 2 %, runs sized so
that the relative half-widths of the rows a 2 % mutation moves are <= 1.1 %
(``python3 tests/mutation_catalogue.py`` prints them).
``-m slow``: the whole catalogue, closed forms scaled by 1 %, runs 4x longer (half-widths halve),
times ``VIRTMODEL_SLOW_SCALE`` when that is above 1, and the checks sized for one large simulator
mutation (``Check.slow_length``) longer still, so that every mean-delay row detects 1 % (asserted;
``python3 tests/mutation_catalogue.py 1.01 4 --all --slow`` prints the half-widths).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("mutation_catalogue", Path(__file__).with_name("mutation_catalogue.py"))
catalogue = sys.modules.setdefault("mutation_catalogue", importlib.util.module_from_spec(_spec))
if not hasattr(catalogue, "MUTATIONS"):
    _spec.loader.exec_module(catalogue)

pytestmark = pytest.mark.filterwarnings("ignore::virtmodel.errors.VirtmodelWarning")


def _report(results, clean):
    lines = [f"check {o.check}: passed={o.passed} max rel half-width {o.max_rel_halfwidth:.4f}" for o in clean]
    lines += [f"{m.name} ({m.kind}): caught={caught} " + ", ".join(
        f"{k} {len(o.misses)}/{len(o.rows)} rows out" for k, o in outs.items()) for m, caught, outs in results]
    return "\n".join(lines)


def test_catalogue_is_fixed_and_large_enough():
    names = [m.name for m in catalogue.MUTATIONS]
    assert len(names) == len(set(names)) >= 20
    assert len(catalogue.default_mutations()) >= 20
    assert {m.kind for m in catalogue.MUTATIONS} == {"closed form", "simulator"}
    for m in catalogue.MUTATIONS:
        assert m.checks and all(c in catalogue.CHECKS for c in m.checks), m.name


def test_every_mutation_caught_default():
    """Score of the reduced catalogue: all caught at factor 1.02, and the unmutated code passes."""
    results, clean = catalogue.score(1.02, 1.0, catalogue.default_mutations())
    report = _report(results, clean)
    assert all(o.passed for o in clean), report
    # a 2 % error must be detectable: the rows a scaled closed form moves have half-widths < 1.2 %
    for o in clean:
        if o.check in ("mm1", "mg1", "mmc fcfs", "priority", "mmc priority", "srpt", "mmcc loss"):
            assert o.max_rel_halfwidth < 0.012, report
    missed = [m.name for m, caught, _ in results if not caught]
    assert not missed, report
    print(f"mutation score {len(results) - len(missed)}/{len(results)}\n{report}")


@pytest.mark.slow
def test_every_mutation_caught_full(slow_scale):
    """The whole catalogue at factor 1.01 with runs 4x longer (times VIRTMODEL_SLOW_SCALE, at least 4), each
    check times its ``slow_length``: every mean delay's family-wise relative half-width is at most 1 %."""
    scale = max(4.0, 4.0 * slow_scale)
    results, clean = catalogue.score(1.01, scale, slow=True)
    report = _report(results, clean)
    assert all(o.passed for o in clean), report
    for o in clean:
        for metric, group, exact, _, low, high in o.rows:
            if metric in ("mean_wait", "mean_response"):
                assert (high - low) / 2 / abs(exact) <= 0.01, (o.check, metric, group, report)
    missed = [m.name for m, caught, _ in results if not caught]
    assert not missed, report
