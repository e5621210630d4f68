"""The scheduling derivations (derive layer) agree with virtmodel.analytic.scheduling (predict layer).

Property tests over the valid parameter range, to 1e-9 relative.  Note the
numbering: the derivations take ``cls`` = 1, 2 (1 the highest priority, or
the smaller slope), the analytic models a 0-based class index.  Skipped until
the analytic module exists.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

asch = pytest.importorskip("virtmodel.analytic.scheduling")

from virtmodel.dists import Exponential  # noqa: E402
from virtmodel.symbolic import derive  # noqa: E402

REL = 1e-9

rates = st.floats(min_value=1e-2, max_value=1e2)
loads = st.floats(min_value=1e-3, max_value=0.95)
scvs = st.floats(min_value=0.0, max_value=20.0)
sizes = st.floats(min_value=1e-3, max_value=60.0)  # mu x


def close(actual, expected, rel=REL):
    return math.isclose(float(actual), float(expected), rel_tol=rel, abs_tol=1e-300)


@dataclasses.dataclass(frozen=True)
class Moments:
    """A service 'distribution' given by its first two moments (all the mean-value models use)."""

    mean: float
    second: float

    def moment(self, k):
        return {1: self.mean, 2: self.second}[k]


@st.composite
def two_classes(draw):
    load = draw(loads)
    split = draw(st.floats(min_value=0.01, max_value=0.99))
    means = [1 / draw(rates), 1 / draw(rates)]
    cv2 = [draw(scvs), draw(scvs)]
    lam = [split * load / means[0], (1 - split) * load / means[1]]
    second = [(1 + c) * m**2 for c, m in zip(cv2, means, strict=True)]
    params = {
        "arrival_rate_1": lam[0],
        "arrival_rate_2": lam[1],
        "service_mean_1": means[0],
        "service_mean_2": means[1],
        "service_second_moment_1": second[0],
        "service_second_moment_2": second[1],
    }
    services = [Moments(m, s) for m, s in zip(means, second, strict=True)]
    return params, lam, services


@settings(max_examples=100, deadline=None)
@given(case=two_classes(), x=st.floats(min_value=1e-3, max_value=1e3))
def test_priority(case, x):
    p, lam, services = case
    nonpre = asch.MG1Priority(lam, services, preemptive=False)
    pre = asch.MG1Priority(lam, services, preemptive=True)
    for k in (0, 1):
        assert close(derive("priority.nonpreemptive_wait")(cls=k + 1, **p), nonpre.mean_wait[k])
        assert close(
            derive("priority.preemptive_response")(size=x, cls=k + 1, **p), pre.response_given_size(x, k)
        )
    assert close(derive("conservation_law")(**p), asch.conservation_sum(lam, services))


@settings(max_examples=100, deadline=None)
@given(case=two_classes(), b1=rates, ratio=st.floats(min_value=1.0, max_value=1e6))
def test_delay_dependent(case, b1, ratio):
    p, lam, services = case
    b2 = b1 * ratio
    q = asch.MG1DelayDependent(lam, services, slopes=[b1, b2])
    f = derive("delay_dependent.wait").lambdify()
    assert close(f(cls=1, slope_1=b1, slope_2=b2, **p), q.mean_wait[0])
    assert math.isclose(f(cls=2, slope_1=b1, slope_2=b2, **p), q.mean_wait[1], rel_tol=1e-8)


@settings(max_examples=100, deadline=None)
@given(case=two_classes(), x=st.floats(min_value=1e-3, max_value=1e3))
def test_ps(case, x):
    _, lam, services = case
    total = sum(lam)
    mean = sum(r * s.mean for r, s in zip(lam, services, strict=True)) / total
    q = asch.MG1PS(lam, services)
    value = derive("ps.response_given_size")(size=x, arrival_rate=total, service_mean=mean)
    assert close(value, q.response_given_size(x))


@settings(max_examples=15, deadline=None)  # the analytic SRPT integrates numerically: keep it short
@given(mu=rates, rho=loads, u=sizes)
def test_size_based_with_exponential_service(mu, rho, u):
    lam, x = rho * mu, u / mu
    p = dict(size=x, arrival_rate=lam, service_rate=mu)
    for name, model in (
        ("srpt.response_given_size", asch.MG1SRPT),
        ("psjf.response_given_size", asch.MG1PSJF),
        ("sjf.response_given_size", asch.MG1SJF),
    ):
        expected = model([lam], [Exponential(rate=mu)]).response_given_size(x)
        assert close(derive(name)(**p), expected), name


@settings(max_examples=100, deadline=None)
@given(
    mu=rates,
    rho=loads,
    mu_q=st.floats(min_value=1e-3, max_value=30.0),
    extra=st.floats(min_value=0.0, max_value=1.0),
)
def test_round_robin_exponential(mu, rho, mu_q, extra):
    lam, q = rho * mu, mu_q / mu
    s = extra * (0.97 - rho) * (-math.expm1(-mu_q)) / lam  # keeps lambda E[X'] <= 0.97
    model = asch.MG1RoundRobin([lam], [Exponential(rate=mu)], quantum=q, switch_cost=s)
    assert model.exact
    value = derive("rr.exponential_switch_cost")(arrival_rate=lam, service_rate=mu, quantum=q, switch_cost=s)
    assert close(value, model.overall_mean_response)
