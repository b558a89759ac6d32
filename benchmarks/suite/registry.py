"""Every engine, in the order of the tables.

Imports no optional peer: an engine's ``requires`` names what it needs, and
:func:`missing` says which of those are not installed.
"""

from __future__ import annotations

import importlib.util

from benchmarks.suite.dask_engines import (
    DelayedSync,
    DelayedThreads,
    DictSync,
    FuturesCluster,
    FuturesInProcess,
)
from benchmarks.suite.engine import Engine, PlainLoop
from benchmarks.suite.headwater_engines import Dask, Local, Processes, Threads

ENGINES: dict[str, type[Engine]] = {
    engine.name: engine
    for engine in (
        PlainLoop,
        Local,
        Threads,
        Processes,
        Dask,
        DelayedSync,
        DelayedThreads,
        DictSync,
        FuturesInProcess,
        FuturesCluster,
    )
}

HEADWATER = tuple(name for name in ENGINES if name.startswith("hw-"))
PEERS = tuple(name for name in ENGINES if name != "plain" and name not in HEADWATER)
REFERENCE_PEER = "dask-dict-sync"


def missing(name: str) -> list[str]:
    """The modules engine ``name`` needs that cannot be imported here."""
    return [module for module in ENGINES[name].requires if importlib.util.find_spec(module) is None]
