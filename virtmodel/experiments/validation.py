"""The validation battery behind ``virtmodel validate``.

Each entry is a scenario with a closed form; the battery predicts and
simulates every one and reports, row by row, whether the analytic value lies
inside the simulated 95 % interval.

With dozens of rows, some exact values fall outside their 95 % intervals by
chance alone (about 5 % of them).  The verdict is therefore a family-wise
test: an exact row *fails* when its value lies outside the Bonferroni
interval at level 1 - 0.05/m (m = number of exact rows), so a correct model
fails the battery with probability at most 5 %, while a wrong formula, far
outside, still fails.  The table shows both the 95 % interval
(``agrees``) and the family-wise verdict (``passes``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from tqdm.auto import tqdm

from .. import policies as P
from ..analytic.solve import predict
from ..dists import Deterministic, Exponential, HyperExponential
from ..scenario import VM, Scenario
from ..sim.run import simulate

__all__ = ["Check", "battery", "run_battery", "SIZES", "engine_sample"]

#: customers per replication and replications for each battery size
SIZES = {"quick": (20_000, 5), "default": (50_000, 10), "full": (500_000, 10)}


@dataclass(frozen=True)
class Check:
    """One battery entry: a label, a scenario, and how much longer than the battery size it runs.

    ``length`` multiplies the customers per replication: heavy traffic needs
    longer runs (the relaxation time grows like 1 / (1 - rho)^2), so the
    checks at load 0.95 run 4x as long as the others.  ``engine`` is passed to
    :func:`~virtmodel.sim.run.simulate` (``"auto"``: compiled where supported).
    """

    label: str
    scenario: Scenario
    length: float = 1.0
    engine: str = "auto"


#: run-length factor for the heavy-traffic checks (load 0.95)
HEAVY = 4.0


def _single(load, service, servers=1, capacity=None):
    lam = load * servers / service.mean
    return Scenario(servers, [VM("vm", Exponential(lam), service)], capacity=capacity)


#: the areas of the battery, in order
AREAS = ("queues", "scheduling", "polling", "allocation", "hypervisor", "admission", "clock", "lifecycle")


def battery(areas=AREAS) -> list[Check]:
    """The validation battery: every area's scenarios with closed forms.

    ``"queues"``: single-station FCFS queues; ``"scheduling"``: every
    scheduling policy at loads 0.5, 0.8 and 0.95 with exponential and with
    high-variance (H2, scv 4) service; ``"polling"``: exact per-VM waits of
    symmetric and asymmetric (per-VM switchover) exhaustive and gated systems; ``"allocation"``:
    proportional-share and credit long-run shares; ``"hypervisor"``:
    virtualization overhead, consolidation, boot storms; ``"admission"``:
    one host's blocking per flavour against Kaufman-Roberts, minimum vs
    dynamic allocation latency; ``"clock"``: lost-tick rate errors, catch-up
    feasibility and backlog growth, NTP/PTP offset errors, oscillator and
    holdover (guest clocks, :class:`virtmodel.ClockScenario`); ``"lifecycle"``:
    OS installs over a shared image server, host bring-up, provisioning storms.
    """
    unknown = sorted(set(areas) - set(AREAS))
    if unknown:
        from ..errors import InvalidParameter

        raise InvalidParameter(f"areas must be among {list(AREAS)}, got {unknown}")
    checks = []
    if "queues" in areas:
        checks += _queue_checks()
    if "scheduling" in areas:
        checks += _scheduling_checks()
    if "polling" in areas:
        from .battery_polling import polling_checks

        checks += polling_checks()
    if "allocation" in areas:
        from .battery_allocation import allocation_checks

        checks += allocation_checks()
    if "hypervisor" in areas:
        from .battery_hypervisor import hypervisor_checks

        checks += hypervisor_checks()
    if "admission" in areas:
        from .battery_admission import admission_checks

        checks += admission_checks()
    if "clock" in areas:
        from .battery_clock import clock_checks

        checks += clock_checks()
    if "lifecycle" in areas:
        from .battery_lifecycle import lifecycle_checks

        checks += lifecycle_checks()
    return checks


def _scheduling_checks() -> list[Check]:
    """Two VMs (priority 0 and 1) splitting the load evenly on one pCPU, under each policy."""
    policies = [
        ("SJF", P.SJF()), ("SRPT", P.SRPT()), ("PSJF", P.PSJF()),
        ("priority", P.Priority(preemptive=False)), ("preemptive priority", P.Priority(preemptive=True)),
        ("PS", P.ProcessorSharing()), ("RR q=0.1", P.RoundRobin(0.1)),
        ("RR q=0.1 switch 0.005", P.RoundRobin(0.1, switch_cost=0.005)),
        ("delay-dependent b=(2,1)", P.DelayDependentPriority(slope={"a": 2.0, "b": 1.0})),
    ]
    services = [("exp", Exponential(1.0)), ("H2 scv 4", HyperExponential.balanced(1.0, 4.0))]
    checks = []
    for label, policy in policies:
        for service_label, service in services:
            for load in (0.5, 0.8, 0.95):
                # with a switch cost the pCPU also carries overhead: keep the total load as stated
                work = load
                if isinstance(policy, P.RoundRobin) and policy.switch_cost:
                    work = load / (1 + _mean_dispatches(service, policy.quantum) * policy.switch_cost)
                lam = work / service.mean / 2
                vms = [VM("a", Exponential(lam), service, priority=0),
                       VM("b", Exponential(lam), service, priority=1)]
                sc = Scenario(1, vms, policy=policy)
                checks.append(Check(f"{label}, {service_label}, load {load}", sc, HEAVY if load >= 0.95 else 1.0))
    return checks


#: the checks of :func:`engine_sample`: FCFS on one and four pCPUs and with a finite capacity,
#: and every scheduling policy with exponential service at load 0.8
ENGINE_SAMPLE = ("M/M/1 load 0.8", "M/M/4 load 0.8", "M/M/1/10 load 0.9")


def engine_sample(engines=("simpy", "compiled")) -> list[Check]:
    """One check per policy, run once on each engine (``virtmodel validate --engines``).

    The FCFS checks of :data:`ENGINE_SAMPLE` and, for every policy of the
    ``"scheduling"`` area, its check with exponential service at load 0.8,
    limited to the scenarios the compiled engine supports
    (:func:`virtmodel.sim.compiled.supports`); each appears once per engine,
    labelled ``"<check> [engine]"`` and simulated with that ``engine``, so the
    table's ``engine`` column and the label say which simulator made the row,
    and both rows of a policy face the same closed form.
    """
    from ..sim.compiled import supports

    picked = [c for c in _queue_checks() if c.label in ENGINE_SAMPLE]
    picked += [c for c in _scheduling_checks() if c.label.endswith(", exp, load 0.8")]
    return [Check(f"{c.label} [{engine}]", c.scenario, c.length, engine)
            for c in picked if supports(c.scenario) for engine in engines]


def _mean_dispatches(service, quantum):
    """E[ceil(X / quantum)] = sum_k P(X > k quantum), the dispatches a job needs under round robin."""
    import numpy as np

    k = np.arange(0, 200_000)
    return float(np.sum(1 - np.asarray(service.cdf(k * quantum))))


def _queue_checks() -> list[Check]:
    """The foundation battery: single-station FCFS queues with exact closed forms."""
    exp1 = Exponential(1.0)
    return [
        Check("M/M/1 load 0.5", _single(0.5, exp1)),
        Check("M/M/1 load 0.8", _single(0.8, exp1)),
        Check("M/M/1 load 0.95", _single(0.95, exp1), HEAVY),
        Check("M/M/4 load 0.8", _single(0.8, exp1, servers=4)),
        Check("M/D/1 load 0.8", _single(0.8, Deterministic(1.0))),
        Check("M/H2/1 scv 4 load 0.7", _single(0.7, HyperExponential.balanced(1.0, 4.0))),
        Check("M/M/1/10 load 0.9", _single(0.9, exp1, capacity=10)),
        Check("M/M/3/3 Erlang loss load 0.7", _single(0.7, exp1, servers=3, capacity=3)),
        Check("M/M/2+M Erlang-A load 1.2 (patience mean 2)", Scenario(2, [
            VM("vm", Exponential(2.4), exp1, patience=Exponential(0.5))])),
        Check("two VMs on one pCPU (exp + H2)", Scenario(1, [
            VM("web", Exponential(0.4), exp1),
            VM("batch", Exponential(0.2), HyperExponential.balanced(2.0, 4.0)),
        ])),
    ]


def run_battery(checks=None, customers=50_000, replications=10, seed=2026, workers=1,
                progress=True) -> pd.DataFrame:
    """Predict and simulate every check; return the tidy comparison table.

    Columns: ``check, model, exact, metric, group, analytic, sim_mean, ci_low,
    ci_high, rel_error, agrees, passes, customers, replications, seed, engine``
    (``engine``: which simulator made the row, ``SimResult.engine``).
    ``agrees``: analytic inside the 95 % interval; ``passes``: inside the
    family-wise (Bonferroni) interval over all exact rows, and always True
    for approximate models.  Each check gets its own seed, ``seed + index``.
    """
    checks = battery() if checks is None else list(checks)
    done = []
    for i, check in enumerate(tqdm(checks, desc="validate", disable=not progress)):
        pred = predict(check.scenario)
        res = simulate(check.scenario, customers=int(customers * check.length), replications=replications,
                       seed=seed + i, workers=workers, engine=check.engine)
        done.append((check, pred, res, seed + i))
    m = sum(int(p.exact) * len(p.values.merge(r.summary, on=["metric", "group"])) for _, p, r, _ in done)
    family_level = 1 - 0.05 / max(m, 1)
    rows = []
    for check, pred, res, s in done:
        tab = pred.values.merge(res.summary, on=["metric", "group"])
        for row in tab.itertuples(index=False):
            lo, hi = row.ci_low, row.ci_high
            flo, fhi = res.ci(row.metric, row.group, level=family_level)
            analytic = row.value
            rel = abs(row.mean - analytic) / abs(analytic) if analytic != 0 else abs(row.mean)
            rows.append(dict(
                check=check.label, model=pred.model, exact=pred.exact, metric=row.metric,
                group=row.group, analytic=analytic, sim_mean=row.mean, ci_low=lo, ci_high=hi,
                rel_error=rel, agrees=bool(lo <= analytic <= hi),
                passes=bool(flo <= analytic <= fhi) or not pred.exact,
                customers=int(customers * check.length), replications=replications, seed=s,
                engine=res.engine,
            ))
    table = pd.DataFrame(rows)
    table.attrs["family_level"] = family_level
    return table
