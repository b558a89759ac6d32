"""A flow whose middle task fails: the CLI reports it and exits 1."""

from __future__ import annotations

from headwater import Flow, Parameter, task


@task
def numbers(n: int) -> list[int]:
    return list(range(n))


@task
def divide(values: list[int]) -> list[float]:
    return [1 / v for v in values]


@task
def report(values: list[float]) -> int:
    return len(values)


with Flow("fragile") as flow:
    n = Parameter("n")
    report(divide(numbers(n)))
