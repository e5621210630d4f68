"""virtmodel.analytic: closed-form numeric models (the "predict" layer).

Every model broadcasts over numpy arrays of its parameters and documents its
formula, assumptions and source.
"""

from .queues import MD1, MG1, MM1, MM1K, GGc, MMc, MMcc, MMcK, erlang_b, erlang_c
from .scheduling import (
    MG1PS,
    MG1PSJF,
    MG1SJF,
    MG1SRPT,
    MG1DelayDependent,
    MG1Priority,
    MG1RoundRobin,
    MMcPriority,
    conservation_sum,
)

__all__ = [
    "erlang_b", "erlang_c", "MM1", "MMc", "MMcc", "MMcK", "MM1K", "MG1", "MD1", "GGc",
    "MG1Priority", "MMcPriority", "MG1SJF", "MG1SRPT", "MG1PSJF", "MG1PS", "MG1RoundRobin",
    "MG1DelayDependent", "conservation_sum",
]
from .polling import PollingSystem  # noqa: E402,F401,I001  (not in __all__ above, to keep this a one-line addition)
from .allocation import long_run_shares, water_fill  # noqa: E402,F401  (not in __all__ above, a one-line addition)
from .abandonment import MMcM, erlang_a  # noqa: E402,F401  (Erlang-A; a one-line addition)
