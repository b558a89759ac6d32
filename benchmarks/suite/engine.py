"""The engine contract, and the plain Python loop (the floor).

An engine runs one workload at one size in four steps: ``start`` (untimed:
pools, clusters), ``build`` (timed: the graph, if the engine has one), ``run``
(timed: execute it, return the workload's answer) and ``close`` (untimed).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from benchmarks.suite.workloads import PLAIN


class Engine(ABC):
    """One way of running the workloads.

    Attributes:
        name: the name used by ``--engines`` and in the tables.
        label: what the engine is, for the report.
        requires: modules that must be importable (optional peers).
        has_build: whether the engine builds a graph before running it.
        concurrent: whether the engine runs tasks concurrently (``sleep``).
        sleep_workers: how many tasks at once the ``sleep`` workload gets.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    requires: ClassVar[tuple[str, ...]] = ()
    has_build: ClassVar[bool] = True
    concurrent: ClassVar[bool] = False
    sleep_workers: ClassVar[int] = 1

    def start(self, workload: str) -> None:  # noqa: B027 - optional hook
        """Acquire what the runs need (not timed)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what :meth:`start` acquired (not timed)."""

    @abstractmethod
    def build(self, workload: str, n: int) -> Any:
        """Build the graph of ``workload`` at size ``n`` (timed)."""

    @abstractmethod
    def run(self, graph: Any) -> int:
        """Run a graph :meth:`build` returned; return the workload's answer (timed)."""


class PlainLoop(Engine):
    """The same functions called in a plain Python loop: no graph, no engine."""

    name = "plain"
    label = "plain Python loop (the floor)"
    has_build = False

    def build(self, workload: str, n: int) -> tuple[str, int]:
        return workload, n

    def run(self, graph: tuple[str, int]) -> int:
        workload, n = graph
        return PLAIN[workload](n)
