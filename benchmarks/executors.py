"""Executors: concurrency of a sleeping fan-out, and per-element cost of a map.

Two measurements, printed as Markdown tables:

- **fan-out**: 64 independent tasks that each sleep 50 ms, on the local
  executor (the sequential baseline, 3.2 s), ``ThreadExecutor(8)``,
  ``ProcessExecutor(8)`` and a Dask ``LocalCluster`` of 2 processes x 4
  threads. *Ideal* is ``64 x 50 ms / 8 workers`` = 0.4 s; *efficiency* is
  ideal / measured.
- **map**: one task mapped over N trivial elements (``x + 1``), on every
  executor; *per element* is the run time divided by N. The default N is
  10,000; the Dask run uses ``--dask-elements`` (default 2,000) because each
  element costs two Dask tasks and round trips through the scheduler.

Executors are started before the clock starts (pool and cluster start-up is
not counted) and each figure is the best of ``--repeat`` runs after one
warm-up run.

Usage::

    python benchmarks/executors.py
    python benchmarks/executors.py --elements 2000 --dask-elements 500 --repeat 1
    python benchmarks/executors.py --no-dask
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from headwater import Flow, task
from headwater.executors import Executor, LocalExecutor, ProcessExecutor, ThreadExecutor

FAN_OUT = 64
SLEEP = 0.05
WORKERS = 8


@task
def nap(i: int) -> int:
    time.sleep(SLEEP)
    return i


@task
def inc(x: int) -> int:
    return x + 1


def fan_out_flow() -> Flow:
    with Flow("fan-out") as flow:
        for i in range(FAN_OUT):
            nap(i)
    return flow


def map_flow(n: int) -> Flow:
    with Flow("map") as flow:
        inc.map(list(range(n)))
    return flow


def best_time(flow: Flow, executor: Executor, repeat: int) -> float:
    """The best wall time of ``repeat`` runs, after a warm-up run."""
    times = []
    for attempt in range(repeat + 1):
        started = time.perf_counter()
        state = flow.run(executor=executor)
        elapsed = time.perf_counter() - started
        if not state.is_successful():
            raise RuntimeError(f"{executor!r}: the benchmark flow failed: {state}")
        if attempt:
            times.append(elapsed)
    return min(times)


@contextmanager
def started(make: Callable[[], Executor]) -> Iterator[Executor]:
    executor = make()
    with executor:
        yield executor


def dask(n_workers: int, threads: int) -> Executor:
    from headwater.executors import DaskExecutor

    return DaskExecutor(
        n_workers=n_workers,
        threads_per_worker=threads,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    )


def fan_out_table(repeat: int, with_dask: bool) -> list[str]:
    flow = fan_out_flow()
    ideal = FAN_OUT * SLEEP / WORKERS
    cases: list[tuple[str, Callable[[], Executor], float]] = [
        ("LocalExecutor (sequential)", LocalExecutor, FAN_OUT * SLEEP),
        (f"ThreadExecutor({WORKERS})", lambda: ThreadExecutor(WORKERS), ideal),
        (f"ProcessExecutor({WORKERS})", lambda: ProcessExecutor(WORKERS), ideal),
    ]
    if with_dask:
        cases.append(("DaskExecutor (2 processes x 4 threads)", lambda: dask(2, 4), ideal))
    rows = [
        "| executor | time (s) | ideal (s) | speedup vs sequential | efficiency |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, make, best in cases:
        with started(make) as executor:
            elapsed = best_time(flow, executor, 1 if "Local" in name else repeat)
        rows.append(
            f"| {name} | {elapsed:.3f} | {best:.3f} | {FAN_OUT * SLEEP / elapsed:.1f}x "
            f"| {best / elapsed:.0%} |"
        )
    return rows


def map_table(elements: int, dask_elements: int, repeat: int, with_dask: bool) -> list[str]:
    cases: list[tuple[str, Callable[[], Executor], int]] = [
        ("LocalExecutor", LocalExecutor, elements),
        (f"ThreadExecutor({WORKERS})", lambda: ThreadExecutor(WORKERS), elements),
        ("ProcessExecutor(2)", lambda: ProcessExecutor(2), elements),
    ]
    if with_dask:
        cases.append(("DaskExecutor (2 processes x 1 thread)", lambda: dask(2, 1), dask_elements))
    rows = [
        "| executor | elements | time (s) | per element (µs) |",
        "|---|---:|---:|---:|",
    ]
    for name, make, n in cases:
        flow = map_flow(n)
        with started(make) as executor:
            elapsed = best_time(flow, executor, repeat)
        rows.append(f"| {name} | {n:,} | {elapsed:.3f} | {elapsed / n * 1e6:,.0f} |")
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=10_000)
    parser.add_argument("--dask-elements", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask rows")
    options = parser.parse_args(argv)
    with_dask = not options.no_dask
    if with_dask:
        try:
            import distributed  # noqa: F401
        except ImportError:
            print("distributed is not installed: skipping Dask", file=sys.stderr)
            with_dask = False
    print(
        f"Python {platform.python_version()} on {platform.system()}, "
        f"{os.cpu_count()} CPUs; best of {options.repeat} runs after a warm-up.\n"
    )
    print(f"### Fan-out: {FAN_OUT} tasks sleeping {SLEEP * 1000:.0f} ms, {WORKERS} workers\n")
    print("\n".join(fan_out_table(options.repeat, with_dask)))
    print("\n### Map over trivial elements (`x + 1`)\n")
    print("\n".join(map_table(options.elements, options.dask_elements, options.repeat, with_dask)))


if __name__ == "__main__":
    main()
