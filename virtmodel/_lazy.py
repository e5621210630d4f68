"""Heavy modules (pandas, scipy's subpackages) loaded on first use.

``import virtmodel`` is paid by every command-line call and every sweep worker (issue 12, item 8).
pandas and scipy's ``special``, ``stats``, ``integrate`` and ``optimize`` cost about 0.5 s of CPU to
import, and most calls need only a few of them, so the modules that use them bind a
:class:`LazyModule` instead: ``pd = lazy("pandas")`` reads like ``import pandas as pd``, and the
first attribute read (``pd.DataFrame``) imports the real module.
"""

from __future__ import annotations

import importlib


class LazyModule:
    """A stand-in for the module *name* that imports it at its first attribute read.

    Each attribute read through the stand-in is copied onto it, so later reads of the same name are
    ordinary attribute look-ups. ``import virtmodel`` must not read any attribute of a lazy module
    (``tests/test_import_time.py`` checks that pandas and scipy's subpackages stay unloaded).
    """

    def __init__(self, name: str):
        self.__name = name

    def __getattr__(self, attribute: str):
        value = getattr(importlib.import_module(self.__name), attribute)
        setattr(self, attribute, value)
        return value

    def __repr__(self) -> str:
        return f"<lazily imported module {self.__name!r}>"


def lazy(name: str) -> LazyModule:
    """The module *name*, imported when one of its attributes is first read."""
    return LazyModule(name)
