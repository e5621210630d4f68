"""The paper's figures: one function per figure, drawing stored tables on an ``ax``.

Each function takes the tables that ``virtmodel reproduce`` writes to
``paper/tables`` (as DataFrames) and a matplotlib ``Axes``; none runs a
simulation.  Use them inside :func:`virtmodel.plotting.paper_style` and save
with :func:`virtmodel.plotting.save`.  Modules follow the areas:
:mod:`.scheduling`, :mod:`.hypervisor`, :mod:`.clock`, :mod:`.cluster`,
:mod:`.queues` (real call centre) and :mod:`.validation`.
"""

from .clock import plot_clock_poll, plot_nist_bound
from .cluster import plot_azure_blocking
from .hypervisor import plot_consolidation_gain
from .queues import plot_callcentre
from .scheduling import plot_paper_slowdown
from .validation import plot_validation_errors

__all__ = ["plot_paper_slowdown", "plot_consolidation_gain", "plot_clock_poll", "plot_nist_bound",
           "plot_azure_blocking", "plot_callcentre", "plot_validation_errors"]
