"""A flow that can kill its own process, for ``tests/test_resume_crash.py``.

Run as a script: ``python tests/_crash_flow.py STORE [RUN_ID]``. Each task
appends its name to ``$HW_CRASH_DIR/calls.txt`` when it runs. The task named
by ``$HW_CRASH_AT`` kills the process with ``SIGKILL`` the first time it runs
(a ``crashed`` marker file makes the second time go on). With
``$HW_KILL_IN_WRITE=1``, the process instead dies halfway through writing the
checkpoint record (with the result) of ``$HW_CRASH_AT``: a torn record is
left at the end of the run's journal. The final results are
printed as JSON, by task name.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from headwater import Flow, task
from headwater.stores import LocalStore


def _out() -> Path:
    return Path(os.environ["HW_CRASH_DIR"])


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _mark(name: str) -> None:
    with open(_out() / "calls.txt", "a", encoding="utf-8") as calls:
        calls.write(name + "\n")
    first_time = not (_out() / "crashed").exists()
    if os.environ.get("HW_CRASH_AT") == name and first_time:
        (_out() / "crashed").write_text("killed here")
        if not os.environ.get("HW_KILL_IN_WRITE"):
            _die()


def _kill_during_writes() -> None:
    """Die halfway through the first checkpoint record written after the mark."""
    from headwater import stores

    real_append = stores._FileJournal.append

    def append(journal: Any, value: Any) -> None:
        if not (_out() / "crashed").exists():
            real_append(journal, value)
            return
        payload = journal._serializer.dumps(value)
        frame = stores._HEADER.pack(stores._MAGIC, len(payload), stores._digest(payload))
        record = frame + payload
        os.write(journal._fd, record[: len(record) // 2])
        _die()

    stores._FileJournal.append = append  # type: ignore[method-assign]


@task
def load() -> list[int]:
    _mark("load")
    return [1, 2, 3, 4]


@task
def square(x: int) -> int:
    _mark(f"square-{x}")
    return x * x


@task
def total(xs: list[int]) -> int:
    _mark("total")
    return sum(xs)


@task
def report(value: int, squares: list[int]) -> str:
    _mark("report")
    return f"{value} from {squares}"


with Flow("crashy") as flow:
    squares = square.map(load())
    summed = total(squares)
    reported = report(summed, squares)


def main(argv: list[str]) -> None:
    mode = os.environ.get("HW_KILL_IN_WRITE")
    if mode and not (_out() / "crashed").exists():
        _kill_during_writes()
    store = LocalStore(argv[1]) if len(argv) > 1 else None
    resume = argv[2] if len(argv) > 2 else None
    options: dict[str, Any] = {} if store is None else {"store": store, "resume": resume}
    state = flow.run(**options)
    results = {task.name: task_state.result for task, task_state in state.result.items()}
    print(json.dumps({"state": type(state).__name__, "results": results}, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv)
