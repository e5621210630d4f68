r"""Erlang C and Erlang A against a real call centre, hour by hour (``virtmodel.data``).

The bank call centre of Brown et al. (JASA 2005; Technion SEE data,
February 1999, ``load("bank_callcenter")``): a call that leaves the
voice-response unit asking for an agent is either served (``AGENT``) or
hangs up while queued (an abandonment); phantom calls are left out.  Only
Sunday-Thursday are kept (the bank's working week).  Each hour of day is
treated as a stationary M/M/c+M system, pooled over the days:

* arrival rate: calls in that hour / (days x 3600 s);
* service: the mean service time of the calls served that hour;
* patience: exponential with rate theta = abandonments / total time waited
  by all queued calls (the maximum-likelihood estimate with served calls'
  waits as censored patience; Brown et al. 2005, sec. 5);
* agents c: the mean number of distinct agents who served a call in that
  hour (who was working, not who was free for calls all the hour: an upper
  bound on the effective staffing).

:func:`hourly_erlang_table` puts Erlang C (:class:`~virtmodel.analytic.MMc`)
and Erlang A (:class:`~virtmodel.analytic.MMcM`, Palm 1943; Garnett,
Mandelbaum & Reiman 2002) beside the measured waits and abandonment, then
fits one number per hour, the effective staffing c_eff at which Erlang A
gives the measured abandonment, and reports what that model predicts for
the mean wait: a one-parameter fit tested on a second measurement.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..analytic import MMc, MMcM

__all__ = ["working_week_calls", "hourly_erlang_table", "HOURS"]

#: hours of day with enough calls on every working day (7:00 to 23:59)
HOURS = tuple(range(7, 24))
#: pandas day_of_week of Sunday..Thursday (Monday = 0)
_WORKING_WEEK = (6, 0, 1, 2, 3)


def working_week_calls(bank: pd.DataFrame, hours=HOURS) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The calls asking for an agent on Sunday-Thursday in ``hours``: ``(calls, served, days)``.

    ``calls`` has the columns of ``load("bank_callcenter")`` plus ``hour``
    and ``day`` (of leaving the voice-response unit); ``served`` is the
    subset served by an agent; ``days`` the number of working days.
    """
    calls = bank[(bank["outcome"] == "AGENT") | bank["abandoned"]].copy()
    calls = calls[calls["vru_exit"].dt.day_of_week.isin(_WORKING_WEEK)]
    calls["hour"] = calls["vru_exit"].dt.hour
    calls["day"] = calls["vru_exit"].dt.normalize()
    days = int(calls["day"].nunique())
    calls = calls[calls["hour"].isin(list(hours))]
    served = calls[calls["outcome"] == "AGENT"]
    return calls, served, days


def _erlang_a(table, agents):
    return MMcM(table["arrival_rate"].to_numpy(), 1 / table["mean_service"].to_numpy(), agents,
                table["patience_rate"].to_numpy())


def hourly_erlang_table(bank: pd.DataFrame, hours=HOURS, max_agents: int = 15) -> pd.DataFrame:
    """Per hour of day: fitted rates, measured waits and abandonment, Erlang C and Erlang A.

    Parameters
    ----------
    bank : DataFrame
        ``virtmodel.data.load("bank_callcenter")``.
    hours : sequence of int
        Hours of day to keep.
    max_agents : int
        Largest staffing tried when fitting ``agents_effective``.

    Returns
    -------
    DataFrame indexed by hour
        ``calls``, ``arrival_rate`` (1/s), ``mean_service`` (s),
        ``scv_service``, ``patience_rate`` (1/s), ``agents_counted`` (mean
        distinct agents), ``agents`` (rounded), ``offered_load`` (Erlangs),
        ``measured_wait`` (s, all calls asking for an agent),
        ``measured_abandonment``; ``erlang_c_wait`` (inf where the load
        reaches c), ``erlang_a_wait``, ``erlang_a_abandonment`` with the
        counted agents; ``agents_effective`` (c at which Erlang A's
        abandonment is closest to the measured one), ``fitted_abandonment``,
        ``fitted_wait`` and ``erlang_c_fitted_wait`` with that staffing.
        ``attrs["days"]`` is the number of working days.
    """
    calls, served, days = working_week_calls(bank, hours)
    by_hour = calls.groupby("hour")
    table = pd.DataFrame({"calls": by_hour.size()})
    table["arrival_rate"] = table["calls"] / (days * 3600.0)
    table["mean_service"] = served.groupby("hour")["ser_time_s"].mean()
    table["scv_service"] = served.groupby("hour")["ser_time_s"].var() / table["mean_service"] ** 2
    table["patience_rate"] = by_hour["abandoned"].sum() / by_hour["q_time_s"].sum()
    working = served.assign(start_hour=served["ser_start"].dt.hour, start_day=served["ser_start"].dt.normalize())
    table["agents_counted"] = (working.groupby(["start_day", "start_hour"])["server"].nunique()
                               .groupby("start_hour").mean())
    table["offered_load"] = table["arrival_rate"] * table["mean_service"]
    table["measured_wait"] = by_hour["q_time_s"].mean()
    table["measured_abandonment"] = by_hour["abandoned"].mean()
    counted = np.round(table["agents_counted"].to_numpy()).astype(int)
    table["agents"] = counted
    service_rate = 1 / table["mean_service"].to_numpy()
    table["erlang_c_wait"] = MMc(table["arrival_rate"].to_numpy(), service_rate, counted, unstable="inf").mean_wait
    counted_a = _erlang_a(table, counted)
    table["erlang_a_wait"] = counted_a.mean_wait
    table["erlang_a_abandonment"] = counted_a.abandonment_probability
    # the staffing at which Erlang A gives the measured abandonment (P(Ab) falls as c grows)
    candidates = np.arange(1, max_agents + 1)
    fits = np.array([_erlang_a(table, np.full(len(table), c)).abandonment_probability for c in candidates])
    best = np.abs(fits - table["measured_abandonment"].to_numpy()).argmin(axis=0)
    table["agents_effective"] = candidates[best]
    fitted = _erlang_a(table, table["agents_effective"].to_numpy())
    table["fitted_abandonment"] = fitted.abandonment_probability
    table["fitted_wait"] = fitted.mean_wait
    table["erlang_c_fitted_wait"] = MMc(table["arrival_rate"].to_numpy(), service_rate,
                                        table["agents_effective"].to_numpy(), unstable="inf").mean_wait
    table.attrs["days"] = days
    return table
