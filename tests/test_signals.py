"""Signals: each maps onto one state, in a running flow as on its own."""

from __future__ import annotations

import pickle
from datetime import timedelta
from typing import Any

import pytest

from headwater import Flow, context, signals, task
from headwater.states import Failed, Pending, Retrying, Skipped, Success, Waiting

NO_DELAY = timedelta(0)


@pytest.mark.parametrize(
    ("signal", "state"),
    [
        (signals.FAIL, Failed),
        (signals.RETRY, Retrying),
        (signals.SUCCESS, Success),
        (signals.SKIP, Skipped),
        (signals.WAIT, Waiting),
    ],
)
def test_each_signal_names_one_state(signal: type[signals.Signal], state: type[Any]) -> None:
    assert signal.state is state
    assert issubclass(signal, signals.Signal)
    assert issubclass(signal, Exception)


def test_signal_keeps_message_and_result() -> None:
    raised = signals.SUCCESS("done early", result=[1, 2])
    assert raised.message == "done early"
    assert raised.result == [1, 2]
    assert str(raised) == "done early"


def test_signals_pickle_with_their_result() -> None:
    clone = pickle.loads(pickle.dumps(signals.SKIP("why", result={"a": 1})))
    assert type(clone) is signals.SKIP
    assert (clone.message, clone.result) == ("why", {"a": 1})


def run_one(fn: Any, **options: Any) -> tuple[Any, list[int]]:
    """Run ``fn`` as the only task of a flow; return (its state, run counts seen)."""
    counts: list[int] = []

    def body() -> Any:
        counts.append(context.task_run_count)
        return fn()

    with Flow("signals") as flow:
        t = task(name=fn.__name__, **options)(body)()
    return flow.run().result[t], counts


def test_fail_gives_failed_after_retries() -> None:
    def fails() -> None:
        raise signals.FAIL("not good", result="partial")

    state, counts = run_one(fails, max_retries=2, retry_delay=NO_DELAY)
    assert type(state) is Failed
    assert state.message == "not good"
    assert state.result == "partial"
    assert counts == [1, 2, 3]


def test_fail_then_success_on_retry() -> None:
    def flaky() -> str:
        if context.task_run_count < 2:
            raise signals.FAIL("first try fails")
        return "ok"

    state, counts = run_one(flaky, max_retries=3, retry_delay=NO_DELAY)
    assert type(state) is Success
    assert state.result == "ok"
    assert counts == [1, 2]


def test_fail_without_retries_is_final() -> None:
    def fails() -> None:
        raise signals.FAIL("once")

    state, counts = run_one(fails)
    assert type(state) is Failed
    assert counts == [1]


def test_retry_retries_past_max_retries() -> None:
    def insists() -> int:
        if context.task_run_count < 4:
            raise signals.RETRY("again please")
        return context.task_run_count

    state, counts = run_one(insists, max_retries=0, retry_delay=NO_DELAY)
    assert type(state) is Success
    assert state.result == 4
    assert counts == [1, 2, 3, 4]


def test_success_signal_carries_its_result() -> None:
    def early() -> int:
        raise signals.SUCCESS("shortcut", result=7)

    state, _ = run_one(early)
    assert type(state) is Success
    assert state.result == 7
    assert state.message == "shortcut"


def test_success_signal_without_result() -> None:
    def early() -> int:
        raise signals.SUCCESS("nothing to return")

    state, _ = run_one(early)
    assert type(state) is Success
    assert state.result is None


def test_skip_gives_skipped_and_is_not_retried() -> None:
    def skips() -> None:
        raise signals.SKIP("nothing to do")

    state, counts = run_one(skips, max_retries=2, retry_delay=NO_DELAY)
    assert type(state) is Skipped
    assert state.message == "nothing to do"
    assert counts == [1]


def test_wait_gives_waiting_and_flow_waiting() -> None:
    @task
    def waits() -> None:
        raise signals.WAIT("approve me")

    @task
    def after(x: Any) -> Any:
        return x

    with Flow("wait") as flow:
        w = waits()
        a = after(w)
    state = flow.run()
    assert type(state) is Waiting
    assert type(state.result[w]) is Waiting
    assert state.result[w].message == "approve me"
    assert type(state.result[a]) is Pending


def test_signal_state_is_built_with_message_and_result() -> None:
    from headwater._taskrun import signal_state

    state = signal_state(signals.SKIP("m", result=5))
    assert type(state) is Skipped
    assert (state.message, state.result) == ("m", 5)
