"""Deliberately wrong uses: mypy must report each (see tests/test_typing.py)."""

from __future__ import annotations

from headwater import task


@task
def add(x: int, y: int) -> int:
    return x + y


wrong_argument = add.run("a", 2)  # error: arg-type
wrong_result: str = add.run(1, 2)  # error: assignment
