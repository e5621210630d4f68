r"""Guest-clock models against real clock measurements (``virtmodel.data``).

Three comparisons, each a function of the frame(s) that
:func:`virtmodel.data.load` returns:

* :func:`ntp_log_offsets` - the four-timestamp NTP log (1,528 exchanges,
  MarcosPernica/AnalisisNTP4): offsets computed exactly (``decimal``) from
  the logged digits, :func:`~virtmodel.analytic.clock.ntp_offset_delay` on
  timestamps relative to a whole-second epoch, and the log's own ``phi``.
  The log's tool computed phi in double precision from absolute Unix
  timestamps (about 1.54e9 s), where adjacent doubles are 2^-22 s = 2.38e-7 s
  apart: each timestamp is rounded by up to 1.19e-7 s, and
  ((t2 - t1) + (t3 - t4))/2 inherits up to 4 x 1.19e-7 / 2 = 2.38e-7 s.
  The observed worst case is 2.06e-7 s.
* :func:`gnss_chain_hops` - four PCs in a chrony chain (AS1 <- GNSS, AS2 <-
  AS1, AS3 <- AS2, AS4 <- AS3), each one's true error measured against its
  own GNSS card every second (fimeier/ScionTimeExperiments, experiment 7).
  The per-hop error (host minus upstream host, same second) is fitted by its
  mean and standard deviation; independent hops predict mean sum m_i and
  spread sqrt(sum s_i^2) (:func:`~virtmodel.analytic.clock.chain_offset_spread`).
* :func:`nist_delay_bound` - chrony on a host disciplined by a GPS PPS
  signal measuring two NIST servers: with the local clock near true time,
  the measured offset is the NTP offset error itself, bounded by delay/2
  (RFC 5905 §8).  The local clock's own error from ``tracking.log`` (the
  offset chrony corrected at the next update) is added back; a measurement
  beyond the bound is reported with the tracking state around it.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from ..analytic.clock import chain_offset_spread, ntp_offset_delay, ntp_offset_delay_exact

__all__ = ["ntp_log_offsets", "gnss_chain_hops", "nist_delay_bound", "DOUBLE_SPACING_AT_LOG"]

#: spacing of float64 numbers between 2^30 and 2^31 s (the log's timestamps): 2^-22 s
DOUBLE_SPACING_AT_LOG = 2.0**-22


def ntp_log_offsets(frame: pd.DataFrame) -> pd.DataFrame:
    """Offsets of every exchange of the four-timestamp NTP log, three ways.

    Parameters
    ----------
    frame : DataFrame
        ``load("ntp_four_timestamps")``: string columns t1..t4 and phi.

    Returns
    -------
    DataFrame
        ``exact_s`` (float of the exact Decimal offset), ``exact`` (Decimal),
        ``delay_s``, ``epoch_s`` (:func:`ntp_offset_delay` on float64
        timestamps minus the whole second of t1, computed exactly then
        rounded once), ``absolute_double_s`` (the same formula on absolute
        float64 timestamps, as the logging tool did), ``phi_s`` (logged),
        and the differences ``epoch_error_s`` = epoch - exact,
        ``phi_error_s`` = phi - exact, ``double_minus_phi_s``.
    """
    exact, delay = ntp_offset_delay_exact(frame["t1"], frame["t2"], frame["t3"], frame["t4"])
    epoch = [Decimal(s.split(".")[0]) for s in frame["t1"]]
    rel = {c: np.array([float(Decimal(s) - e) for s, e in zip(frame[c], epoch, strict=True)])
           for c in ("t1", "t2", "t3", "t4")}
    epoch_off, _ = ntp_offset_delay(rel["t1"], rel["t2"], rel["t3"], rel["t4"])
    a = {c: frame[c].astype(float).to_numpy() for c in ("t1", "t2", "t3", "t4")}
    absolute = ((a["t2"] - a["t1"]) + (a["t3"] - a["t4"])) / 2.0
    phi = np.array([float(Decimal(s)) for s in frame["phi"]])
    exact_f = np.array([float(x) for x in exact])
    out = pd.DataFrame({
        "exact": exact, "exact_s": exact_f, "delay_s": [float(d) for d in delay], "epoch_s": epoch_off,
        "absolute_double_s": absolute, "phi_s": phi,
    }, index=frame.index)
    # differences taken against the exact Decimal, so they carry no rounding of their own beyond 1 ulp
    out["epoch_error_s"] = [float(Decimal(repr(float(x))) - e) for x, e in zip(epoch_off, exact, strict=True)]
    out["phi_error_s"] = [float(Decimal(s) - e) for s, e in zip(frame["phi"], exact, strict=True)]
    out["double_minus_phi_s"] = absolute - phi
    return out


def gnss_chain_hops(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-hop fit and the predicted vs measured offset spread along the GNSS-truth chrony chain.

    Parameters
    ----------
    frame : DataFrame
        ``load("gnss_chrony_chain")``: host, ref_time_ns, offset_s.

    Returns
    -------
    DataFrame, one row per host (AS1..AS4)
        ``measured_mean_s``, ``measured_sd_s`` (the host's true clock error
        on the seconds where all four hosts have a reading), ``hop_mean_s``,
        ``hop_sd_s`` (host minus upstream host; AS1's hop is its error
        against GNSS), ``predicted_mean_s``, ``predicted_sd_s``
        (independent hops), ``predicted_sd_with_covariance_s`` (the same sum
        with the measured hop covariances: equal to the measured spread,
        which shows that the gap comes from correlation between hops), and
        ``hop_correlation_with_upstream``.
    """
    f = frame.assign(sec=np.round(frame["ref_time_ns"].to_numpy() / 1e9).astype(np.int64))
    wide = f.pivot_table(index="sec", columns="host", values="offset_s", aggfunc="first").dropna()
    hosts = list(wide.columns)
    hop = wide.diff(axis=1)
    hop[hosts[0]] = wide[hosts[0]]
    m, s = hop.mean().to_numpy(), hop.std(ddof=1).to_numpy()
    pm, ps = chain_offset_spread(m, s)
    cov = np.cov(hop[hosts].to_numpy().T)
    ps_cov = np.sqrt([cov[:i + 1, :i + 1].sum() for i in range(len(hosts))])
    corr = [np.nan] + [float(np.corrcoef(hop[hosts[i]], hop[hosts[i - 1]])[0, 1]) for i in range(1, len(hosts))]
    return pd.DataFrame({
        "host": hosts, "hop": range(len(hosts)), "measured_mean_s": wide.mean().to_numpy(),
        "measured_sd_s": wide.std(ddof=1).to_numpy(), "hop_mean_s": m, "hop_sd_s": s,
        "predicted_mean_s": pm, "predicted_sd_s": ps, "predicted_sd_with_covariance_s": ps_cov,
        "hop_correlation_with_upstream": corr, "seconds": len(wide),
    })


def nist_delay_bound(logs: dict) -> pd.DataFrame:
    """Every NIST measurement's offset error against the delta/2 bound.

    Parameters
    ----------
    logs : dict
        ``load("chrony_pps_nist")``: frames ``measurements`` and ``tracking``.

    Returns
    -------
    DataFrame, one row per measurement
        ``time, source, offset_s`` (chrony: positive = local clock slow),
        ``peer_delay_s``, ``bound_s`` = delay/2, ``local_error_s`` (tracking's
        offset at its next update after the measurement: positive = local
        clock ahead), ``reference`` (tracking's reference then: PPS or
        0.0.0.0 when it had lost its source), ``offset_error_s`` = offset +
        local_error, ``within_raw`` (``|offset| <= bound``), ``within``
        (``|offset_error| <= bound``) and ``explanation`` for each raw violation.
    """
    m = logs["measurements"].copy()
    t = logs["tracking"][["time", "reference", "offset_s", "max_error_s"]].rename(
        columns={"offset_s": "local_error_s", "max_error_s": "local_max_error_s"})
    out = pd.merge_asof(m.sort_values("time"), t.sort_values("time"), on="time", direction="forward")
    out["bound_s"] = out["peer_delay_s"] / 2.0
    out["offset_error_s"] = out["offset_s"] + out["local_error_s"]
    out["within_raw"] = out["offset_s"].abs() <= out["bound_s"]
    out["within"] = out["offset_error_s"].abs() <= out["bound_s"]
    prev = pd.merge_asof(m.sort_values("time"), t.sort_values("time")[["time", "reference"]].rename(
        columns={"reference": "reference_before"}), on="time", direction="backward")
    out["reference_before"] = prev["reference_before"].to_numpy()

    def explain(row):
        if row.within_raw:
            return ""
        lost = "0.0.0.0" in (row.reference, row.reference_before)
        side = "behind" if row.local_error_s < 0 else "ahead of"
        why = ("the local clock had lost its PPS reference (tracking reference 0.0.0.0) and was "
               f"{abs(row.local_error_s):.3f} s {side} true time; chrony stepped it at its next update") if lost \
            else f"the local clock was {abs(row.local_error_s):.3g} s {side} true time"
        verdict = "within" if row.within else "still outside"
        return f"{why}; corrected for that, the offset error {row.offset_error_s:+.4f} s is {verdict} delta/2"

    out["explanation"] = [explain(r) for r in out.itertuples(index=False)]
    return out[["time", "source", "offset_s", "peer_delay_s", "bound_s", "reference", "reference_before",
                "local_error_s", "offset_error_s", "within_raw", "within", "explanation"]]
