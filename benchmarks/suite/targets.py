"""The targets of the "Speed" issue, checked against the measured figures.

Each check returns what was measured and whether the target is met; ``None``
when the suite did not measure what the check needs (a size or an engine was
left out, or skipped). Overheads are per task above the plain loop (see
:class:`~benchmarks.suite.figures.Figures`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.suite.figures import Figures
from benchmarks.suite.registry import REFERENCE_PEER
from benchmarks.suite.schedule import Result
from benchmarks.suite.workloads import SLEEP_SECONDS, SLEEP_TASKS, TRIVIAL

BIG = 100_000
SMALL = 1_000


@dataclass(frozen=True)
class Probes:
    """The fixed costs (seconds), measured outside the workloads."""

    import_time: float | None
    one_task_run: float | None


@dataclass(frozen=True)
class Check:
    target: str
    measured: str
    met: bool | None


def _check(target: str, value: float | None, shown: Callable[[float], str], ok: bool) -> Check:
    if value is None:
        return Check(target, "not measured", None)
    return Check(target, shown(value), ok)


def _at(n: int | None) -> str:
    return f"largest N measured (N={n:,})" if n else "largest N measured"


def _us(value: float) -> str:
    return f"{value * 1e6:,.1f} µs"


def _x(value: float) -> str:
    return f"{value:,.2f}x"


def local_overhead(f: Figures, workload: str) -> Check:
    value = f.overhead(workload, "hw-local", BIG, True)
    target = f"local executor, build+run overhead per task, {workload}, N=100,000 <= 10 µs"
    return _check(target, value, _us, value is not None and value <= 10e-6)


def versus_dask(f: Figures, workload: str) -> Check:
    value = f.ratio(workload, REFERENCE_PEER, "hw-local", BIG)
    target = (
        f"local executor >= 3x faster than dask's sync scheduler on the dict graph "
        f"(build+run), {workload}, N=100,000"
    )
    return _check(target, value, _x, value is not None and value >= 3)


def memory(f: Figures, workload: str) -> Check:
    value = f.peak_per_task(workload, "hw-local", BIG)
    target = f"memory per task (tracemalloc peak of build+run / N), {workload}, N=100,000 <= 2 KiB"
    return _check(target, value, lambda v: f"{v:,.0f} B", value is not None and value <= 2048)


def threads_overhead(f: Figures, workload: str) -> Check:
    n = f.largest_n(workload, "hw-threads", "plain")
    value = f.overhead(workload, "hw-threads", n, False) if n else None
    target = f"thread executor, run overhead per task, {workload}, {_at(n)} <= 40 µs"
    return _check(target, value, _us, value is not None and value <= 40e-6)


def sleep_speedup(results: list[Result]) -> Check:
    runs = [
        r.run
        for r in results
        if r.ok and r.run and (r.case.workload, r.case.engine) == ("sleep", "hw-threads")
    ]
    value = SLEEP_TASKS * SLEEP_SECONDS / runs[0] if runs else None
    target = "sleeping fan-out (64 x 50 ms), ThreadExecutor(8): speedup >= 7.5x"
    return _check(target, value, _x, value is not None and value >= 7.5)


def dask_versus_futures(f: Figures, workload: str) -> Check:
    n = f.largest_n(workload, "hw-dask", "distributed-cluster", "plain")
    mine = f.overhead(workload, "hw-dask", n, True) if n else None
    theirs = f.overhead(workload, "distributed-cluster", n, True) if n else None
    value = mine / theirs if mine is not None and theirs else None
    target = (
        f"Dask executor overhead per task <= 1.5x distributed futures on the same "
        f"2-process cluster, {workload}, {_at(n)}"
    )
    return _check(target, value, _x, value is not None and value <= 1.5)


def mapping_overhead(f: Figures) -> Check:
    n = f.largest_n("map-reduce", "hw-local", "plain")
    mapped = f.overhead("map-reduce", "hw-local", n, True) if n else None
    plain_tasks = f.overhead("fan-out", "hw-local", n, True) if n else None
    value = mapped / plain_tasks if mapped is not None and plain_tasks else None
    target = (
        f"mapping overhead per element <= 2x local overhead per task "
        f"(map-reduce / fan-out, build+run, {_at(n)})"
    )
    shown = f"{_x(value)} ({_us(mapped or 0)} / {_us(plain_tasks or 0)})" if value else ""
    return _check(target, value, lambda _: shown, value is not None and value <= 2)


def scaling(f: Figures, workload: str) -> Check:
    big = f.overhead(workload, "hw-local", BIG, True)
    small = f.overhead(workload, "hw-local", SMALL, True)
    value = big / small if big is not None and small else None
    target = f"local overhead per task at N=100,000 <= 1.5x that at N=1,000 ({workload})"
    shown = f"{_x(value)} ({_us(big or 0)} vs {_us(small or 0)})" if value else ""
    return _check(target, value, lambda _: shown, value is not None and value <= 1.5)


def checks(f: Figures, probes: Probes) -> list[Check]:
    """Every target, in the order of the issue."""
    one_task, imported = probes.one_task_run, probes.import_time
    return [
        local_overhead(f, "chain"),
        local_overhead(f, "fan-out"),
        versus_dask(f, "chain"),
        versus_dask(f, "fan-out"),
        _check("1-task flow `flow.run()` <= 100 µs", one_task, _us, (one_task or 1) <= 100e-6),
        _check(
            "`import headwater` in a fresh process <= 100 ms",
            imported,
            lambda v: f"{v * 1e3:,.1f} ms",
            (imported or 1) <= 0.1,
        ),
        *(memory(f, workload) for workload in TRIVIAL),
        threads_overhead(f, "chain"),
        threads_overhead(f, "fan-out"),
        sleep_speedup(f.results),
        dask_versus_futures(f, "chain"),
        dask_versus_futures(f, "fan-out"),
        mapping_overhead(f),
        scaling(f, "chain"),
        scaling(f, "fan-out"),
    ]


def table(f: Figures, probes: Probes) -> list[str]:
    rows = ["| target | measured | met? |", "|---|---:|---|"]
    for check in checks(f, probes):
        met = {True: "met", False: "**not met**", None: "n/a"}[check.met]
        rows.append(f"| {check.target} | {check.measured} | {met} |")
    return rows
