"""Importable task definitions for the serialization and drawing tests."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from headwater import Task, signals, task


class Color(enum.Enum):
    RED = "red"
    GREEN = 2


@task
def add(x: int, y: int = 1) -> int:
    return x + y


@task
def mul(x: int, y: int) -> int:
    return x * y


@task
def inc(x: int) -> int:
    return x + 1


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def identity(x: Any) -> Any:
    return x


@task
def boom(x: int = 0) -> int:
    raise ValueError(f"boom {x}")


@task
def skipper(x: int = 0) -> int:
    raise signals.SKIP("not today")


@task(
    name="fancy",
    description="every option",
    group="grp",
    tags={"io", "slow"},
    max_retries=2,
    retry_delay=timedelta(seconds=0),
    timeout=5,
    propagate_skip=True,
    nout=2,
    cache_key="shared",
)
def fancy(x: int) -> tuple[int, int]:
    return x, x


def plain_function(x: int, y: int = 0) -> int:
    return x - y


def handler(task: Any, old_state: Any, new_state: Any) -> None:
    return None


def failure_hook(task: Any, state: Any) -> None:
    return None


def at_least_one(upstream_states: Mapping[Any, Any]) -> bool:
    return any(state.is_successful() for state in upstream_states.values())


class Scale(Task[int]):
    """Multiply by a factor kept on the instance."""

    max_retries = 1  # a class-level option default

    def __init__(self, factor: Any, **options: Any) -> None:
        super().__init__(**options)
        self.factor = factor

    def run(self, x: int) -> int:
        return x * self.factor


class Echo(Task[Any]):
    def run(self, **items: Any) -> Any:
        return dict(sorted(items.items()))


def make_nested_function() -> Any:
    def nested(x: int) -> int:
        return x

    return nested


def make_nested_class() -> Any:
    class Nested(Task[int]):
        def run(self) -> int:
            return 1

    return Nested


def shadowed(x: int) -> int:
    return x


shadowed_task = task(shadowed)


def shadowed(x: int) -> int:  # type: ignore[no-redef]  # noqa: F811
    return -x
