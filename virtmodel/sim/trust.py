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

The advice is always the same: more customers or a longer horizon, and
fewer replications of longer runs rather than many short ones.  The
numbers are never changed.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..errors import VirtmodelWarning

__all__ = ["untrusted_reasons", "warn_if_untrusted", "WARMUP_FRACTION", "LITTLE_GAP", "HALF_WIDTH_FRACTION"]

#: a warm-up cut above this fraction of the data MSER-5 examined (its search range ends at 1/2)
WARMUP_FRACTION = 0.4
#: largest tolerated |(L - X W) / L|, replication mean, per group
LITTLE_GAP = 0.05
#: largest tolerated half-width / mean of a ``mean_*`` metric
HALF_WIDTH_FRACTION = 0.5


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
                                                 if overloaded else ""))
    warnings.warn(f"{head}: " + "; ".join(reasons) + f". {advice} (the numbers are reported unchanged).",
                  VirtmodelWarning, stacklevel=stacklevel)
