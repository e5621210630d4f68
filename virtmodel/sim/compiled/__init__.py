"""The compiled simulation engine: numba kernels, job-for-job equal to the simpy model.

``vm.simulate(..., engine="compiled")`` runs :class:`CompiledEngine`;
``engine="auto"`` uses it when :func:`supports` says the scenario is one the
kernels implement, else the simpy model.  See :mod:`.kernels` for what each
kernel replays (:mod:`.polling` for cyclic polling, :mod:`.proportional_share` for weighted
proportional share, :mod:`.abandonment` for patience, :mod:`.credit` for Xen's credit1, :mod:`.linux_fair` for
KVM under Linux EEVDF with cpu.weight and cpu.max),
:mod:`.support` for the whitelist and :mod:`.streaming` for bounded-memory runs
(:func:`simulate_streaming`, 10^8 customers without per-job records).  numba is imported
only when a compiled run starts (``CompiledEngine`` is loaded lazily).
"""

from .support import supports, unsupported_reason

__all__ = ["CompiledEngine", "supports", "unsupported_reason", "MAX_SLICES", "simulate_streaming"]


def __getattr__(name):
    if name in ("CompiledEngine", "MAX_SLICES"):
        from . import engine

        return getattr(engine, name)
    if name == "simulate_streaming":
        from .streaming import simulate_streaming

        return simulate_streaming
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
