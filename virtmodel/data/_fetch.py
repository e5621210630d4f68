"""Fetch the original files from their public source (placeholder, replaced below)."""

from __future__ import annotations

__all__ = ["fetch", "BASE_URL_VAR"]

BASE_URL_VAR = "VIRTMODEL_DATA_URL"


def fetch(name, **kwargs):  # pragma: no cover - replaced by the real fetcher
    raise NotImplementedError
