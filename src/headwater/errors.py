"""The exceptions headwater raises.

Every error headwater raises on purpose is a :class:`HeadwaterError`. Graph and
parameter errors are also :class:`ValueError` (or :class:`TypeError`), so code
written against the contract's "raises ValueError" keeps working, while callers
who want to can catch the precise class and read the data it carries (the
cycle, the missing parameter names, ...).

Errors raised *by task code* never surface as these: a failing task becomes a
``Failed`` state (see :mod:`headwater.states`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "CycleError",
    "DuplicateEdgeKeyError",
    "DuplicateSlugError",
    "FlowValidationError",
    "GraphError",
    "HeadwaterError",
    "NoActiveFlowError",
    "ParameterError",
    "ResumeError",
    "SerializationError",
    "StoreError",
    "TaskDefinitionError",
]


class HeadwaterError(Exception):
    """Base class of every error headwater raises on purpose."""


class TaskDefinitionError(HeadwaterError, ValueError):
    """A task class, decorated function or task option is not valid.

    Raised when a ``Task`` subclass or an ``@task`` function is *defined* with a
    ``run`` signature headwater cannot call (``*args``, a reserved argument
    name), or when a task is constructed with an invalid option.
    """


class NoActiveFlowError(HeadwaterError, RuntimeError):
    """A task was called to build a graph, but no flow is being built."""


class GraphError(HeadwaterError, ValueError):
    """The graph a call would produce is not valid; the flow was left unchanged."""


class CycleError(GraphError):
    """An edge would close a cycle (or the flow holds one).

    Attributes:
        cycle: the tasks on the cycle, in edge order; the first task is repeated
            at the end, so ``cycle[i] -> cycle[i + 1]`` are the edges involved.
    """

    def __init__(self, message: str, cycle: Sequence[Any]) -> None:
        super().__init__(message)
        self.cycle = tuple(cycle)


class DuplicateSlugError(GraphError):
    """Two different tasks of one flow would share a slug."""


class DuplicateEdgeKeyError(GraphError):
    """Two data edges into one task would use the same keyword key."""


class FlowValidationError(GraphError):
    """``Flow.validate()`` found an inconsistency (listed in the message)."""


class ParameterError(HeadwaterError, ValueError):
    """``flow.run()`` was given missing or unknown parameters.

    Attributes:
        missing: names of required parameters that were not supplied.
        unknown: names supplied that are not parameters of the flow.
    """

    def __init__(
        self, message: str, missing: Sequence[str] = (), unknown: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.missing = tuple(missing)
        self.unknown = tuple(unknown)


class SerializationError(HeadwaterError, ValueError):
    """A task or flow cannot be serialized or deserialized (names the task)."""


class StoreError(HeadwaterError):
    """A value could not be written to (or read from) a result store."""


class ResumeError(HeadwaterError, ValueError):
    """A run cannot be resumed: unknown run id, or the flow changed since.

    Attributes:
        changed: slugs of the tasks whose function, inputs or edges changed
            although the checkpointed run had finished them.
    """

    def __init__(self, message: str, changed: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.changed = tuple(changed)
