"""Is a simulation long enough to trust?  :func:`untrusted_reasons` and :func:`warn_if_untrusted`.

:func:`virtmodel.simulate` calls :func:`warn_if_untrusted` on every result and
emits one :class:`~virtmodel.errors.VirtmodelWarning` per call, listing every
reason at once, when

* **the warm-up cut is near the end of its search range**: MSER-5 only looks
  at the first half of the data it examines (White 1997; see
  :func:`virtmodel.sim.stats.mser5`), so a cut at more than
  :data:`WARMUP_FRACTION` = 40 % of that data means the transient may not have
  ended (the minimiser is pushed against the limit);
* **Little's law is off**: the replication mean of the gap
  ``(L - X W) / L`` (``SimResult.diagnostics``) exceeds :data:`LITTLE_GAP` =
  5 % in magnitude for some group.  L = X W holds exactly for every sample
  path over a window that starts and ends empty (Little 1961; El-Taha &
  Stidham 1999, §1.3); a larger gap means the jobs still in the system at the
  window's edges matter, i.e. the window is short against the time a job
  stays;
* **the interval is wider than the estimate**: a 95 % half-width greater
  than :data:`HALF_WIDTH_FRACTION` = half the (positive) mean of a
  ``mean_*`` metric;
* **the system is overloaded** (``allow_overload=True``, utilization >= 1,
  no finite capacity and not every VM impatient): there is no steady state;
  delays and numbers in system grow with the run length, while utilization
  and throughput (the shares of a saturated host) remain meaningful.
* **the service is too heavy-tailed for the run** (issue 13): some VM's
  service law is more variable than the exponential (scv > 1), the run
  reports positive mean waits, and the jobs it drew estimate the
  residual-work term W0 = sum_i lambda_i E[S_i^2] / 2 with a 95 % relative
  error (:func:`second_moment_error`)

  .. math:: e = 1.96\\,\\frac{\\sqrt{\\sum_i \\lambda_i^2 (E[S_i^4] - E[S_i^2]^2) / N_i}}
                {\\sum_i \\lambda_i E[S_i^2]}

  (N_i jobs of VM i; the central limit theorem for the sample of S^2, which
  needs E[S^4] < inf) that is above :data:`HEAVY_TAIL_ERROR` = 20 %, or, for
  FCFS, SJF, non-preemptive and delay-dependent priority and polling, above
  the relative half-width that the interval of a ``mean_wait`` claims.  Every
  mean wait of those policies is linear in W0 (Pollaczek-Khinchine; Cobham
  1954, W0 / ((1 - sigma_{k-1})(1 - sigma_k)); Kleinrock's conservation law,
  Queueing Systems Vol. 2, 1976, ch. 3; the polling pseudo-conservation law
  of Boxma & Groenendijk 1987): one extra job
  of size x adds about lambda x^2 / (2 (1 - rho)) to the total wait, the
  same slope E[W] / E[S^2] as its effect on the sample second moment, so a
  plain average over the run cannot pin the mean wait down better than e.
  A narrower interval means the replications missed the rare huge jobs
  that make up E[S^2]: their means are skewed and the Student-t interval
  undercovers.  Infinite E[S^4] (Pareto-like tails of index <= 4) always
  warns: no run length makes these intervals reliable.
  Measured (one pCPU, log-normal service of mean 1, 10 replications;
  coverage of the exact mean response over 40 seeds; how many of 10 seeds
  this rule and the three rules above flag):

  ======  ===  ====  =========  ========  =====  ==========  =========
  policy  scv  load  customers  coverage  e      this rule   the others
  ======  ===  ====  =========  ========  =====  ==========  =========
  FCFS    16   0.5   5,000      27/40     2.53   10/10       4/10
  FCFS    16   0.9   50,000     30/40     0.80   10/10       1/10
  FCFS    4    0.5   5,000      35/40     0.22   10/10       1/10
  FCFS    4    0.5   50,000     36/40     0.069  7/10        1/10
  FCFS    4    0.9   5,000      36/40     0.22   10/10       4/10
  FCFS    4    0.9   50,000     35/40     0.069  1/10        1/10
  FCFS    2    0.7   50,000     39/40     0.025  1/10        0/10
  SRPT    16   0.9   5,000      30/40     2.53   10/10       1/10
  SRPT    16   0.5   5,000      38/40     2.53   10/10       0/10
  SRPT    4    0.9   5,000      33/40     0.22   10/10       0/10
  SRPT    4    0.9   50,000     38/40     0.069  0/10        0/10
  ======  ===  ====  =========  ========  =====  ==========  =========

  The rule is the heavy-tailed companion of Whitt's planning formula (Whitt 1989,
  "Planning queueing simulations", Management Science 35(11), 1341-1366),
  whose run length grows as (1 + c_s^2) / (1 - rho)^2 but which rests on a
  reflected Brownian motion, i.e. on second moments only: log-normal
  service of scv c has E[S^4] / E[S^2]^2 = (1 + c)^4 (83,521 at scv 16),
  which no second-moment formula sees.  For preemptive and time-sliced
  policies only the 20 % bound applies (SRPT's small jobs do not wait for
  the huge ones; at load 0.5 and scv 16 it covers 38 of 40 at 5,000
  customers and still warns, conservatively), and processor sharing, whose
  mean waits are zero by definition, is never flagged by this rule.

The advice is always the same: more customers or a longer horizon, and
fewer replications of longer runs rather than many short ones; for heavy
tails it adds how many jobs bring e to 10 %, or (infinite E[S^4]) to compare
medians and percentiles instead.  The numbers are never changed.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..errors import VirtmodelWarning
from ..policies import FCFS, SJF, DelayDependentPriority, Polling, Priority

__all__ = ["untrusted_reasons", "warn_if_untrusted", "second_moment_error", "WARMUP_FRACTION", "LITTLE_GAP",
           "HALF_WIDTH_FRACTION", "HEAVY_TAIL_ERROR"]

#: a warm-up cut above this fraction of the data MSER-5 examined (its search range ends at 1/2)
WARMUP_FRACTION = 0.4
#: largest tolerated ``|(L - X W) / L|``, replication mean, per group
LITTLE_GAP = 0.05
#: largest tolerated half-width / mean of a ``mean_*`` metric
HALF_WIDTH_FRACTION = 0.5
#: largest tolerated 95 % relative error of the sample second moment of heavy-tailed (scv > 1) service
HEAVY_TAIL_ERROR = 0.2
#: policies whose every mean wait is proportional to the residual work W0 (non-preemptive, not time-sliced)
_RESIDUAL_WORK_POLICIES = (FCFS, SJF, Priority, DelayDependentPriority, Polling)


#: the 97.5 % normal quantile: the 95 % relative error of the sample second moments
_Z = 1.959963984540054


def second_moment_error(scenario, jobs: float) -> float:
    """95 % relative error with which ``jobs`` simulated jobs estimate W0 = sum_i lambda_i E[S_i^2] / 2.

    VM i gets its arrival share of the jobs, N_i = jobs lambda_i / lambda; the error is
    ``1.96 sqrt(sum_i lambda_i^2 Var(S_i^2) / N_i) / sum_i lambda_i E[S_i^2]`` with
    Var(S^2) = E[S^4] - E[S^2]^2: ``inf`` where some E[S^4] is infinite, ``nan`` where a service
    law has no moments (a replayed trace). See the module docstring for why mean waits need it.
    """
    rates = np.array([v.arrival_rate for v in scenario.vms], dtype=float)
    try:
        m2 = np.array([v.service.moment(2) for v in scenario.vms], dtype=float)
        m4 = np.array([v.service.moment(4) for v in scenario.vms], dtype=float)
    except (AttributeError, NotImplementedError, ValueError, TypeError):
        return math.nan
    total = rates.sum()
    if jobs <= 0 or total <= 0 or not np.isfinite(m2).all():
        return math.inf
    if not np.isfinite(m4).all():
        return math.inf
    share = rates / total
    used = share > 0
    variance = np.sum(rates[used] ** 2 * (m4[used] - m2[used] ** 2) / (jobs * share[used]))
    return float(_Z * math.sqrt(max(variance, 0.0)) / np.sum(rates * m2))


def _heavy_tail_reason(result, scenario) -> str | None:
    """The heavy-tailed-service reason (module docstring), or None."""
    vms = getattr(scenario, "vms", None)
    if not vms or (getattr(scenario, "allow_overload", False) and not scenario.utilization < 1):
        return None
    heavy = [v for v in vms if getattr(v.service, "scv", 0.0) > 1 + 1e-12]
    if not heavy or result.diagnostics.empty:
        return None
    jobs = float(result.diagnostics[result.diagnostics["group"] == "all"]["departures"].sum())
    error = second_moment_error(scenario, jobs)
    s = result.summary
    waits = s[(s["metric"] == "mean_wait") & (s["mean"] > 0)]
    if math.isnan(error) or waits.empty:
        return None
    relative = ((waits["ci_high"] - waits["ci_low"]) / 2 / waits["mean"]).to_numpy(dtype=float)
    tightest = int(np.nanargmin(relative)) if np.isfinite(relative).any() else None
    claims_too_much = (tightest is not None and relative[tightest] < error
                       and isinstance(scenario.policy, _RESIDUAL_WORK_POLICIES) and not scenario.policy.preemptive)
    if not (error > HEAVY_TAIL_ERROR or claims_too_much):
        return None
    names = ", ".join(f"{v.name} (scv {v.service.scv:.3g})" for v in heavy[:4])
    if math.isinf(error):
        how = ("has an infinite fourth moment (or variance), so no run length gives its sample second moment, "
               "on which mean waits depend, a normal error")
    else:
        how = (f"drew {jobs:,.0f} jobs, which pin down the second moment of service, on which mean waits depend, "
               f"only to ±{error:.0%} (95 %)")
    claim = (f", while the interval of mean_wait[{waits['group'].iloc[tightest]}] claims ±{relative[tightest]:.1%}"
             if tightest is not None and relative[tightest] < error else "")
    return (f"the service of {names} is heavy-tailed and the run {how}{claim}: short heavy-tailed runs miss the "
            "rare huge jobs, their replication means are skewed and the intervals of delays are probably too narrow")


def _heavy_tail_advice(result, scenario) -> str:
    """How many jobs bring the second-moment error to 10 %, or what to do when none will."""
    jobs = float(result.diagnostics[result.diagnostics["group"] == "all"]["departures"].sum())
    error = second_moment_error(scenario, jobs)
    if not math.isfinite(error):
        return ("; for heavy-tailed service with infinite E[S^4] no run length makes mean-delay intervals "
                "reliable: compare medians or percentiles instead, or truncate the service law")
    needed = float(f"{jobs * (error / 0.10) ** 2:.2g}")  # two significant digits
    return (f"; for ±10 % on the second moment of this service about {needed:,.0f} jobs in all are needed "
            "(or compare medians and percentiles, which heavy tails disturb far less)")


def _examined(result) -> float | None:
    """How many departures MSER-5 looked at (see simulate's methodology), or None for a fixed fraction."""
    if result.warmup != "mser5":
        return None
    diag = result.diagnostics.drop_duplicates("replication")
    if diag.empty:
        return None
    total = float((diag["warmup_removed"] + diag["departures"]).mean())
    if result.customers is not None:
        n = result.customers
        return float(max(min(n, 2_000), n // 4)) if result.replications >= 2 else float(n)
    return total / 4 if result.replications >= 2 else total  # horizon: the pilot ran a quarter of it


def untrusted_reasons(result, scenario=None) -> list[str]:
    """The reasons (plain sentences) why ``result`` (a SimResult) is too short to trust; [] if none."""
    reasons = []
    if (scenario is not None and getattr(scenario, "allow_overload", False) and scenario.capacity is None
            and not scenario.utilization < 1 and not all(v.patience is not None for v in scenario.vms)):
        reasons.append(f"the system is overloaded (offered utilization {scenario.utilization:.4g} >= 1, "
                       "allow_overload=True): it has no steady state, so waits, responses and numbers in "
                       "system grow with the run length (utilization and throughput shares remain meaningful)")
    diag = result.diagnostics
    examined = _examined(result)
    if examined and not diag.empty:
        removed = float(diag.drop_duplicates("replication")["warmup_removed"].max())
        if removed > WARMUP_FRACTION * examined:
            reasons.append(f"the MSER-5 warm-up cut ({removed:.0f} of the {examined:.0f} departures it examined) "
                           "is near the end of its search range: the transient may not have ended")
    if not diag.empty:
        gaps = diag.groupby("group", sort=False)["littles_law_gap"].mean()
        bad = gaps[gaps.abs() > LITTLE_GAP]
        if not bad.empty:
            text = ", ".join(f"{g} {v:+.1%}" for g, v in bad.items())
            reasons.append(f"Little's law is off by more than {LITTLE_GAP:.0%} ((L - X W) / L: {text})")
    s = result.summary
    mean_rows = s[s["metric"].str.startswith("mean_") & (s["mean"] > 0)]
    half = (mean_rows["ci_high"] - mean_rows["ci_low"]) / 2
    wide = mean_rows[np.isfinite(half) & (half > HALF_WIDTH_FRACTION * mean_rows["mean"])]
    if not wide.empty:
        text = ", ".join(f"{r.metric}[{r.group}] {r.mean:.4g} ± {(r.ci_high - r.ci_low) / 2:.3g}"
                         for r in wide.head(4).itertuples())
        more = f" and {len(wide) - 4} more" if len(wide) > 4 else ""
        reasons.append(f"the 95 % half-width exceeds half the mean for {text}{more}")
    if scenario is not None:
        heavy = _heavy_tail_reason(result, scenario)
        if heavy is not None:
            reasons.append(heavy)
    return reasons


def warn_if_untrusted(result, scenario=None, stacklevel: int = 3) -> None:
    """Emit one :class:`~virtmodel.errors.VirtmodelWarning` listing :func:`untrusted_reasons`, if any."""
    reasons = untrusted_reasons(result, scenario)
    if not reasons:
        return
    size = (f"customers={result.customers}" if result.customers is not None
            else f"horizon={result.horizon:g}" if result.horizon is not None and math.isfinite(result.horizon)
            else "this run length")
    overloaded = reasons[0].startswith("the system is overloaded")
    if overloaded and len(reasons) == 1:
        head, advice = "simulate: do not read these delays as steady-state values", (
            "A longer run will not help: lower the load (or give a finite capacity) for delays; "
            "read only utilization and throughput of a saturated host")
    else:
        head, advice = "simulate: this run is too short to trust", (
            f"Simulate more customers or a longer horizon than {size}, with fewer replications of longer "
            "runs rather than many short ones" + ("; an overloaded system needs a lower load instead"
                                                 if overloaded else "")
            + (_heavy_tail_advice(result, scenario) if any("heavy-tailed" in r for r in reasons) else ""))
    warnings.warn(f"{head}: " + "; ".join(reasons) + f". {advice} (the numbers are reported unchanged).",
                  VirtmodelWarning, stacklevel=stacklevel)
