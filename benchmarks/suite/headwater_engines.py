"""headwater on each of its executors: the same flows, built by calls.

Every workload is built the way a user writes it, by calling ``@task``
functions inside ``with Flow(...)``; ``run`` is ``flow.run(executor=...)``
with an executor started beforehand (pool or cluster start-up is not timed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from benchmarks.suite import workloads
from benchmarks.suite.engine import Engine

from headwater import Flow, Task, task
from headwater.executors import Executor, LocalExecutor

inc = task(workloads.inc)
add = task(workloads.add)
total = task(workloads.total)
nap = task(workloads.nap)


@dataclass(frozen=True)
class FlowGraph:
    """A built flow and the tasks whose results sum up to the answer."""

    flow: Flow
    outputs: list[Task[Any]]


def build_flow(workload: str, n: int) -> FlowGraph:
    """The flow of ``workload`` at size ``n``, built by calls."""
    with Flow(f"{workload}-{n}") as flow:
        outputs: list[Task[Any]]
        if workload == "chain":
            x = inc(0)
            for _ in range(n - 1):
                x = inc(x)
            outputs = [x]
        elif workload == "fan-out":
            outputs = [total([inc(i) for i in range(n)])]
        elif workload == "map-reduce":
            outputs = [total(inc.map(list(range(n))))]
        elif workload == "lattice":
            width, depth = workloads.lattice_shape(n)
            row: list[Task[Any]] = [inc(j) for j in range(width)]
            for _ in range(depth - 1):
                row = [add(row[j], row[(j + 1) % width]) for j in range(width)]
            outputs = row
        else:
            outputs = [nap(i) for i in range(workloads.SLEEP_TASKS)]
    return FlowGraph(flow, outputs)


class HeadwaterEngine(Engine):
    """headwater with the executor :meth:`make_executor` returns."""

    requires: ClassVar[tuple[str, ...]] = ()
    _executor: Executor | None = None

    def make_executor(self, workload: str) -> Executor:
        raise NotImplementedError

    def start(self, workload: str) -> None:
        self._executor = self.make_executor(workload)
        self._executor.start()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()

    def build(self, workload: str, n: int) -> FlowGraph:
        return build_flow(workload, n)

    def run(self, graph: FlowGraph) -> int:
        state = graph.flow.run(executor=self._executor)
        if not state.is_successful():
            raise RuntimeError(f"{self.name}: the flow run did not succeed: {state!r}")
        return sum(state.result[output].result for output in graph.outputs)


class Local(HeadwaterEngine):
    name = "hw-local"
    label = "headwater `LocalExecutor()`"

    def make_executor(self, workload: str) -> Executor:
        return LocalExecutor()


class Threads(HeadwaterEngine):
    name = "hw-threads"
    label = "headwater `ThreadExecutor(8)` for sleep, `ThreadExecutor(2)` otherwise"
    concurrent = True
    sleep_workers = 8

    def make_executor(self, workload: str) -> Executor:
        from headwater.executors.threads import ThreadExecutor

        return ThreadExecutor(self.sleep_workers if workload == "sleep" else 2)


class Processes(HeadwaterEngine):
    name = "hw-processes"
    label = "headwater `ProcessExecutor(2)`"
    concurrent = True
    sleep_workers = 2

    def make_executor(self, workload: str) -> Executor:
        from headwater.executors.processes import ProcessExecutor

        return ProcessExecutor(2)


class Dask(HeadwaterEngine):
    name = "hw-dask"
    label = (
        "headwater `DaskExecutor`, `LocalCluster` of 2 worker processes "
        "(4 threads each for sleep, 1 otherwise)"
    )
    requires = ("distributed",)
    concurrent = True
    sleep_workers = 8

    def make_executor(self, workload: str) -> Executor:
        from headwater.executors.dask import DaskExecutor

        return DaskExecutor(
            n_workers=2,
            threads_per_worker=4 if workload == "sleep" else 1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
