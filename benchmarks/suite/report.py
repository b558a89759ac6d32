"""The Markdown report: the machine, the results, headwater against its peers."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
from collections.abc import Iterable

from benchmarks.suite.figures import Figures
from benchmarks.suite.registry import ENGINES, HEADWATER, PEERS, REFERENCE_PEER
from benchmarks.suite.schedule import ROOT, Result
from benchmarks.suite.workloads import SLEEP_SECONDS, SLEEP_TASKS, TRIVIAL

DASH = "—"


def seconds(value: float | None) -> str:
    """``value`` seconds in µs, ms or s."""
    if value is None:
        return DASH
    if value < 1e-3:
        return f"{value * 1e6:,.0f} µs"
    if value < 1:
        return f"{value * 1e3:,.1f} ms"
    return f"{value:,.2f} s"


def micros(value: float | None) -> str:
    return DASH if value is None else f"{value * 1e6:,.1f}"


def times(value: float | None) -> str:
    if value is None:
        return DASH
    if value < 0.1:
        return f"{value:.3f}x"
    return f"{value:,.2f}x" if value < 10 else f"{value:,.0f}x"


def memory(peak: int | None, n: int) -> str:
    if peak is None:
        return DASH
    return f"{peak / 2**20:,.1f} MiB ({peak / n:,.0f} B/task)"


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _commit() -> str:
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def header(command: str, repeat: int, budget: float) -> list[str]:
    """Where, when and how the figures were measured."""
    versions = ", ".join(f"{p} {_version(p)}" for p in ("headwater", "dask", "distributed"))
    return [
        f"- command: `{command}`",
        f"- date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"- machine: {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()} ({platform.python_implementation()})",
        f"- versions: {versions}; headwater checkout `{_commit()}`",
        f"- method: each case in a fresh process; median of {repeat} build + run pairs "
        f"after a warm-up on a 10-task graph; per-case budget {budget:.0f} s "
        "(predicted from the smaller sizes)",
    ]


def results_table(figures: Figures) -> list[str]:
    """One row per case of the trivial workloads."""
    rows = [
        "| workload | N | engine | build | run | overhead/task, run (µs) "
        "| overhead/task, build+run (µs) | peak memory (tracemalloc) | x plain "
        f"| x {REFERENCE_PEER} |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in figures.results:
        case = result.case
        if case.workload not in TRIVIAL:
            continue
        lead = f"| {case.workload} | {case.n:,} | {case.engine} "
        if not result.ok:
            rows.append(lead + f"| {result.status} |" + f" {DASH} |" * 7)
            continue
        build = seconds(result.build) if result.build is not None else "n/a"
        key = (case.workload, case.engine, case.n)
        overheads = (
            [DASH, DASH]  # the plain loop is the floor itself
            if case.engine == "plain"
            else [micros(figures.overhead(*key, with_build)) for with_build in (False, True)]
        )
        rows.append(
            lead
            + f"| {build} | {seconds(result.run)} "
            + f"| {overheads[0]} | {overheads[1]} "
            + f"| {memory(result.peak, case.n)} "
            + f"| {times(figures.ratio(case.workload, case.engine, 'plain', case.n))} "
            + f"| {times(figures.ratio(case.workload, case.engine, REFERENCE_PEER, case.n))} |"
        )
    return rows


def peers_table(figures: Figures, sizes: Iterable[int]) -> list[str]:
    """headwater's build + run over each peer's, per workload and N."""
    peers = [peer for peer in PEERS if any(r.case.engine == peer for r in figures.results)]
    if not peers:
        return ["No peer ran (see `--engines`, and the engines skipped above)."]
    rows = [
        "| workload | N | engine | " + " | ".join(f"÷ {peer}" for peer in peers) + " |",
        "|---|---:|---|" + "---:|" * len(peers),
    ]
    for workload in TRIVIAL:
        for n in sorted(set(sizes)):
            for engine in HEADWATER:
                if figures.get(workload, engine, n) is None:
                    continue
                ratios = [times(figures.ratio(workload, engine, peer, n)) for peer in peers]
                rows.append(f"| {workload} | {n:,} | {engine} | " + " | ".join(ratios) + " |")
    return rows


def sleep_table(results: Iterable[Result]) -> list[str]:
    """Speedup of the sleeping fan-out over running it sequentially."""
    sequential = SLEEP_TASKS * SLEEP_SECONDS
    rows = [
        f"| engine | workers | run | speedup vs sequential ({sequential:.1f} s) "
        "| ideal speedup | speedup / ideal |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        if result.case.workload != "sleep":
            continue
        workers = ENGINES[result.case.engine].sleep_workers
        ideal = min(workers, SLEEP_TASKS)
        if not result.ok or result.run is None:
            rows.append(f"| {result.case.engine} | {workers} | {result.status} | — | {ideal} | — |")
            continue
        speedup = sequential / result.run
        rows.append(
            f"| {result.case.engine} | {workers} | {seconds(result.run)} | {speedup:.2f}x "
            f"| {ideal}x | {speedup / ideal:.0%} |"
        )
    return rows


def engines_list(names: Iterable[str]) -> list[str]:
    return [f"- `{name}`: {ENGINES[name].label}" for name in names]
