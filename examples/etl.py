"""An extract-transform-load flow: a parameter, retries and a cleanup task.

What it shows:

- a ``Parameter`` (``rows``) supplied to ``flow.run(parameters=...)``;
- a flaky ``extract`` task that fails on its first try and succeeds on the
  second, thanks to ``max_retries=2`` (with a tiny ``retry_delay``);
- a ``cleanup`` task with ``trigger=triggers.all_finished``: it runs once the
  load is finished, whether the load succeeded or failed;
- ``flow.set_reference_tasks([...])``: the flow run's state follows the load,
  not the cleanup (by default the terminal tasks decide it);
- reading every task's final state from ``state.result``, and counting tries
  from the run record (``events=``).

Run it with ``python examples/etl.py``.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

from headwater import Flow, Parameter, context, task, triggers

Record = dict[str, float]
WAREHOUSE: list[Record] = []


@task(max_retries=2, retry_delay=timedelta(milliseconds=10))
def extract(rows: int) -> list[dict[str, str]]:
    """Fetch ``rows`` records from a (pretend) flaky API."""
    if context.task_run_count == 1:
        raise ConnectionError("the API timed out (it always does on the first try)")
    return [{"id": str(i), "amount": f"{10 * i}.00"} for i in range(1, rows + 1)]


@task
def transform(raw: list[dict[str, str]]) -> list[Record]:
    """Parse the text fields and add a 20% tax column."""
    records = [{"id": float(r["id"]), "amount": float(r["amount"])} for r in raw]
    return [{**r, "tax": round(r["amount"] * 0.2, 2)} for r in records]


@task
def load(records: list[Record]) -> int:
    """Write the records to the (pretend) warehouse; return how many."""
    WAREHOUSE.extend(records)
    return len(records)


@task(trigger=triggers.all_finished)
def cleanup() -> str:
    """Release resources, whatever happened upstream."""
    return "temporary files removed"


def build_flow() -> Flow:
    """The ETL flow: rows -> extract -> transform -> load -> cleanup."""
    with Flow("etl") as flow:
        rows = Parameter("rows", default=3)
        loaded = load(transform(extract(rows)))
        cleanup(upstream_tasks=[loaded])
    flow.set_reference_tasks([loaded])
    return flow


def main() -> int:
    flow = build_flow()
    events: list[dict[str, Any]] = []
    state = flow.run(parameters={"rows": 5}, events=events.append)

    tries: dict[str, int] = {}
    for event in events:
        if event["task"] is not None and event["new"] == "Running":
            tries[event["task"]] = event["try"]
    print(f"flow {flow.name!r} finished: {type(state).__name__}")
    for task_, task_state in state.result.items():
        count = tries.get(str(task_.slug), 0)
        print(f"  {task_.slug:<12} {type(task_state).__name__:<8} tries: {count}")
    total_tax = sum(record["tax"] for record in WAREHOUSE)
    print(f"loaded {len(WAREHOUSE)} rows, total tax {total_tax:.2f}")
    return 0 if state.is_successful() else 1


if __name__ == "__main__":
    sys.exit(main())
