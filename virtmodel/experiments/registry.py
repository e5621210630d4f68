"""The validation battery's registry: :class:`Check`, and the table of areas that ``validate`` runs.

An *area* of the battery (``"queues"``, ``"polling"``, ...) is a function that
returns a list of :class:`Check` entries.  It registers itself where it is
defined, with the :func:`battery_area` decorator, into :data:`BATTERY_AREAS`;
the dispatcher (:func:`virtmodel.experiments.validation.battery`, the CLI's
``validate --area``) looks areas up here and imports none of them.  The
package imports every area once, in :mod:`virtmodel.areas`, and the order of
those imports is the order of the areas (DESIGN.md, "Plug-ins: one way in";
issue 13 item 5).

How to add an area ``"io"``
    1. In its own module, ``virtmodel/experiments/battery_io.py``::

           from .registry import Check, battery_area

           @battery_area("io")
           def io_checks() -> list[Check]:
               \"\"\"One line on what the area checks (shown by ``battery``'s docs).\"\"\"
               return [Check("label", scenario), ...]

    2. One line in :mod:`virtmodel.areas`, in the list of battery areas::

           from .experiments import battery_io as _battery_io  # noqa: F401

    Nothing else: ``AREAS``, ``battery()``, ``virtmodel validate --area io``
    and the per-area summary pick it up.  (The README's list of areas is
    checked by ``tests/test_readme.py``: name the area there too.)
"""

from __future__ import annotations

from dataclasses import dataclass

from .._registry import registrar
from ..errors import InvalidParameter

__all__ = ["Check", "BATTERY_AREAS", "battery_area", "battery_areas", "area_checks"]


@dataclass(frozen=True)
class Check:
    """One battery entry: a label, a scenario, and how much longer than the battery size it runs.

    ``length`` multiplies the customers per replication and ``replications``
    the replications (a scenario kind that sets its own run length --
    Cluster, BootStorm, ClockScenario, ... -- ignores customers, so
    ``replications`` is its only size).  Each check is sized so that its
    mean delays reach the battery's target precision (issue 18: a 1 %
    error detectable at the default size, family-wise): the relative
    half-width falls like 1 / sqrt(customers x replications), and heavy
    traffic needs longer runs (the variance of a mean wait grows like
    1 / (1 - rho)^4): each area sizes its checks from a measured run
    (``battery_scheduling.LENGTHS``; docs/validation_power.md).  ``engine`` is passed to
    :func:`~virtmodel.sim.run.simulate` (``"auto"``: compiled where supported).
    """

    label: str
    scenario: object
    length: float = 1.0
    engine: str = "auto"
    replications: float = 1.0

    def __post_init__(self):
        for name in ("length", "replications"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value > 0):
                raise InvalidParameter(f"Check {self.label!r}: {name} must be a positive number, got {value!r}")


#: ``{area name: function returning that area's checks}``, in registration order
BATTERY_AREAS: dict = {}

#: ``@battery_area("name")``: register a function returning a list of :class:`Check` as an area
battery_area = registrar(BATTERY_AREAS)


def battery_areas() -> tuple[str, ...]:
    """The registered areas, in order (the order :mod:`virtmodel.areas` imports them)."""
    return tuple(BATTERY_AREAS)


def area_checks(area: str) -> list[Check]:
    """The checks of one registered area (building scenarios only, no runs)."""
    if area not in BATTERY_AREAS:
        raise InvalidParameter(f"area must be one of {list(BATTERY_AREAS)}, got {area!r}")
    return list(BATTERY_AREAS[area]())
