"""The peers: dask and distributed running the same functions in the same shapes.

- ``dask-delayed-*``: the graph built with ``dask.delayed`` (as a user would),
  computed with the synchronous or the threaded scheduler.
- ``dask-dict-sync``: the equivalent plain dict graph (``{key: (fn, *args)}``)
  run by ``dask.get``, dask's synchronous scheduler: dask's floor.
- ``distributed-*``: plain futures, ``client.submit`` (``client.map`` for
  map-reduce) on an in-process cluster or on a 2-process ``LocalCluster``.
  Submitting *is* running here, so these engines have no build step.

dask has no ``map`` over a graph node for delayed objects and dict graphs:
their map-reduce is the same graph as their fan-out.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any, ClassVar

from benchmarks.suite import workloads
from benchmarks.suite.engine import Engine
from benchmarks.suite.workloads import SLEEP_TASKS, add, inc, lattice_shape, nap, total


def _dask() -> Any:
    """The ``dask`` module, imported when an engine first needs it (it is untyped)."""
    return importlib.import_module("dask")


def build_delayed(workload: str, n: int) -> list[Any]:
    """The ``dask.delayed`` objects whose values sum up to the answer."""
    delayed = _dask().delayed
    if workload == "chain":
        x = delayed(inc)(0)
        for _ in range(n - 1):
            x = delayed(inc)(x)
        return [x]
    if workload in ("fan-out", "map-reduce"):
        return [delayed(total)([delayed(inc)(i) for i in range(n)])]
    if workload == "lattice":
        width, depth = lattice_shape(n)
        row = [delayed(inc)(j) for j in range(width)]
        for _ in range(depth - 1):
            row = [delayed(add)(row[j], row[(j + 1) % width]) for j in range(width)]
        return row
    return [delayed(nap)(i) for i in range(SLEEP_TASKS)]


def build_dict(workload: str, n: int) -> tuple[dict[str, Any], list[str]]:
    """The plain dask graph ``{key: (fn, *args)}`` and the keys to compute."""
    graph: dict[str, Any] = {}
    if workload == "chain":
        graph["x0"] = (inc, 0)
        for i in range(1, n):
            graph[f"x{i}"] = (inc, f"x{i - 1}")
        return graph, [f"x{n - 1}"]
    if workload in ("fan-out", "map-reduce"):
        for i in range(n):
            graph[f"x{i}"] = (inc, i)
        graph["total"] = (total, [f"x{i}" for i in range(n)])
        return graph, ["total"]
    if workload == "lattice":
        width, depth = lattice_shape(n)
        for j in range(width):
            graph[f"0-{j}"] = (inc, j)
        for d in range(1, depth):
            for j in range(width):
                graph[f"{d}-{j}"] = (add, f"{d - 1}-{j}", f"{d - 1}-{(j + 1) % width}")
        return graph, [f"{depth - 1}-{j}" for j in range(width)]
    for i in range(SLEEP_TASKS):
        graph[f"nap{i}"] = (nap, i)
    return graph, [f"nap{i}" for i in range(SLEEP_TASKS)]


class DelayedSync(Engine):
    name = "dask-delayed-sync"
    label = "`dask.delayed`, synchronous scheduler"
    requires = ("dask",)

    def build(self, workload: str, n: int) -> list[Any]:
        return build_delayed(workload, n)

    def run(self, graph: list[Any]) -> int:
        return sum(_dask().compute(*graph, scheduler="sync"))


class DelayedThreads(Engine):
    name = "dask-delayed-threads"
    label = "`dask.delayed`, threaded scheduler (8 threads for sleep, 2 otherwise)"
    requires = ("dask",)
    concurrent = True
    sleep_workers = 8
    _workers = 2

    def start(self, workload: str) -> None:
        self._workers = self.sleep_workers if workload == "sleep" else 2

    def build(self, workload: str, n: int) -> list[Any]:
        return build_delayed(workload, n)

    def run(self, graph: list[Any]) -> int:
        return sum(_dask().compute(*graph, scheduler="threads", num_workers=self._workers))


class DictSync(Engine):
    name = "dask-dict-sync"
    label = "plain dict graph, `dask.get` (dask's synchronous scheduler)"
    requires = ("dask",)

    def build(self, workload: str, n: int) -> tuple[dict[str, Any], list[str]]:
        return build_dict(workload, n)

    def run(self, graph: tuple[dict[str, Any], list[str]]) -> int:
        dsk, keys = graph
        return sum(_dask().get(dsk, keys))


class Futures(Engine):
    """``distributed`` futures submitted from a client; see the subclasses."""

    requires: ClassVar[tuple[str, ...]] = ("distributed",)
    has_build = False
    concurrent = True
    sleep_workers = 8
    processes: ClassVar[bool]
    _client: Any = None

    def start(self, workload: str) -> None:
        client = importlib.import_module("distributed").Client
        self._client = client(
            processes=self.processes,
            n_workers=2,
            threads_per_worker=4 if workload == "sleep" else 1,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def build(self, workload: str, n: int) -> tuple[str, int]:
        return workload, n

    def run(self, graph: tuple[str, int]) -> int:
        workload, n = graph
        submit = self._client.submit
        if workload == "chain":
            x = submit(inc, 0, pure=False)
            for _ in range(n - 1):
                x = submit(inc, x, pure=False)
            outputs = [x]
        elif workload == "fan-out":
            leaves = [submit(inc, i, pure=False) for i in range(n)]
            outputs = [submit(total, leaves, pure=False)]
        elif workload == "map-reduce":
            mapped = self._client.map(inc, range(n), pure=False)
            outputs = [submit(total, mapped, pure=False)]
        elif workload == "lattice":
            outputs = self._lattice(n)
        else:
            outputs = [submit(nap, i, pure=False) for i in range(workloads.SLEEP_TASKS)]
        return sum(self._client.gather(outputs))

    def _lattice(self, n: int) -> list[Any]:
        submit = self._client.submit
        width, depth = lattice_shape(n)
        row = [submit(inc, j, pure=False) for j in range(width)]
        for _ in range(depth - 1):
            row = [submit(add, row[j], row[(j + 1) % width], pure=False) for j in range(width)]
        return row


class FuturesInProcess(Futures):
    name = "distributed-inproc"
    label = (
        "`distributed` futures, in-process cluster `Client(processes=False)`, "
        "2 workers (4 threads each for sleep, 1 otherwise)"
    )
    processes = False


class FuturesCluster(Futures):
    name = "distributed-cluster"
    label = (
        "`distributed` futures, `LocalCluster` of 2 worker processes "
        "(4 threads each for sleep, 1 otherwise)"
    )
    processes = True
