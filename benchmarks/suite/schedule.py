"""Run the cases, each in a fresh subprocess, skipping those predicted too slow.

Sizes run in increasing order for each (workload, engine). Before a case, the
time of one build + run is predicted from the sizes already measured: with
two of them, a power law through the last two (exponent clamped to 1..2.5,
since dask.delayed builds are quadratic-ish); with one, a slightly
super-linear guess (exponent 1.1). A case predicted to exceed the per-case
budget is not run and is reported "skipped (too slow)"; a case whose process
runs past ``timeout`` is killed and reported "timed out".
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.suite.worker import Case

ROOT = Path(__file__).resolve().parents[2]
SINGLE_POINT_EXPONENT = 1.1
EXPONENT_RANGE = (1.0, 2.5)
START_UP_ALLOWANCE = 120.0  # seconds for imports, pools and clusters, per case


@dataclass(frozen=True)
class Result:
    """A case's medians (seconds, bytes), or why it has none (``status``)."""

    case: Case
    status: str  # "ok", "skipped (too slow)", "timed out", "failed: ..."
    build: float | None = None  # None: the engine has no build step, or not measured
    run: float | None = None
    total: float | None = None  # median of build + run over the repeats
    peak: int | None = None  # tracemalloc peak of one build + run

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def predict(history: list[tuple[int, float]], n: int) -> float | None:
    """Predicted seconds of one build + run at ``n``, from ``(n, seconds)`` measured."""
    if not history:
        return None
    if len(history) == 1:
        exponent = SINGLE_POINT_EXPONENT
    else:
        (n1, t1), (n2, t2) = history[-2:]
        exponent = math.log(max(t2, 1e-9) / max(t1, 1e-9)) / math.log(n2 / n1)
        exponent = min(max(exponent, EXPONENT_RANGE[0]), EXPONENT_RANGE[1])
    last_n, last_t = history[-1]
    return float(last_t * (n / last_n) ** exponent)


def run_case(
    case: Case, repeat: int, memory: bool, memory_limit: float, has_build: bool, timeout: float
) -> Result:
    """Measure ``case`` in a fresh interpreter (see :mod:`benchmarks.suite.worker`)."""
    spec = json.dumps(
        {**asdict(case), "repeat": repeat, "memory": memory, "memory_limit": memory_limit}
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), _pythonpath()]))}
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "result.json"
        command = [sys.executable, "-m", "benchmarks.suite.worker", spec, str(out)]
        try:
            done = subprocess.run(
                command,
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Result(case, f"timed out (> {timeout:.0f} s)")
        if done.returncode != 0 or not out.exists():
            lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
            return Result(case, f"failed: {lines[-1][:120]}")
        raw = json.loads(out.read_text())
    totals = [b + r for b, r in zip(raw["build"], raw["run"], strict=True)]
    return Result(
        case,
        "ok",
        build=statistics.median(raw["build"]) if has_build else None,
        run=statistics.median(raw["run"]),
        total=statistics.median(totals),
        peak=raw["peak"],
    )


def _pythonpath() -> str:
    return os.environ.get("PYTHONPATH", "")


@dataclass(frozen=True)
class Plan:
    """What to run and how."""

    cases: list[Case]
    repeat: int
    memory: bool
    budget: float  # seconds of one build + run, beyond which a case is skipped
    has_build: Callable[[str], bool]


def run_all(plan: Plan, progress: Callable[[str], None]) -> list[Result]:
    """Every case of ``plan``, in order, skipping those predicted too slow."""
    history: dict[tuple[str, str], list[tuple[int, float]]] = {}
    timeout = START_UP_ALLOWANCE + plan.budget * (plan.repeat + 4)
    results: list[Result] = []
    for index, case in enumerate(plan.cases, 1):
        label = f"[{index}/{len(plan.cases)}] {case.workload} N={case.n:,} {case.engine}"
        past = history.setdefault((case.workload, case.engine), [])
        if past and past[-1][1] < 0:  # a smaller size failed: do not try a larger one
            results.append(Result(case, "skipped (smaller N failed)"))
            progress(f"{label}: skipped, a smaller N failed")
            continue
        guess = predict(past, case.n)
        if guess is not None and guess > plan.budget:
            results.append(Result(case, "skipped (too slow)"))
            progress(f"{label}: skipped, predicted {guess:,.0f} s > {plan.budget:.0f} s")
            continue
        started = time.perf_counter()
        result = run_case(
            case, plan.repeat, plan.memory, plan.budget / 4, plan.has_build(case.engine), timeout
        )
        results.append(result)
        past.append((case.n, result.total if result.total is not None else -1.0))
        progress(f"{label}: {result.status}, {time.perf_counter() - started:.1f} s wall")
    return results
