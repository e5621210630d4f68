"""Issue 13 item 5: validation battery areas register themselves; validate's dispatcher imports none of them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from virtmodel.cli import build_parser
from virtmodel.errors import InvalidParameter
from virtmodel.experiments import registry, validation

ORDER = ("queues", "scheduling", "polling", "allocation", "hypervisor", "admission", "clock", "lifecycle")


def test_areas_in_order_and_public_names_kept():
    assert validation.AREAS[: len(ORDER)] == ORDER
    assert validation.AREAS == registry.battery_areas()
    assert validation.Check is registry.Check
    assert [c.label for c in validation.battery(("polling",))] == [c.label for c in registry.area_checks("polling")]
    # battery() keeps the order of AREAS, whatever the order asked for
    both = validation.battery(("scheduling", "queues"))
    assert both[0].label == "M/M/1 load 0.5" and both[-1].label.startswith("delay-dependent")


def test_cli_area_choices_are_the_registered_areas():
    validate = build_parser()._subparsers._group_actions[0].choices["validate"]
    assert tuple(validate._option_string_actions["--area"].choices) == validation.AREAS


def test_unknown_area_and_bad_length_are_refused():
    with pytest.raises(InvalidParameter, match="io-typo"):
        validation.battery(("queues", "io-typo"))
    with pytest.raises(InvalidParameter, match="length"):
        registry.Check("x", None, length=0.0)


def test_dispatcher_imports_no_area():
    """validation.py imports no battery_* module; the package's areas module imports each one."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_cycles", Path(__file__).parents[1] / "test_import_cycles.py")
    cycles = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cycles)
    graph = cycles.import_graph()
    modules = {m for m in graph if m.startswith("virtmodel.experiments.battery_")}
    # the modules that register an area (others, e.g. battery_network, are helpers of an area)
    areas = {m for m in modules if "@battery_area(" in cycles._modules()[m].read_text(encoding="utf-8")}
    assert len(areas) >= len(ORDER)
    assert not graph["virtmodel.experiments.validation"] & modules
    assert not graph["virtmodel.experiments.registry"] & modules
    assert areas <= graph["virtmodel.areas"]


def test_a_new_area_needs_only_its_registration():
    code = ("from virtmodel.experiments.registry import Check, battery_area\n"
            "from virtmodel.experiments import validation\n"
            "from virtmodel import Scenario, VM\n"
            "from virtmodel.dists import Exponential\n"
            "@battery_area('extra')\n"
            "def extra():\n"
            "    return [Check('extra M/M/1', Scenario(1, [VM('v', Exponential(0.5), Exponential(1.0))]))]\n"
            "print(validation.AREAS[-1], [c.label for c in validation.battery(('extra',))],\n"
            "      len(validation.battery()) == len(validation.battery(validation.AREAS[:-1])) + 1)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == ["extra", "['extra", "M/M/1']", "True"]
