"""Fixed costs: ``import headwater`` and ``flow.run()`` of a one-task flow.

- **import**: the time of ``import headwater`` alone (interpreter start-up
  excluded), each sample in a fresh interpreter; the median of ``samples``.
- **one-task run**: a flow of one trivial task, built once and run with the
  default executor (``flow.run()``), after 20 warm-up runs; the median of
  ``samples`` timed runs, in a fresh interpreter
  (``python -m benchmarks.suite.probes``).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

from benchmarks.suite.workloads import inc

IMPORT_SNIPPET = (
    "import time; started = time.perf_counter(); import headwater; "
    "print(time.perf_counter() - started)"
)
WARM_UP_RUNS = 20


def import_seconds(samples: int) -> float:
    """Median seconds of ``import headwater`` in a fresh interpreter."""
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", IMPORT_SNIPPET], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(samples)
    ]
    return statistics.median(times)


def one_task_run_seconds(samples: int) -> float:
    """Median seconds of ``flow.run()`` on a one-task flow, in this process."""
    from headwater import Flow, task

    with Flow("one task") as flow:
        task(inc)(1)
    for _ in range(WARM_UP_RUNS):
        flow.run()
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        state = flow.run()
        times.append(time.perf_counter() - started)
        if not state.is_successful():
            raise RuntimeError(f"the one-task flow did not succeed: {state!r}")
    return statistics.median(times)


def one_task_run_in_subprocess(samples: int, root: str) -> float:
    """:func:`one_task_run_seconds` in a fresh interpreter started in ``root``."""
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.suite.probes", str(samples)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(json.loads(done.stdout)["seconds"])


if __name__ == "__main__":
    print(json.dumps({"seconds": one_task_run_seconds(int(sys.argv[1]))}))
