"""A typed use of headwater: must pass ``mypy --strict`` (see tests/test_typing.py).

Every annotation below is checked, and ``assert_type`` fails when a type is
not exactly the one written (an ``Any`` would slip through a plain
annotation such as ``x: int = add.run(1, 2)``, but not through ``assert_type``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from typing_extensions import assert_type

from headwater import Flow, FunctionTask, Parameter, Task, task
from headwater.states import State


@task
def add(x: int, y: int = 1) -> int:
    """Add two numbers."""
    return x + y


@task(name="load", max_retries=3, retry_delay=timedelta(seconds=0), tags={"io"})
def load(path: str) -> bytes:
    return path.encode()


class Double(Task[int]):
    def run(self, x: int) -> int:
        return 2 * x


x: int = add.run(1, 2)
y: int = add.run(x=1)
raw: bytes = load.run("data.csv")
function: Callable[[int, int], int] = add.__wrapped__
typed_task: FunctionTask[[str], bytes] = load
doubled: int = Double().run(4)
assert_type(add.run(1, 2), int)
assert_type(load.run("x"), bytes)
assert_type(add.copy(max_retries=2).run(1), int)
assert_type(add.__wrapped__(1, 2), int)

with Flow("typed") as flow:
    start = Parameter("start", default=1)
    total = add(start, 2)
    again = add(total)
    same_type: FunctionTask[[int, int], int] = again
    summed: Task[object] = total + again

    assert_type(again.run(1), int)
    assert_type(Double()(x=start), Double)

state = flow.run(parameters={"start": 3})
assert_type(state, State)
finished: bool = state.is_successful()
