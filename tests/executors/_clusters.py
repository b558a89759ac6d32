"""Starting a quiet Dask LocalCluster for the tests."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from headwater.executors import Executor


def start_dask(**cluster_kwargs: Any) -> Executor:
    """A started DaskExecutor on a quiet LocalCluster (skips without distributed)."""
    pytest.importorskip("distributed")
    from headwater.executors import DaskExecutor

    options: dict[str, Any] = {"dashboard_address": ":0", "silence_logs": logging.ERROR}
    options.update(cluster_kwargs)
    executor = DaskExecutor(**options)
    executor.start()
    return executor
