"""The ETL-style flow of ``etl.py`` on a Dask cluster, with ``DaskExecutor``.

What it shows:

- ``executors.DaskExecutor()``: with no address it starts a ``distributed``
  ``LocalCluster`` for the run (keyword arguments go to ``LocalCluster``) and
  closes it afterwards; with ``address="tcp://host:8786"`` it connects to a
  running scheduler instead;
- the same flow gives the same states and results as on the local executor,
  while independent tasks (here the mapped ``transform`` children) run in
  parallel on the cluster's worker processes.

It needs the ``dask`` extra: ``pip install -e ".[dask]"``.

Run it with ``python examples/dask_cluster.py`` (a local cluster), or start a
cluster by hand and pass its scheduler's address::

    dask scheduler                      # prints tcp://192.168.1.10:8786
    dask worker tcp://192.168.1.10:8786  # on each worker machine
    python examples/dask_cluster.py tcp://192.168.1.10:8786
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta

from headwater import Flow, Parameter, context, executors, task, triggers


@task(max_retries=2, retry_delay=timedelta(milliseconds=10))
def extract(batches: int) -> list[list[int]]:
    """Fetch ``batches`` batches of numbers from a flaky source."""
    if context.task_run_count == 1:
        raise ConnectionError("the source timed out (it always does on the first try)")
    return [list(range(10 * i, 10 * i + 10)) for i in range(batches)]


@task
def transform(batch: list[int]) -> dict[str, int]:
    """Square and add up one batch; report which process did it."""
    return {"total": sum(x * x for x in batch), "pid": os.getpid()}


@task
def load(results: list[dict[str, int]]) -> int:
    """Add up the batch totals (the pretend warehouse write)."""
    return sum(result["total"] for result in results)


@task(trigger=triggers.all_finished)
def cleanup() -> str:
    """Runs whatever happened upstream."""
    return "done"


def build_flow() -> tuple[Flow, dict[str, object]]:
    """The flow, and the tasks whose states ``main`` reads."""
    with Flow("dask-etl") as flow:
        batches = Parameter("batches", default=8)
        transformed = transform.map(extract(batches))
        loaded = load(transformed)
        cleanup(upstream_tasks=[loaded])
    flow.set_reference_tasks([loaded])
    return flow, {"transformed": transformed, "loaded": loaded}


def main(argv: list[str]) -> int:
    address = argv[1] if len(argv) > 1 else None
    if address is None:
        executor = executors.DaskExecutor(n_workers=2, threads_per_worker=1)
    else:
        executor = executors.DaskExecutor(address=address)
    flow, tasks = build_flow()
    state = flow.run(executor=executor)

    print(
        f"flow {flow.name!r} on {'a LocalCluster' if address is None else address}: "
        f"{type(state).__name__}"
    )
    for task_, task_state in state.result.items():
        print(f"  {task_.slug:<12} {type(task_state).__name__}")
    transformed = state.result[tasks["transformed"]].result
    print(f"transform ran on {len({r['pid'] for r in transformed})} worker process(es)")
    print(f"loaded total: {state.result[tasks['loaded']].result}")
    return 0 if state.is_successful() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
