"""Executors: how a flow run's ready tasks are run.

Every executor follows ``concurrent.futures``: ``submit(fn, *args) -> Future``,
``shutdown()``, and use as a context manager. The runner submits one task try
at a time; the submitted function returns a state and never raises, so any
executor can carry it across threads, processes or machines.

- :class:`LocalExecutor`: one task at a time in the calling thread (default,
  fastest for small tasks).
- ``ThreadExecutor``, ``ProcessExecutor``, ``DaskExecutor``: see their docs;
  optional backends are imported only when used.
"""

from __future__ import annotations

from typing import Any

from headwater.executors.base import Executor
from headwater.executors.local import LocalExecutor

__all__ = ["DaskExecutor", "Executor", "LocalExecutor", "ProcessExecutor", "ThreadExecutor"]

_LAZY = {
    "ThreadExecutor": "headwater.executors.threads",
    "ProcessExecutor": "headwater.executors.processes",
    "DaskExecutor": "headwater.executors.dask",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'headwater.executors' has no attribute {name!r}")
