"""A tiny registry: map a key (a policy class) to what implements it, with a decorator."""

from __future__ import annotations

__all__ = ["registrar"]


def registrar(table: dict):
    """Return a decorator factory ``register(key)`` that stores the decorated object in ``table[key]``.

    Examples
    --------
    >>> table = {}
    >>> register = registrar(table)
    >>> @register("fcfs")
    ... def solve(): ...
    >>> table["fcfs"] is solve
    True
    """

    def register(key):
        def deco(obj):
            table[key] = obj
            return obj

        return deco

    return register
