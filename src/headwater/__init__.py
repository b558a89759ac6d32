"""headwater: a compact, server-less workflow engine for Python.

Decorate functions with ``@task``, call them inside ``with Flow("name")`` to
build a graph, and ``flow.run()`` it::

    from headwater import Flow, Parameter, task

    @task
    def add(x: int, y: int) -> int:
        return x + y

    with Flow("sum") as flow:
        x = Parameter("x", default=1)
        total = add(x, 2)

    state = flow.run(parameters={"x": 40})
    assert state.result[total].result == 42
"""

from __future__ import annotations

from headwater import cache_validators, executors, signals, states, triggers
from headwater._cache import CacheStore, MemoryCacheStore, clear_cache
from headwater._decorator import FunctionTask, task
from headwater._edge import Edge
from headwater._events import read_events
from headwater._flow import Flow
from headwater._options import HeadwaterWarning
from headwater._parameter import Parameter
from headwater._task import Task, unmapped
from headwater.context import context
from headwater.errors import (
    CycleError,
    DuplicateEdgeKeyError,
    DuplicateSlugError,
    FlowValidationError,
    GraphError,
    HeadwaterError,
    NoActiveFlowError,
    ParameterError,
    SerializationError,
    TaskDefinitionError,
)

__version__ = "0.1.0"

__all__ = [
    "CacheStore",
    "CycleError",
    "DuplicateEdgeKeyError",
    "DuplicateSlugError",
    "Edge",
    "Flow",
    "FlowValidationError",
    "FunctionTask",
    "GraphError",
    "HeadwaterError",
    "HeadwaterWarning",
    "MemoryCacheStore",
    "NoActiveFlowError",
    "Parameter",
    "ParameterError",
    "SerializationError",
    "Task",
    "TaskDefinitionError",
    "__version__",
    "cache_validators",
    "clear_cache",
    "context",
    "executors",
    "read_events",
    "signals",
    "states",
    "task",
    "triggers",
    "unmapped",
]
