"""Edge: one dependency between two tasks of a flow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from headwater._task import Task

__all__ = ["Edge"]


class Edge(NamedTuple):
    """A dependency: ``downstream_task`` runs after ``upstream_task``.

    With a ``key``, the edge also carries data: the upstream task's result is
    passed to the downstream task's ``run`` as the argument named ``key``.
    Without one it only orders the tasks and feeds the downstream trigger.
    ``mapped`` edges feed one element of the upstream result to each child of
    a mapped task.

    Example:
        >>> from headwater import Flow, Task
        >>> a, b = Task(name="a"), Task(name="b")
        >>> Edge(a, b).key is None
        True
    """

    upstream_task: Task[Any]
    downstream_task: Task[Any]
    key: str | None = None
    mapped: bool = False

    def __repr__(self) -> str:
        key = f", key={self.key!r}" if self.key is not None else ""
        mapped = ", mapped=True" if self.mapped else ""
        return f"Edge({_label(self.upstream_task)} -> {_label(self.downstream_task)}{key}{mapped})"


def _label(task: Task[Any]) -> str:
    return task.slug or task.name
