"""Errors raised by :mod:`virtmodel.data` (all are :class:`~virtmodel.errors.VirtmodelError`)."""

from __future__ import annotations

from ..errors import VirtmodelError

__all__ = ["DataError", "UnknownDataset", "DataFileMissing", "ChecksumMismatch", "CorruptDataFile", "NoFetcher"]


class DataError(VirtmodelError):
    """Base class of the errors of :mod:`virtmodel.data`."""


class UnknownDataset(DataError):
    """No dataset of that name; the message lists the close matches and every name."""


class DataFileMissing(DataError):
    """A file of a dataset is not in the data directory; the message says how to fetch it."""


class ChecksumMismatch(DataError):
    """A file's bytes differ from the published ones (sha256); the message names the file."""


class CorruptDataFile(DataError):
    """A file that cannot be read as its documented format (truncated, wrong columns...)."""


class NoFetcher(DataError):
    """The dataset has no public source to fetch from (e.g. a table typed from a paper)."""
