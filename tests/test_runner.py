"""flow.run() on the local executor: validation, order, data, failures, flow
states, seeding, interrupts, retries, timeouts, WAIT/resume, state handlers
and logging."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from headwater import (
    CycleError,
    Flow,
    GraphError,
    Parameter,
    ParameterError,
    Task,
    context,
    signals,
    task,
    triggers,
)
from headwater.states import (
    Failed,
    Pending,
    Retrying,
    Running,
    Skipped,
    State,
    Success,
    TimedOut,
    TriggerFailed,
    Waiting,
)

NO_DELAY = timedelta(0)

# -- module-level tasks (their function names appear in messages) -----------


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def identity(value: Any) -> Any:
    return value


@task
def divide(x: float, y: float) -> float:
    return x / y


@task
def total(xs: list[int]) -> int:
    return sum(xs)


# -- validation before running -----------------------------------------------


def parameter_flow(ran: list[str]) -> tuple[Flow, Task[Any]]:
    @task
    def record(a: Any, b: Any) -> None:
        ran.append("record")

    with Flow("params") as flow:
        a = Parameter("a")
        b = Parameter("b", default=2)
        r = record(a, b)
    return flow, r


def test_missing_required_parameter_raises_before_any_task_runs() -> None:
    ran: list[str] = []
    flow, _ = parameter_flow(ran)
    with pytest.raises(ParameterError, match=r"missing required parameter.*'a'") as info:
        flow.run()
    assert info.value.missing == ("a",)
    assert info.value.unknown == ()
    assert isinstance(info.value, ValueError)
    assert ran == []


def test_unknown_parameter_raises_before_any_task_runs() -> None:
    ran: list[str] = []
    flow, _ = parameter_flow(ran)
    with pytest.raises(ParameterError, match=r"unknown parameter.*'zzz'.*\['a', 'b'\]") as info:
        flow.run(parameters={"a": 1, "zzz": 3})
    assert info.value.unknown == ("zzz",)
    assert ran == []


def test_missing_and_unknown_are_reported_together() -> None:
    ran: list[str] = []
    flow, _ = parameter_flow(ran)
    with pytest.raises(ParameterError, match=r"missing.*'a'.*unknown.*'c'.*Nothing was run"):
        flow.run(parameters={"c": 1})
    assert ran == []


def test_parameters_defaults_and_overrides() -> None:
    ran: list[str] = []
    flow, _ = parameter_flow(ran)
    state = flow.run(parameters={"a": 1})
    params = {t.name: s.result for t, s in state.result.items() if isinstance(t, Parameter)}
    assert params == {"a": 1, "b": 2}
    state = flow.run(parameters={"a": 1, "b": 5})
    assert {t.name: s.result for t, s in state.result.items() if t.name == "b"} == {"b": 5}
    assert ran == ["record", "record"]


def test_required_parameter_with_informational_default_must_be_given() -> None:
    with Flow("p") as flow:
        Parameter("x", default=3, required=True)
    with pytest.raises(ParameterError, match="'x'"):
        flow.run()


def test_graph_error_raises_before_any_task_runs() -> None:
    ran: list[str] = []

    @task
    def step(x: Any = None) -> None:
        ran.append("step")

    with Flow("cycle") as flow:
        a = step()
        b = step(a)
    flow.add_edge(b, a, validate=False)
    with pytest.raises(CycleError, match="cycle") as info:
        flow.run()
    assert isinstance(info.value, GraphError)
    assert set(info.value.cycle) == {a, b}
    assert ran == []


# -- order and data ----------------------------------------------------------


def test_order_is_deterministic_and_topological() -> None:
    order: list[str] = []

    @task
    def step() -> None:
        order.append(context.task_slug)

    def build() -> Flow:
        with Flow("order") as flow:
            roots = [step.copy(slug=f"root{i}")() for i in range(5)]
            mids = [step.copy(slug=f"mid{i}")(upstream_tasks=roots[i:]) for i in range(5)]
            step.copy(slug="last")(upstream_tasks=mids)
        return flow

    flow = build()
    runs = []
    for _ in range(3):
        order.clear()
        flow.run()
        runs.append(list(order))
    order.clear()
    build().run()
    runs.append(list(order))
    assert runs[0] == runs[1] == runs[2] == runs[3]
    assert [str(t.slug) for t in flow.sorted_tasks()] == runs[0]
    assert runs[0].index("last") == 10
    for i in range(5):
        assert all(runs[0].index(f"root{j}") < runs[0].index(f"mid{i}") for j in range(i, 5))


def test_results_flow_through_data_edges_and_constants() -> None:
    with Flow("data") as flow:
        a = add(1, 2)
        b = add(a, y=10)
        c = add(a, b)
    state = flow.run()
    assert type(state) is Success
    assert [state.result[t].result for t in (a, b, c)] == [3, 13, 16]


def test_collections_of_tasks_are_resolved() -> None:
    with Flow("collections") as flow:
        a = identity(1)
        b = identity(2)
        as_list = identity([a, b, 3])
        as_tuple = identity((a, (b, 4)))
        as_dict = identity({"a": a, "nested": {"b": [b]}})
        as_set = identity({a, b})
        summed = total([a, b, add(a, b)])
    result = flow.run().result
    assert result[as_list].result == [1, 2, 3]
    assert result[as_tuple].result == (1, (2, 4))
    assert result[as_dict].result == {"a": 1, "nested": {"b": [2]}}
    assert result[as_set].result == {1, 2}
    assert result[summed].result == 6


def test_state_only_edges_order_without_passing_data() -> None:
    order: list[str] = []

    @task
    def first() -> str:
        order.append("first")
        return "ignored"

    @task
    def second() -> str:
        order.append("second")
        return "ok"

    with Flow("state-only") as flow:
        s = second()
        f = first()
        s.set_upstream(f)
    state = flow.run()
    assert order == ["first", "second"]
    assert state.result[s].result == "ok"


def test_every_task_has_a_final_state_in_the_result() -> None:
    with Flow("all") as flow:
        a = add(1, 1)
        b = add(a, 1)
    state = flow.run()
    assert set(state.result) == flow.tasks
    assert all(s.is_finished() for s in state.result.values())
    assert b in state.result


# -- failures ----------------------------------------------------------------


def test_failing_task_does_not_raise_and_keeps_exception_and_traceback() -> None:
    with Flow("fail") as flow:
        d = divide(1, 0)
        after = add(d, 1)
    state = flow.run()
    failed = state.result[d]
    assert type(failed) is Failed
    assert isinstance(failed.result, ZeroDivisionError)
    assert isinstance(failed.traceback, str)
    assert "Traceback (most recent call last)" in failed.traceback
    assert "ZeroDivisionError: division by zero" in failed.traceback
    assert "return x / y" in failed.traceback
    assert type(state.result[after]) is TriggerFailed
    assert type(state) is Failed


def test_failed_message_names_task_function_and_inputs() -> None:
    with Flow("fail") as flow:
        d = divide(7, y=0)
    message = flow.run().result[d].message
    assert message is not None
    assert f"{d.slug!r}" in message
    assert f"{__name__}.divide" in message
    assert "ZeroDivisionError: division by zero" in message
    assert "x=7" in message
    assert "y=0" in message


def test_failed_message_shortens_large_inputs() -> None:
    @task
    def boom(data: list[int]) -> None:
        raise RuntimeError("no")

    with Flow("big") as flow:
        b = boom(list(range(100_000)))
    message = flow.run().result[b].message
    assert message is not None
    assert len(message) < 400
    assert "data=[0, 1, 2, 3, ...]" in message


def test_failing_task_class_is_named_by_its_class() -> None:
    class Explode(Task[None]):
        def run(self) -> None:
            raise OSError("disk")

    with Flow("class") as flow:
        e = Explode()()
    message = flow.run().result[e].message
    assert message is not None
    assert "test_failing_task_class_is_named_by_its_class.<locals>.Explode" in message
    assert "OSError: disk" in message


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("str() is broken too")


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr() is broken")


def test_exception_with_a_broken_str_still_gives_a_failed_state() -> None:
    @task
    def weird(value: Any) -> None:
        raise Unprintable

    with Flow("weird") as flow:
        w = weird(BadRepr())
    state = flow.run().result[w]
    assert type(state) is Failed
    assert isinstance(state.result, Unprintable)
    assert "Unprintable: <str() of the exception failed>" in (state.message or "")
    assert "value=" in (state.message or "")


def test_a_failure_does_not_stop_independent_branches() -> None:
    with Flow("branches") as flow:
        bad = divide(1, 0)
        good = add(1, 2)
        after_good = add(good, 1)
    state = flow.run()
    assert type(state.result[bad]) is Failed
    assert state.result[after_good].result == 4


# -- the flow's state ---------------------------------------------------------


def test_flow_state_success_failed_and_waiting() -> None:
    @task
    def waits() -> None:
        raise signals.WAIT("later")

    with Flow("ok") as ok_flow:
        add(1, 2)
    assert type(ok_flow.run()) is Success

    with Flow("bad") as bad_flow:
        divide(1, 0)
    state = bad_flow.run()
    assert type(state) is Failed
    assert "divide-1" in (state.message or "")

    with Flow("waiting") as waiting_flow:
        add(1, 2)
        waits()
    assert type(waiting_flow.run()) is Waiting


def test_reference_tasks_decide_the_flow_state() -> None:
    with Flow("reference") as flow:
        bad = divide(1, 0)
        good = add(1, 2)
    assert type(flow.run()) is Failed
    flow.set_reference_tasks([good])
    state = flow.run()
    assert type(state) is Success
    assert type(state.result[bad]) is Failed  # still reported


def test_skipped_and_trigger_passing_reference_tasks_count_as_success() -> None:
    @task
    def skipper() -> None:
        raise signals.SKIP("no")

    @task(trigger=triggers.always_run)
    def cleanup() -> str:
        return "clean"

    with Flow("ref") as flow:
        s = skipper()
        bad = divide(1, 0)
        c = cleanup(upstream_tasks=[bad])
    flow.set_reference_tasks([s, c])
    state = flow.run()
    assert type(state.result[s]) is Skipped
    assert type(state) is Success


def test_a_failed_reference_task_beats_a_waiting_one() -> None:
    @task
    def waits() -> None:
        raise signals.WAIT("later")

    with Flow("mixed") as flow:
        waits()
        divide(1, 0)
    assert type(flow.run()) is Failed


# -- task_states seeding -----------------------------------------------------


def test_seeded_finished_tasks_are_not_rerun_and_feed_downstream() -> None:
    calls: list[str] = []

    @task
    def load() -> int:
        calls.append("load")
        return 10

    @task
    def double(x: int) -> int:
        calls.append("double")
        return 2 * x

    with Flow("seed") as flow:
        a = load()
        b = double(a)
    state = flow.run(task_states={a: Success(result=21)})
    assert calls == ["double"]
    assert state.result[a].result == 21
    assert state.result[b].result == 42


def test_seeded_failed_task_is_not_rerun() -> None:
    calls: list[str] = []

    @task
    def load() -> int:
        calls.append("load")
        return 1

    with Flow("seed") as flow:
        a = load()
        b = add(a, 1)
    state = flow.run(task_states={a: Failed("earlier")})
    assert calls == []
    assert type(state.result[b]) is TriggerFailed


def test_seeded_pending_states_are_run() -> None:
    calls: list[str] = []

    @task
    def load() -> int:
        calls.append("load")
        return 1

    with Flow("seed") as flow:
        a = load()
    state = flow.run(task_states={a: Pending("not yet")})
    assert calls == ["load"]
    assert state.result[a].result == 1


def test_resuming_a_failed_run_reruns_only_unfinished_work() -> None:
    calls: list[str] = []
    fixed = {"value": False}

    @task
    def first() -> int:
        calls.append("first")
        return 1

    @task
    def fragile(x: int) -> int:
        calls.append("fragile")
        if not fixed["value"]:
            raise RuntimeError("broken")
        return x + 1

    with Flow("resume") as flow:
        a = first()
        b = fragile(a)
        c = add(b, 1)
    state = flow.run()
    assert type(state) is Failed
    seeds = {t: s for t, s in state.result.items() if s.is_successful()}
    fixed["value"] = True
    calls.clear()
    again = flow.run(task_states=seeds)
    assert calls == ["fragile"]
    assert again.result[c].result == 3


# -- KeyboardInterrupt --------------------------------------------------------


def test_keyboard_interrupt_stops_the_run_and_carries_the_states() -> None:
    ran: list[str] = []
    interrupt = {"on": True}

    @task
    def step(name: str) -> str:
        ran.append(name)
        return name

    @task
    def stopper(x: str) -> str:
        ran.append("stopper")
        if interrupt["on"]:
            raise KeyboardInterrupt
        return "resumed"

    with Flow("interrupt") as flow:
        a = step("a")
        s = stopper(a)
        b = step(s)
    with pytest.raises(KeyboardInterrupt) as info:
        flow.run()
    assert ran == ["a", "stopper"]
    flow_state = info.value.flow_state  # type: ignore[attr-defined]
    assert isinstance(flow_state, State)
    assert "KeyboardInterrupt" in (flow_state.message or "")
    states = flow_state.result
    assert set(states) == flow.tasks
    assert type(states[a]) is Success
    assert not states[s].is_finished()
    assert not states[b].is_finished()

    interrupt["on"] = False
    ran.clear()
    resumed = flow.run(task_states=states)
    assert ran == ["stopper", "resumed"]
    assert resumed.result[b].result == "resumed"
    assert type(resumed) is Success


# -- retries -----------------------------------------------------------------


def test_retries_count_tries_and_succeed() -> None:
    counts: list[int] = []

    @task(max_retries=3, retry_delay=NO_DELAY)
    def flaky() -> int:
        counts.append(context.task_run_count)
        if context.task_run_count < 3:
            raise ConnectionError("try again")
        return context.task_run_count

    with Flow("retry") as flow:
        f = flaky()
    state = flow.run()
    assert counts == [1, 2, 3]
    assert type(state.result[f]) is Success
    assert state.result[f].result == 3


def test_retries_exhausted_ends_failed() -> None:
    counts: list[int] = []

    @task(max_retries=2, retry_delay=NO_DELAY)
    def always_fails() -> None:
        counts.append(context.task_run_count)
        raise ConnectionError(f"try {context.task_run_count}")

    with Flow("retry") as flow:
        f = always_fails()
    state = flow.run().result[f]
    assert counts == [1, 2, 3]
    assert type(state) is Failed
    assert str(state.result) == "try 3"
    assert "ConnectionError: try 3" in (state.traceback or "")


def test_retry_delay_is_waited_and_other_tasks_run_meanwhile() -> None:
    events: list[tuple[str, float]] = []

    @task(max_retries=1, retry_delay=timedelta(seconds=0.2))
    def flaky() -> str:
        events.append((f"flaky{context.task_run_count}", time.monotonic()))
        if context.task_run_count == 1:
            raise ConnectionError("later")
        return "ok"

    @task
    def other(name: str) -> str:
        events.append((name, time.monotonic()))
        return name

    with Flow("meanwhile") as flow:
        f = flaky()
        others = [other(f"other{i}") for i in range(3)]
    started = time.monotonic()
    state = flow.run()
    elapsed = time.monotonic() - started
    names = [name for name, _ in events]
    assert names == ["flaky1", "other0", "other1", "other2", "flaky2"]
    times = dict(events)
    assert times["flaky2"] - times["flaky1"] >= 0.19
    assert times["other2"] - times["flaky1"] < 0.18  # before the retry was due
    assert 0.19 <= elapsed < 2
    assert state.result[f].result == "ok"
    assert all(state.result[o].is_successful() for o in others)


def test_retry_delay_as_seconds_number() -> None:
    @task(max_retries=1, retry_delay=0.05)
    def flaky() -> int:
        if context.task_run_count == 1:
            raise ValueError("x")
        return 1

    with Flow("seconds") as flow:
        f = flaky()
    started = time.monotonic()
    assert flow.run().result[f].result == 1
    assert time.monotonic() - started >= 0.05


def test_downstream_waits_for_the_retried_task() -> None:
    @task(max_retries=1, retry_delay=timedelta(seconds=0.05))
    def flaky() -> int:
        if context.task_run_count == 1:
            raise ValueError("first")
        return 5

    with Flow("after-retry") as flow:
        result = add(flaky(), 1)
    assert flow.run().result[result].result == 6


def test_retrying_state_is_passed_through_handlers() -> None:
    seen: list[tuple[str, str]] = []

    def handler(t: Task[Any], old: State, new: State) -> None:
        seen.append((type(old).__name__, type(new).__name__))

    @task(max_retries=1, retry_delay=NO_DELAY, state_handlers=[handler])
    def flaky() -> int:
        if context.task_run_count == 1:
            raise ValueError("first")
        return 1

    with Flow("handlers") as flow:
        flaky()
    flow.run()
    assert seen == [
        ("Pending", "Running"),
        ("Running", "Retrying"),
        ("Retrying", "Running"),
        ("Running", "Success"),
    ]


# -- timeouts ----------------------------------------------------------------


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """An event that sleeping tasks wait on; set at teardown to free their threads."""
    event = threading.Event()
    yield event
    event.set()


@pytest.mark.parametrize("timeout", [0.3, timedelta(milliseconds=300)])
def test_timeout_ends_timed_out_without_waiting(
    timeout: float | timedelta, release: threading.Event
) -> None:
    @task(timeout=timeout)
    def sleepy() -> str:
        release.wait(5)
        return "woke"

    @task
    def quick() -> str:
        return "quick"

    with Flow("timeout") as flow:
        s = sleepy()
        q = quick()
        after = identity(s)
    started = time.monotonic()
    state = flow.run()
    elapsed = time.monotonic() - started
    assert elapsed < 2
    assert elapsed >= 0.29
    timed_out = state.result[s]
    assert type(timed_out) is TimedOut
    assert timed_out.is_failed()
    assert "timeout of 0.3s" in (timed_out.message or "")
    assert "sleepy" in (timed_out.message or "")
    assert state.result[q].result == "quick"
    assert type(state.result[after]) is TriggerFailed
    assert type(state) is Failed


def test_task_within_its_timeout_succeeds_with_context() -> None:
    @task(timeout=2)
    def fast() -> tuple[str, int]:
        return context.task_name, context.task_run_count

    with Flow("fast") as flow:
        f = fast()
    assert flow.run().result[f].result == ("fast", 1)


def test_timed_out_task_is_retried(release: threading.Event) -> None:
    counts: list[int] = []

    @task(timeout=0.1, max_retries=1, retry_delay=NO_DELAY)
    def sleepy() -> int:
        counts.append(context.task_run_count)
        if context.task_run_count == 1:
            release.wait(5)
        return context.task_run_count

    with Flow("timeout-retry") as flow:
        s = sleepy()
    started = time.monotonic()
    state = flow.run()
    assert time.monotonic() - started < 2
    assert counts == [1, 2]
    assert state.result[s].result == 2


def test_exception_inside_timed_task_is_a_normal_failure() -> None:
    @task(timeout=2)
    def broken() -> None:
        raise ValueError("inside")

    with Flow("timed-failure") as flow:
        b = broken()
    state = flow.run().result[b]
    assert type(state) is Failed
    assert isinstance(state.result, ValueError)


# -- WAIT and resume ----------------------------------------------------------


def test_wait_and_resume() -> None:
    calls: list[tuple[str, bool]] = []

    @task
    def before() -> int:
        calls.append(("before", context.is_waiting))
        return 1

    @task
    def approval(x: int) -> int:
        calls.append(("approval", context.is_waiting))
        if not context.is_waiting:
            raise signals.WAIT("needs approval")
        return x + 1

    @task
    def after(x: int) -> int:
        calls.append(("after", context.is_waiting))
        return x * 10

    with Flow("approve") as flow:
        b = before()
        a = approval(b)
        c = after(a)
    first = flow.run()
    assert type(first) is Waiting
    assert type(first.result[b]) is Success
    assert type(first.result[a]) is Waiting
    assert first.result[a].message == "needs approval"
    assert type(first.result[c]) is Pending
    assert calls == [("before", False), ("approval", False)]

    calls.clear()
    second = flow.run(task_states=first.result)
    assert calls == [("approval", True), ("after", False)]
    assert type(second) is Success
    assert second.result[c].result == 20


def test_wait_does_not_block_independent_tasks() -> None:
    @task
    def waits() -> None:
        raise signals.WAIT("later")

    with Flow("independent") as flow:
        w = waits()
        other = add(1, 2)
    state = flow.run()
    assert type(state.result[w]) is Waiting
    assert state.result[other].result == 3
    assert "waits-1" in (state.message or "")


def test_waiting_task_can_wait_again_on_resume() -> None:
    @task
    def waits() -> None:
        raise signals.WAIT("still waiting")

    with Flow("again") as flow:
        w = waits()
    first = flow.run()
    second = flow.run(task_states=first.result)
    assert type(second) is Waiting
    assert type(second.result[w]) is Waiting


# -- state handlers ----------------------------------------------------------


def test_task_state_handlers_are_called_in_order() -> None:
    calls: list[tuple[str, Any, str, str]] = []

    def first(t: Task[Any], old: State, new: State) -> None:
        calls.append(("first", t, type(old).__name__, type(new).__name__))

    def second(t: Task[Any], old: State, new: State) -> None:
        calls.append(("second", t, type(old).__name__, type(new).__name__))

    with Flow("handlers") as flow:
        t = add.copy(state_handlers=[first, second])(1, 2)
    flow.run()
    assert calls == [
        ("first", t, "Pending", "Running"),
        ("second", t, "Pending", "Running"),
        ("first", t, "Running", "Success"),
        ("second", t, "Running", "Success"),
    ]


def test_handler_may_replace_the_new_state() -> None:
    seen: list[Any] = []

    def replace(t: Task[Any], old: State, new: State) -> State | None:
        if isinstance(new, Success):
            return Success("replaced", result=new.result * 100)
        return None

    def observe(t: Task[Any], old: State, new: State) -> None:
        seen.append((type(new).__name__, new.result))

    with Flow("replace") as flow:
        t = add.copy(state_handlers=[replace, observe])(1, 2)
        after = add(t, 1)
    state = flow.run()
    assert state.result[t].result == 300
    assert state.result[t].message == "replaced"
    assert seen == [("Running", None), ("Success", 300)]
    assert state.result[after].result == 301


def test_handler_replacing_failure_with_success() -> None:
    def forgive(t: Task[Any], old: State, new: State) -> State | None:
        return Success("forgiven", result=0) if new.is_failed() else None

    with Flow("forgive") as flow:
        d = divide.copy(state_handlers=[forgive])(1, 0)
    state = flow.run()
    assert type(state.result[d]) is Success
    assert type(state) is Success


def test_on_failure_is_called_once_when_a_task_ends_failed() -> None:
    failures: list[tuple[Task[Any], State]] = []

    @task(max_retries=2, retry_delay=NO_DELAY)
    def always_fails() -> None:
        raise ValueError("no")

    with Flow("on-failure") as flow:
        f = always_fails.copy(on_failure=lambda t, s: failures.append((t, s)))()
        ok = add.copy(on_failure=lambda t, s: failures.append((t, s)))(1, 1)
    state = flow.run()
    assert len(failures) == 1
    assert failures[0][0] is f
    assert failures[0][1] is state.result[f]
    assert state.result[ok].result == 2


def test_on_failure_is_called_for_trigger_failed_and_timed_out(release: threading.Event) -> None:
    failures: list[str] = []

    def note(t: Task[Any], s: State) -> None:
        failures.append(type(s).__name__)

    @task(timeout=0.05, on_failure=note)
    def sleepy() -> None:
        release.wait(5)

    with Flow("more") as flow:
        bad = divide(1, 0)
        add.copy(on_failure=note)(bad, 1)
        sleepy()
    flow.run()
    assert sorted(failures) == ["TimedOut", "TriggerFailed"]


def test_raising_on_failure_handler_does_not_break_the_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(t: Task[Any], s: State) -> None:
        raise RuntimeError("handler bug")

    with Flow("broken") as flow:
        d = divide.copy(on_failure=broken)(1, 0)
    state = flow.run()
    assert type(state.result[d]) is Failed
    assert "on_failure handler raised" in caplog.text


def test_raising_task_handler_gives_a_clear_failed_state() -> None:
    calls: list[str] = []

    def broken(t: Task[Any], old: State, new: State) -> None:
        raise RuntimeError("handler bug")

    @task(state_handlers=[broken])
    def work() -> int:
        calls.append("work")
        return 1

    with Flow("broken-handler") as flow:
        w = work()
    state = flow.run().result[w]
    assert type(state) is Failed
    assert calls == []  # the Pending -> Running change failed: work never ran
    assert state.message is not None
    assert "state handler" in state.message
    assert "work-1" in state.message
    assert "RuntimeError: handler bug" in state.message
    assert "Pending -> Running" in state.message
    assert isinstance(state.result, RuntimeError)
    assert "handler bug" in (state.traceback or "")


def test_handler_raising_on_the_final_change() -> None:
    def broken_on_success(t: Task[Any], old: State, new: State) -> None:
        if isinstance(new, Success):
            raise RuntimeError("late bug")

    with Flow("late") as flow:
        t = add.copy(state_handlers=[broken_on_success], max_retries=3, retry_delay=NO_DELAY)(1, 1)
    state = flow.run().result[t]
    assert type(state) is Failed
    assert "Running -> Success" in (state.message or "")


def test_flow_state_handlers_and_on_failure() -> None:
    calls: list[tuple[Any, str, str]] = []
    failures: list[tuple[Any, State]] = []

    def handler(flow: Flow, old: State, new: State) -> None:
        calls.append((flow, type(old).__name__, type(new).__name__))

    with Flow(
        "flow-handlers",
        state_handlers=[handler],
        on_failure=lambda f, s: failures.append((f, s)),
    ) as flow:
        add(1, 2)
    assert type(flow.run()) is Success
    assert calls == [(flow, "Pending", "Running"), (flow, "Running", "Success")]
    assert failures == []

    calls.clear()
    divide(1, 0, flow=flow)
    state = flow.run()
    assert calls == [(flow, "Pending", "Running"), (flow, "Running", "Failed")]
    assert failures == [(flow, state)]


def test_raising_flow_on_failure_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken(flow: Flow, state: State) -> None:
        raise RuntimeError("on_failure bug")

    with Flow("flow-on-failure", on_failure=broken) as flow:
        divide(1, 0)
    state = flow.run()
    assert type(state) is Failed
    assert "flow 'flow-on-failure': on_failure handler raised" in caplog.text
    assert "on_failure bug" in caplog.text


def test_flow_handler_may_replace_the_final_state() -> None:
    def soften(flow: Flow, old: State, new: State) -> State | None:
        if new.is_failed():
            return Success("failures accepted", result=new.result)
        return None

    with Flow("soften", state_handlers=[soften]) as flow:
        d = divide(1, 0)
    state = flow.run()
    assert type(state) is Success
    assert type(state.result[d]) is Failed


def test_raising_flow_handler_gives_a_clear_failed_state() -> None:
    ran: list[str] = []

    def broken(flow: Flow, old: State, new: State) -> None:
        if isinstance(new, Running):
            raise RuntimeError("flow handler bug")

    @task
    def work() -> None:
        ran.append("work")

    with Flow("broken-flow", state_handlers=[broken]) as flow:
        w = work()
    state = flow.run()
    assert type(state) is Failed
    assert "state handler of flow 'broken-flow' (" in (state.message or "")
    assert "broken" in (state.message or "")
    assert "RuntimeError: flow handler bug" in (state.message or "")
    assert "flow handler bug" in (state.traceback or "")
    assert ran == []
    assert set(state.result) == {w}


def test_raising_flow_handler_on_the_final_change_keeps_task_states() -> None:
    def broken(flow: Flow, old: State, new: State) -> None:
        if new.is_finished():
            raise RuntimeError("late flow bug")

    with Flow("late-flow", state_handlers=[broken]) as flow:
        t = add(1, 2)
    state = flow.run()
    assert type(state) is Failed
    assert "Running -> Success" in (state.message or "")
    assert state.result[t].result == 3


# -- logging -----------------------------------------------------------------


def test_logging_shows_each_task_start_and_final_state(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="headwater")
    with Flow("logged") as flow:
        a = add(1, 2)
        d = divide(a, 0)
    flow.run()
    records = [r for r in caplog.records if r.name.startswith("headwater")]
    assert records
    assert all(r.name.split(".")[0] == "headwater" for r in records)
    messages = [r.getMessage() for r in records]
    for t, final in ((a, "Success"), (d, "Failed")):
        assert any(str(t.slug) in m and "starting" in m for m in messages), t
        assert any(str(t.slug) in m and final in m for m in messages), t
    started = next(i for i, m in enumerate(messages) if "add-1" in m and "starting" in m)
    finished = next(i for i, m in enumerate(messages) if "add-1" in m and "Success" in m)
    assert started < finished
    assert any("logged" in m and "started" in m for m in messages)


def test_logs_are_silent_below_info(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="headwater")
    with Flow("quiet") as flow:
        add(1, 2)
    flow.run()
    assert [r for r in caplog.records if r.name.startswith("headwater")] == []


def test_context_logger_is_a_child_logger_named_after_the_task(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="headwater")
    names: list[str] = []

    @task
    def chatty() -> None:
        names.append(context.logger.name)
        context.logger.info("hello from the task")

    with Flow("chatty") as flow:
        chatty()
    flow.run()
    assert names == ["headwater.task.chatty"]
    record = next(r for r in caplog.records if r.getMessage() == "hello from the task")
    assert record.name == "headwater.task.chatty"
    assert logging.getLogger("headwater.task.chatty").parent is not None
    assert record.name.startswith("headwater.")


def test_nothing_is_printed_when_logging_is_not_configured() -> None:
    script = textwrap.dedent(
        """
        from datetime import timedelta
        from headwater import Flow, context, signals, task

        @task(max_retries=1, retry_delay=timedelta(0))
        def flaky():
            context.logger.info("info from a task")
            if context.task_run_count == 1:
                raise ValueError("first try")
            return 1

        @task
        def broken(x):
            raise RuntimeError("always")

        @task
        def waits():
            raise signals.WAIT("later")

        with Flow("silent") as flow:
            broken(flaky())
            waits()
        state = flow.run()
        assert state.is_failed(), state
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == ""


def test_nothing_is_printed_to_captured_output(capsys: pytest.CaptureFixture[str]) -> None:
    with Flow("capsys") as flow:
        add(divide(1, 0), 1)
    flow.run()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ""


# -- misc --------------------------------------------------------------------


def test_runs_are_independent() -> None:
    counter = {"n": 0}

    @task
    def count() -> int:
        counter["n"] += 1
        return counter["n"]

    with Flow("twice") as flow:
        c = count()
    assert flow.run().result[c].result == 1
    assert flow.run().result[c].result == 2


def test_retrying_is_never_a_final_state() -> None:
    @task(max_retries=1, retry_delay=NO_DELAY)
    def fails() -> None:
        raise ValueError("x")

    with Flow("final") as flow:
        f = fails()
    state = flow.run().result[f]
    assert not isinstance(state, Retrying)
    assert type(state) is Failed
