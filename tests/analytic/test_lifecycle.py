"""Boot-storm makespans: closed forms, quadrature, bounds and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from virtmodel.analytic import lifecycle as lc
from virtmodel.dists import Deterministic, Empirical, Erlang, Exponential, Gamma, LogNormal, Uniform
from virtmodel.errors import InvalidParameter, NoClosedForm
from virtmodel.symbolic import derive


def test_harmonic_over_mu():
    n = np.arange(1, 30)
    expected = np.array([math.fsum(1 / j for j in range(1, k + 1)) for k in n]) / 2.0
    np.testing.assert_allclose(lc.parallel_makespan(n, Exponential(2.0)), expected, rtol=1e-12)
    np.testing.assert_allclose(derive("lifecycle.parallel_boot_exponential")(n_vms=n, boot_rate=2.0),
                               expected, rtol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 7, 50])
def test_quad_matches_closed_form_for_exponential(n):
    # Erlang(1, mu) and Gamma(1, mu) are exponential but take the quadrature path
    assert lc.parallel_makespan(n, Erlang(1, 2.0)) == pytest.approx(float(lc.harmonic(n)) / 2.0, rel=1e-8)
    assert lc.parallel_makespan(n, Gamma(1.0, 0.5)) == pytest.approx(float(lc.harmonic(n)) / 0.5, rel=1e-8)


def test_other_closed_forms_against_quadrature_and_monte_carlo():
    assert lc.parallel_makespan(5, Uniform(1.0, 3.0)) == pytest.approx(1 + 2 * 5 / 6)
    assert lc.parallel_makespan(3, Deterministic(2.0)) == 2.0
    e = Empirical([1.0, 2.0, 4.0])
    x = np.random.default_rng(0).choice([1.0, 2.0, 4.0], size=(400_000, 3)).max(axis=1)
    assert lc.parallel_makespan(3, e) == pytest.approx(x.mean(), abs=0.01)
    ln = LogNormal(1.0, 0.5)
    y = ln.sample(np.random.default_rng(1), (200_000, 8)).max(axis=1)
    assert lc.parallel_makespan(8, ln) == pytest.approx(y.mean(), abs=5 * y.std() / math.sqrt(y.size))


def test_slots():
    b = Exponential(1.0)
    assert lc.slots_makespan(4, b, 2) == pytest.approx(2.5)
    assert lc.slots_makespan(10, b, 1) == pytest.approx(10.0)
    assert lc.slots_makespan(3, b, 5) == pytest.approx(float(lc.harmonic(3)))
    for n, k in [(10, 3), (5, 5), (7, 1)]:
        assert lc.slots_makespan(n, Exponential(3.0), k) == pytest.approx(
            derive("lifecycle.slots_boot_exponential")(n_vms=n, boot_rate=3.0, slots=k), rel=1e-12)
    assert lc.slots_makespan(7, Deterministic(2.0), 3) == 6.0
    with pytest.raises(NoClosedForm):
        lc.slots_makespan(10, LogNormal(1.0, 0.5), 3)
    low, high = lc.slots_makespan_bounds(10, Exponential(1.0), 3)
    assert low <= lc.slots_makespan(10, Exponential(1.0), 3) <= high


def test_stages():
    m = lc.boot_storm_makespan(5, Exponential(1.0), create=Deterministic(1.0), configure=Deterministic(0.5))
    assert m.exact and m.value == pytest.approx(1.5 + float(lc.harmonic(5)))
    m = lc.boot_storm_makespan(5, Exponential(1.0), create=Exponential(2.0))
    assert not m.exact and m.value == pytest.approx(0.5 + float(lc.harmonic(5)))
    with pytest.raises(NoClosedForm):
        lc.boot_storm_makespan(5, Exponential(1.0), slots=2, create=Exponential(2.0))


@pytest.mark.parametrize("call", [
    lambda: lc.parallel_makespan(0, Exponential(1.0)),
    lambda: lc.parallel_makespan(2.5, Exponential(1.0)),
    lambda: lc.sequential_makespan(3, 1.0),
    lambda: lc.slots_makespan(3, Exponential(1.0), 0),
    lambda: lc.boot_storm_makespan(3, Exponential(1.0), create=2.0),
])
def test_bad_input(call):
    with pytest.raises(InvalidParameter):
        call()
