"""The executor contract (``executors/base.py``) and the local executor's
synchronous path."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import pytest
from _tasks import add, inc, numbers

from headwater import Flow
from headwater.executors import Executor, LocalExecutor
from headwater.states import Success


class Counting(Executor):
    """Records when its resources are acquired and released."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def _open(self) -> None:
        self.calls.append("open")

    def _close(self, wait: bool) -> None:
        self.calls.append(f"close(wait={wait})")


def test_start_and_shutdown_nest() -> None:
    executor = Counting()
    with executor:
        executor.start()
        executor.shutdown()
        assert executor.calls == ["open"]
    assert executor.calls == ["open", "close(wait=True)"]
    executor.shutdown()  # idempotent
    assert executor.calls == ["open", "close(wait=True)"]


def test_default_hooks_keep_values_here() -> None:
    executor = Counting()
    states = [Success(result=1)]
    assert executor.as_list((1, 2)) == [1, 2]
    assert executor.fetch({"x": 1}) == {"x": 1}
    assert executor.gather(states) == states
    with pytest.raises(TypeError):
        executor.as_list(3)


def test_submit_try_defaults_to_submit() -> None:
    seen: list[tuple[Any, ...]] = []

    class Recording(Executor):
        def submit(self, fn: Any, *args: Any) -> concurrent.futures.Future[Any]:
            seen.append(args)
            future: concurrent.futures.Future[Any] = concurrent.futures.Future()
            future.set_result(fn(*args))
            return future

    with Flow("submit-try") as flow:
        t = add.copy(timeout=3)(1, 2)
    state = flow.run(executor=Recording())
    assert state.result[t].result == 3
    assert seen[0][1:] == ({"x": 1, "y": 2}, seen[0][2], 3.0)


def test_local_executor_runs_without_futures(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_futures(*args: Any) -> None:
        raise AssertionError("the synchronous path must not create futures")

    monkeypatch.setattr(LocalExecutor, "submit", no_futures)
    monkeypatch.setattr(LocalExecutor, "submit_try", no_futures)
    monkeypatch.setattr(concurrent.futures.Future, "__init__", no_futures)
    with Flow("sync") as flow:
        a = add(1, 2)
        m = inc.map(numbers(3))
        mm = inc.map(m)
    state = flow.run(executor=LocalExecutor())
    assert state.result[a].result == 3
    assert state.result[mm].result == [2, 3, 4]
