"""Shared pytest fixtures: keep this file small and generic.

Helpers that build flows for tests live in ``tests/strategies.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import headwater._cache


@pytest.fixture(autouse=True)
def _clear_default_cache() -> Iterator[None]:
    """Every test starts and ends with an empty per-process cache store."""
    headwater._cache.default_cache_store.clear()
    yield
    headwater._cache.default_cache_store.clear()
