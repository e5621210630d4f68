"""virtmodel.analytic: closed-form numeric models (the "predict" layer).

Every model broadcasts over numpy arrays of its parameters and documents its
formula, assumptions and source.
"""

from .queues import MD1, MG1, MM1, MM1K, GGc, MMc, MMcc, MMcK, erlang_b, erlang_c

__all__ = ["erlang_b", "erlang_c", "MM1", "MMc", "MMcc", "MMcK", "MM1K", "MG1", "MD1", "GGc"]
