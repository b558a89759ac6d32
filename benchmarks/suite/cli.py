"""``python -m benchmarks.suite``: every workload on every engine, as Markdown.

See ``benchmarks/README.md`` for what is measured and how.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from benchmarks.suite import probes, report, targets
from benchmarks.suite.figures import Figures
from benchmarks.suite.registry import ENGINES, missing
from benchmarks.suite.schedule import ROOT, Plan, Result, run_all
from benchmarks.suite.worker import Case
from benchmarks.suite.workloads import SLEEP_TASKS, WORKLOADS

DEFAULT_SIZES = (1_000, 10_000, 100_000)
IMPORT_SAMPLES = 7
ONE_TASK_SAMPLES = 2_000


def names(text: str, known: tuple[str, ...] | list[str], what: str) -> list[str]:
    """Comma-separated names, each checked against ``known``."""
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(known)})"
        )
    return chosen


def parser() -> argparse.ArgumentParser:
    engines, workloads = list(ENGINES), list(WORKLOADS)
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.suite",
        description="Run every workload on every engine; print a Markdown report.",
    )
    p.add_argument(
        "--quick", action="store_true", help="smoke run: N=1,000 only, 1 repeat, no memory run"
    )
    p.add_argument(
        "--n",
        type=lambda t: [int(x) for x in t.split(",")],
        default=None,
        help="sizes, comma-separated (default 1000,10000,100000)",
    )
    p.add_argument(
        "--engines",
        type=lambda t: names(t, engines, "engine"),
        default=engines,
        help=f"comma-separated, from: {', '.join(engines)} (plain always runs)",
    )
    p.add_argument(
        "--workloads",
        type=lambda t: names(t, workloads, "workload"),
        default=workloads,
        help=f"comma-separated, from: {', '.join(workloads)}",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="timed runs per case; the median is reported (default 3)",
    )
    p.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="seconds; skip cases predicted to take longer (default 60)",
    )
    p.add_argument("--no-memory", action="store_true", help="skip the tracemalloc run")
    p.add_argument("--output", type=Path, help="also write the report to this file")
    return p


def available(engines: list[str]) -> tuple[list[str], list[str]]:
    """The engines that can run here, and a note for each one that cannot."""
    usable, notes = [], []
    for engine in engines:
        absent = missing(engine)
        if absent:
            notes.append(
                f"{engine}: skipped, {' and '.join(absent)} not installed "
                "(pip install -r benchmarks/bench-requirements.txt)"
            )
        else:
            usable.append(engine)
    return usable, notes


def plan_cases(workloads: list[str], engines: list[str], sizes: list[int]) -> list[Case]:
    """The cases, sizes increasing per (workload, engine); ``sleep`` on concurrent engines."""
    cases = []
    for workload in workloads:
        if workload == "sleep":
            cases += [Case(workload, e, SLEEP_TASKS) for e in engines if ENGINES[e].concurrent]
            continue
        chosen = ["plain", *(e for e in engines if e != "plain")]
        cases += [Case(workload, e, n) for e in chosen for n in sorted(set(sizes))]
    return cases


def render(
    command: str,
    options: argparse.Namespace,
    results: list[Result],
    probe: targets.Probes,
    notes: list[str],
    engines: list[str],
) -> str:
    figures = Figures(results)
    lines = [
        "# headwater benchmark suite",
        "",
        *report.header(command, options.repeat, options.budget),
        "",
        "## Engines",
        "",
        *report.engines_list(["plain", *(e for e in engines if e != "plain")]),
        *(f"- {note}" for note in notes),
        "",
        "## Targets",
        "",
        *targets.table(figures, probe),
        "",
        "## Results",
        "",
        "Overhead per task: (time - plain loop) / N. Peak memory: `tracemalloc` peak "
        "during one build + run, in the driver process only. The x columns: build + run "
        "over the plain loop's, and over dask's synchronous scheduler on the dict graph.",
        "",
        *report.results_table(figures),
        "",
        "## headwater against its peers",
        "",
        "headwater's build + run divided by each peer's (below 1: headwater is faster).",
        "",
        *report.peers_table(figures, options.n),
        "",
    ]
    if any(r.case.workload == "sleep" for r in results):
        lines += ["## Sleeping fan-out: 64 tasks x 50 ms", "", *report.sleep_table(results), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    options = parser().parse_args(argv)
    quick = options.quick
    options.n = [1_000] if quick else (options.n or list(DEFAULT_SIZES))
    options.repeat = options.repeat or (1 if quick else 3)
    memory = not (options.no_memory or quick)
    command = shlex.join(
        ["python", "-m", "benchmarks.suite", *(sys.argv[1:] if argv is None else argv)]
    )
    engines, notes = available(options.engines)
    for note in notes:
        print(note, file=sys.stderr)

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    progress("fixed costs: import headwater, 1-task flow.run()")
    probe = targets.Probes(
        probes.import_seconds(IMPORT_SAMPLES),
        probes.one_task_run_in_subprocess(ONE_TASK_SAMPLES, str(ROOT)),
    )
    plan = Plan(
        plan_cases(options.workloads, engines, options.n),
        options.repeat,
        memory,
        options.budget,
        lambda engine: ENGINES[engine].has_build,
    )
    results = run_all(plan, progress)
    text = render(command, options, results, probe, notes, engines)
    print(text)
    if options.output:
        options.output.write_text(text + "\n")
