"""A small flow for the CLI tests: a parameter, a retry, a mapped task."""

from __future__ import annotations

from datetime import timedelta

from headwater import Flow, Parameter, context, task


@task(max_retries=1, retry_delay=timedelta(0))
def extract(rows: int) -> list[int]:
    """Fail on the first try, succeed on the second."""
    if context.task_run_count == 1:
        raise ConnectionError("flaky source")
    return list(range(1, rows + 1))


@task
def double(x: int) -> int:
    return 2 * x


@task
def total(values: list[int], label: str) -> str:
    return f"{label}: {sum(values)}"


with Flow("etl") as flow:
    rows = Parameter("rows", default=3)
    label = Parameter("label", default="sum")
    result = total(double.map(extract(rows)), label)
