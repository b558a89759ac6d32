"""Run one case in this (fresh) process and write its measurements as JSON.

``python -m benchmarks.suite.worker CASE_JSON RESULT_FILE``, started by
:mod:`benchmarks.suite.schedule`. Steps: start the engine (not timed); one
warm-up build and run on a tiny graph (lazy imports, pool and cluster
connections); ``repeat`` timed build + run pairs, each on a freshly built
graph, the garbage collector enabled as in real use and collected between
pairs; then, if asked, one more build + run under ``tracemalloc`` for the
peak memory (unless one build + run took longer than ``memory_limit``).
Every answer is checked against the plain loop's.
"""

from __future__ import annotations

import gc
import json
import sys
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.suite.engine import Engine
from benchmarks.suite.registry import ENGINES
from benchmarks.suite.workloads import expected

WARM_UP_SIZE = 10


@dataclass(frozen=True)
class Case:
    """One workload at one size on one engine."""

    workload: str
    engine: str
    n: int


@dataclass
class Measurement:
    """What one case's worker process measured (seconds, bytes)."""

    build: list[float] = field(default_factory=list)
    run: list[float] = field(default_factory=list)
    peak: int | None = None


def timed_pair(engine: Engine, case: Case, answer: int) -> tuple[float, float]:
    """Build and run once; return (build seconds, run seconds)."""
    started = time.perf_counter()
    graph = engine.build(case.workload, case.n)
    built = time.perf_counter()
    result = engine.run(graph)
    finished = time.perf_counter()
    if result != answer:
        raise AssertionError(f"{case}: got {result}, the plain loop gives {answer}")
    return built - started, finished - built


def traced_peak(engine: Engine, case: Case) -> int:
    """Peak bytes traced by ``tracemalloc`` during one build + run."""
    gc.collect()
    tracemalloc.start()
    try:
        engine.run(engine.build(case.workload, case.n))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure(case: Case, repeat: int, memory: bool, memory_limit: float) -> Measurement:
    """Every measurement of ``case``, in this process.

    The memory run (slower: ``tracemalloc`` traces every allocation) is left
    out when one build + run took longer than ``memory_limit`` seconds.
    """
    answer = expected(case.workload, case.n)
    engine = ENGINES[case.engine]()
    engine.start(case.workload)
    try:
        engine.run(engine.build(case.workload, min(case.n, WARM_UP_SIZE)))
        measurement = Measurement()
        for _ in range(repeat):
            gc.collect()
            build, run = timed_pair(engine, case, answer)
            measurement.build.append(build)
            measurement.run.append(run)
        slowest = max(b + r for b, r in zip(measurement.build, measurement.run, strict=True))
        if memory and slowest <= memory_limit:
            measurement.peak = traced_peak(engine, case)
        return measurement
    finally:
        engine.close()


def main(argv: list[str]) -> None:
    spec, result_file = argv
    options = json.loads(spec)
    case = Case(options["workload"], options["engine"], options["n"])
    measurement = measure(case, options["repeat"], options["memory"], options["memory_limit"])
    Path(result_file).write_text(json.dumps(asdict(measurement)))


if __name__ == "__main__":
    main(sys.argv[1:])
