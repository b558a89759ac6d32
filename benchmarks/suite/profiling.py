"""Where headwater's time goes: a profile of one build and one run.

``python -m benchmarks.suite.profiling [--workload chain] [--n 100000] [--top 10]``
builds the workload's flow and runs it on the local executor under
``cProfile``, and prints the ``--top`` functions by own time (tottime) for
the build and for the run, each as a Markdown table. Times under the
profiler are inflated; read the proportions, not the absolute figures.

With ``--pyinstrument`` (``pip install pyinstrument``, in
``benchmarks/bench-requirements.txt``), a sampling profiler, which slows the
code far less, prints the call trees of the build and of the run instead.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re

from benchmarks.suite.headwater_engines import Local
from benchmarks.suite.workloads import TRIVIAL, expected


def top_table(profile: cProfile.Profile, top: int) -> list[str]:
    """The ``top`` functions by tottime, as Markdown rows."""
    stats = pstats.Stats(profile)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = [
        "| function | calls | tottime (s) | share | cumtime (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    entries = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # type: ignore[attr-defined]
    for (filename, line, name), (_, calls, tottime, cumtime, _) in entries[:top]:
        where = filename.rsplit("/src/", 1)[-1].rsplit("site-packages/", 1)[-1]
        label = re.sub(r" at 0x[0-9a-f]+", "", name)  # no memory address
        rows.append(
            f"| `{label}` ({where}:{line}) | {calls:,} | {tottime:.3f} "
            f"| {tottime / total:.0%} | {cumtime:.3f} |"
        )
    return rows


def sampled(workload: str, n: int) -> None:
    """Print pyinstrument's call trees of one build and one run."""
    from pyinstrument import Profiler

    engine = Local()
    engine.start(workload)
    engine.run(engine.build(workload, 10))  # warm-up: lazy imports
    for title in ("build", "run"):
        profiler = Profiler(interval=0.0005)
        profiler.start()
        if title == "build":
            graph = engine.build(workload, n)
        else:
            answer = engine.run(graph)
        profiler.stop()
        print(f"\n### {workload}, N={n:,}, local executor: {title} (pyinstrument)\n")
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    engine.close()
    if answer != expected(workload, n):
        raise AssertionError(f"wrong answer {answer}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.suite.profiling")
    parser.add_argument("--workload", choices=TRIVIAL, default="chain")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument(
        "--pyinstrument", action="store_true", help="call trees from pyinstrument instead"
    )
    options = parser.parse_args(argv)
    if options.pyinstrument:
        sampled(options.workload, options.n)
        return

    engine = Local()
    engine.start(options.workload)
    engine.run(engine.build(options.workload, 10))  # warm-up: lazy imports
    building, running = cProfile.Profile(), cProfile.Profile()
    graph = building.runcall(engine.build, options.workload, options.n)
    answer = running.runcall(engine.run, graph)
    engine.close()
    if answer != expected(options.workload, options.n):
        raise AssertionError(f"wrong answer {answer}")
    for title, profile in (("build", building), ("run", running)):
        print(f"\n### {options.workload}, N={options.n:,}, local executor: {title}\n")
        print("\n".join(top_table(profile, options.top)))


if __name__ == "__main__":
    main()
