"""Triggers: as pure functions, and deciding tasks' fates in running flows."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from headwater import Edge, Flow, Task, context, signals, task, triggers
from headwater.states import (
    Failed,
    Pending,
    Skipped,
    State,
    Success,
    TimedOut,
    TriggerFailed,
    Waiting,
)

# -- as pure functions -------------------------------------------------------

OK, SKIPPED, FAILED, TIMED_OUT = Success(), Skipped(), Failed(), TimedOut()
PENDING, WAITING = Pending(), Waiting()


def upstream(*given: State) -> dict[Edge, State]:
    down = Task(name="down")
    return {Edge(Task(name=f"up{i}"), down): state for i, state in enumerate(given)}


CASES: list[tuple[Callable[..., bool], tuple[State, ...], bool]] = [
    (triggers.all_successful, (OK, OK), True),
    (triggers.all_successful, (OK, SKIPPED), True),
    (triggers.all_successful, (OK, FAILED), False),
    (triggers.all_successful, (OK, PENDING), False),
    (triggers.all_failed, (FAILED, TIMED_OUT), True),
    (triggers.all_failed, (FAILED, OK), False),
    (triggers.all_failed, (FAILED, WAITING), False),
    (triggers.any_successful, (FAILED, OK), True),
    (triggers.any_successful, (FAILED, SKIPPED), True),
    (triggers.any_successful, (FAILED, FAILED), False),
    (triggers.any_successful, (OK, WAITING), False),
    (triggers.any_failed, (OK, FAILED), True),
    (triggers.any_failed, (OK, TIMED_OUT), True),
    (triggers.any_failed, (OK, SKIPPED), False),
    (triggers.all_finished, (OK, FAILED), True),
    (triggers.all_finished, (SKIPPED, TIMED_OUT), True),
    (triggers.all_finished, (OK, PENDING), False),
    (triggers.all_finished, (OK, WAITING), False),
]


@pytest.mark.parametrize(
    ("trigger", "states", "expected"),
    CASES,
    ids=[f"{t.__name__}-{'-'.join(type(s).__name__ for s in ss)}" for t, ss, _ in CASES],
)
def test_trigger_as_pure_function(
    trigger: Callable[..., bool], states: tuple[State, ...], expected: bool
) -> None:
    given = upstream(*states)
    snapshot = dict(given)
    assert trigger(given) is expected
    assert given == snapshot  # pure: the mapping is not changed


def test_always_run_is_all_finished() -> None:
    assert triggers.always_run is triggers.all_finished


def test_manual_only_as_a_function_waits_unless_resumed() -> None:
    with pytest.raises(signals.WAIT, match="manual"):
        triggers.manual_only(upstream(OK))
    with context(is_waiting=True):
        assert triggers.manual_only(upstream(OK, FAILED)) is True
        assert triggers.manual_only(upstream(OK, PENDING)) is False


def test_exported_triggers() -> None:
    assert {
        "all_successful",
        "all_failed",
        "any_successful",
        "any_failed",
        "all_finished",
        "always_run",
        "manual_only",
    } <= set(triggers.__all__)


# -- in flows ----------------------------------------------------------------


@task
def ok() -> int:
    return 1


@task
def fail() -> int:
    raise ValueError("upstream broke")


@task
def skip() -> int:
    raise signals.SKIP("nothing to do")


@task
def wait() -> int:
    raise signals.WAIT("not yet")


RAN: list[str] = []


@task
def probe() -> str:
    RAN.append(context.task_slug)
    return "ran"


@pytest.fixture(autouse=True)
def _reset_ran() -> None:
    RAN.clear()


UPSTREAM = {"ok": ok, "fail": fail, "skip": skip, "wait": wait}


def run_with(
    trigger: Callable[..., Any] | None, *kinds: str, **options: Any
) -> tuple[State, State, Task[Any]]:
    """``probe`` after one upstream task of each kind: (probe's state, flow state, probe)."""
    with Flow("triggers") as flow:
        ups = [UPSTREAM[kind]() for kind in kinds]
        p = probe.copy(trigger=trigger, **options)(upstream_tasks=ups)
    state = flow.run()
    return state.result[p], state, p


@pytest.mark.parametrize(
    ("trigger", "kinds", "runs"),
    [
        (None, ("ok", "ok"), True),
        (None, ("ok", "fail"), False),
        (triggers.all_successful, ("ok", "ok"), True),
        (triggers.all_successful, ("ok", "fail"), False),
        (triggers.all_failed, ("fail", "fail"), True),
        (triggers.all_failed, ("ok", "fail"), False),
        (triggers.any_successful, ("ok", "fail"), True),
        (triggers.any_successful, ("fail", "fail"), False),
        (triggers.any_failed, ("ok", "fail"), True),
        (triggers.any_failed, ("ok", "ok"), False),
        (triggers.all_finished, ("ok", "fail"), True),
        (triggers.all_finished, ("fail", "fail"), True),
        (triggers.always_run, ("fail", "ok"), True),
    ],
)
def test_triggers_in_flows(
    trigger: Callable[..., Any] | None, kinds: tuple[str, ...], runs: bool
) -> None:
    state, _, p = run_with(trigger, *kinds)
    if runs:
        assert type(state) is Success
        assert state.result == "ran"
        assert RAN == [p.slug]
    else:
        assert type(state) is TriggerFailed
        assert RAN == []


def test_trigger_failed_message_names_trigger_and_upstream_tasks() -> None:
    state, _, p = run_with(triggers.all_failed, "ok", "fail")
    assert type(state) is TriggerFailed
    assert state.message is not None
    assert "all_failed" in state.message
    assert repr(p.slug) in state.message
    assert "ok-1 (Success)" in state.message
    assert "fail-1 (Failed)" in state.message


def test_default_trigger_failure_names_all_successful() -> None:
    state, flow_state, _ = run_with(None, "fail")
    assert isinstance(state, TriggerFailed)
    assert state.message is not None
    assert state.message.startswith("trigger all_successful refused")
    assert type(flow_state) is Failed


def test_task_without_upstream_always_passes_its_trigger() -> None:
    def never(upstream_states: Mapping[Edge, State]) -> bool:
        return False

    for trigger in (never, triggers.all_failed, triggers.any_failed, triggers.manual_only):
        RAN.clear()
        state, _, _ = run_with(trigger)
        assert type(state) is Success, trigger
        assert len(RAN) == 1


def test_manual_only_waits_then_runs_on_resume() -> None:
    with Flow("manual") as flow:
        a = ok()
        p = probe.copy(trigger=triggers.manual_only)(upstream_tasks=[a])
        after = probe(upstream_tasks=[p])
    first = flow.run()
    assert type(first.result[p]) is Waiting
    assert "manual" in (first.result[p].message or "")
    assert type(first.result[after]) is Pending
    assert type(first) is Waiting
    assert RAN == []
    second = flow.run(task_states=first.result)
    assert type(second.result[p]) is Success
    assert type(second.result[after]) is Success
    assert type(second) is Success
    assert RAN == [p.slug, after.slug]


def test_custom_trigger_function() -> None:
    def at_least_two_ok(upstream_states: Mapping[Edge, State]) -> bool:
        return sum(s.is_successful() for s in upstream_states.values()) >= 2

    state, _, _ = run_with(at_least_two_ok, "ok", "fail", "ok")
    assert type(state) is Success
    refused, _, _ = run_with(at_least_two_ok, "ok", "fail", "fail")
    assert type(refused) is TriggerFailed
    assert refused.message is not None
    assert "at_least_two_ok" in refused.message


def test_custom_trigger_receives_edges_and_states() -> None:
    seen: dict[str, str] = {}

    def record(upstream_states: Mapping[Edge, State]) -> bool:
        for edge, state in upstream_states.items():
            seen[edge.upstream_task.name] = type(state).__name__
        return True

    run_with(record, "ok", "fail", "skip")
    assert seen == {"ok": "Success", "fail": "Failed", "skip": "Skipped"}


class AlwaysTrue:
    """A trigger that is a callable object, without ``__name__``."""

    def __call__(self, upstream_states: Mapping[Edge, State]) -> bool:
        return True


def test_callable_object_and_partial_as_triggers() -> None:
    state, _, _ = run_with(AlwaysTrue(), "fail")
    assert type(state) is Success

    def at_least(upstream_states: Mapping[Edge, State], n: int) -> bool:
        return sum(s.is_successful() for s in upstream_states.values()) >= n

    refused, _, _ = run_with(functools.partial(at_least, n=2), "ok")
    assert type(refused) is TriggerFailed
    assert refused.message is not None
    assert "at_least" in refused.message


def test_trigger_raising_an_error_gives_trigger_failed() -> None:
    def broken(upstream_states: Mapping[Edge, State]) -> bool:
        raise KeyError("oops")

    state, _, _ = run_with(broken, "ok")
    assert type(state) is TriggerFailed
    assert state.message is not None
    assert "broken" in state.message
    assert "KeyError" in state.message
    assert isinstance(state.result, KeyError)
    assert RAN == []


def test_trigger_raising_a_signal_picks_the_state() -> None:
    def skipper(upstream_states: Mapping[Edge, State]) -> bool:
        raise signals.SKIP("trigger says skip")

    state, _, _ = run_with(skipper, "ok")
    assert type(state) is Skipped
    assert state.message == "trigger says skip"


def test_refusing_trigger_with_unfinished_upstream_leaves_task_pending() -> None:
    state, flow_state, _ = run_with(None, "ok", "wait")
    assert type(state) is Pending
    assert state.message is not None
    assert "wait-1" in state.message
    assert type(flow_state) is Waiting


def test_accepting_trigger_runs_even_with_an_unfinished_upstream() -> None:
    state, _, _ = run_with(triggers.any_failed, "fail", "wait")
    assert type(state) is Success


def test_trigger_failed_is_not_retried() -> None:
    state, _, _ = run_with(None, "fail", max_retries=3)
    assert type(state) is TriggerFailed


def test_trigger_failed_downstream_cascades() -> None:
    with Flow("cascade") as flow:
        a = fail()
        b = probe(upstream_tasks=[a])
        c = probe(upstream_tasks=[b])
        d = probe.copy(trigger=triggers.always_run)(upstream_tasks=[c])
    state = flow.run()
    assert type(state.result[b]) is TriggerFailed
    assert type(state.result[c]) is TriggerFailed
    assert type(state.result[d]) is Success
    assert RAN == [d.slug]


def test_data_edge_from_failed_task_passes_its_exception_to_always_run() -> None:
    @task(trigger=triggers.always_run)
    def cleanup(x: Any) -> str:
        return type(x).__name__

    with Flow("cleanup") as flow:
        c = cleanup(fail())
    assert flow.run().result[c].result == "ValueError"


# -- propagate_skip ----------------------------------------------------------


@pytest.mark.parametrize("propagate", [True, False])
@pytest.mark.parametrize("skipped_upstream", [True, False])
@pytest.mark.parametrize(
    "trigger", [triggers.all_successful, triggers.all_failed, triggers.all_finished]
)
def test_propagate_skip_combinations(
    propagate: bool, skipped_upstream: bool, trigger: Callable[..., bool]
) -> None:
    kinds = ("ok", "skip") if skipped_upstream else ("ok", "ok")
    state, _, _ = run_with(trigger, *kinds, propagate_skip=propagate)
    if propagate and skipped_upstream:
        expected: type[State] = Skipped  # whatever the trigger says
    elif trigger is triggers.all_failed:
        expected = TriggerFailed  # a skip counts as a success
    else:
        expected = Success
    assert type(state) is expected
    assert (RAN != []) is (expected is Success)


def test_propagated_skip_names_the_skipped_upstream() -> None:
    state, _, _ = run_with(None, "ok", "skip", propagate_skip=True)
    assert type(state) is Skipped
    assert state.message is not None
    assert "skip-1" in state.message
    assert "propagate_skip" in state.message


def test_skip_propagates_down_a_chain_only_where_asked() -> None:
    with Flow("chain") as flow:
        a = skip()
        b = probe.copy(propagate_skip=True)(upstream_tasks=[a])
        c = probe.copy(propagate_skip=True)(upstream_tasks=[b])
        d = probe(upstream_tasks=[c])
        e = probe.copy(propagate_skip=True)(upstream_tasks=[d])
    state = flow.run()
    assert [type(state.result[t]) for t in (a, b, c, d, e)] == [
        Skipped,
        Skipped,
        Skipped,
        Success,
        Success,
    ]
    assert type(state) is Success


def test_propagate_skip_comes_before_trigger_failure() -> None:
    # An upstream failed and another skipped: propagate_skip wins.
    state, _, _ = run_with(None, "fail", "skip", propagate_skip=True)
    assert type(state) is Skipped
