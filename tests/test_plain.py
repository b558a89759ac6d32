"""The runner's short path (``_plain.drain_plain``): which units it runs inline,
and that it ends every task exactly as the general path would."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from headwater import Flow, Task, context, signals, task, triggers
from headwater._runner import FlowRun
from headwater.states import State
from strategies import DagShape, dag_shapes


@task
def inc(x: int) -> int:
    return x + 1


@task
def broken(x: int) -> int:
    raise ValueError(f"broken on {x}")


@task
def skipper(x: int) -> int:
    raise signals.SKIP("nothing to do")


@pytest.fixture
def general_path_units(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The slugs of the units that went through ``FlowRun._start``."""
    started: list[str] = []
    original = FlowRun._start

    def spy(self: FlowRun, unit: tuple[int, int], *args: Any) -> Any:
        started.append(str(self.graph.tasks[unit[0]].slug))
        return original(self, unit, *args)

    monkeypatch.setattr(FlowRun, "_start", spy)
    return started


def test_plain_tasks_never_reach_the_general_path(general_path_units: list[str]) -> None:
    with Flow("chain") as flow:
        last = inc(inc(inc(1)))
    assert flow.run().result[last].result == 4
    assert general_path_units == []


@pytest.mark.parametrize(
    "options",
    [
        {"trigger": triggers.always_run},
        {"cache_for": timedelta(hours=1)},
        {"state_handlers": [lambda task, old, new: new]},
        {"timeout": 10},
    ],
    ids=["trigger", "cache", "handler", "timeout"],
)
def test_tasks_with_options_take_the_general_path(
    general_path_units: list[str], options: dict[str, Any]
) -> None:
    with Flow("options") as flow:
        first = inc(1)
        special = inc.copy(slug="special", **options)(first)
    assert flow.run().result[special].result == 3
    assert general_path_units == ["special"]


def test_a_task_after_a_failure_or_skip_is_decided_by_the_general_path(
    general_path_units: list[str],
) -> None:
    with Flow("fates") as flow:
        after_failure = inc.copy(slug="after-failure")(broken(1))
        after_skip = inc.copy(slug="after-skip")(1, upstream_tasks=[skipper(1)])
    state = flow.run()
    assert type(state.result[after_failure]).__name__ == "TriggerFailed"
    assert state.result[after_skip].result == 2  # a skip counts as success
    assert general_path_units == ["after-failure", "after-skip"]


def test_a_failed_plain_task_is_retried_like_any_other() -> None:
    tries: list[int] = []

    @task(max_retries=2, retry_delay=timedelta(0))
    def flaky() -> int:
        tries.append(context.task_run_count)
        if len(tries) < 3:
            raise ValueError("not yet")
        return len(tries)

    with Flow("flaky") as flow:
        result = flaky()
    assert flow.run().result[result].result == 3
    assert tries == [1, 2, 3]


def test_a_plain_task_sees_its_own_context() -> None:
    @task(tags={"t"})
    def who() -> tuple[Any, ...]:
        return (context.flow_name, context.task_name, context.task_slug, context.task_tags)

    with Flow("ctx") as flow:
        me = who()
    assert flow.run().result[me].result == ("ctx", "who", "who-1", frozenset({"t"}))
    assert context.task_name is None  # popped again


# -- the same states either way ------------------------------------------------


@task
def node(index: int, xs: list[int], **named: int) -> int:
    """Fails when its index is a multiple of 5 (but not 0), so that random
    flows have failures to go around."""
    if index % 5 == 0 and index:
        raise ValueError(f"node {index}")
    return index + sum(xs) + sum(named.values())


def build(shape: DagShape) -> tuple[Flow, list[Task[int]]]:
    nodes: list[Task[int]] = []
    with Flow("dag") as flow:
        for i in range(shape.n_tasks):
            into = shape.edges_into(i)
            xs = [nodes[e.upstream] for e in into if e.kind == "list"]
            named = {str(e.key): nodes[e.upstream] for e in into if e.kind == "key"}
            state_only = [nodes[e.upstream] for e in into if e.kind == "state"]
            nodes.append(node(i, xs, upstream_tasks=state_only, **named))
    return flow, nodes


def outline(state: State, nodes: list[Task[int]]) -> list[tuple[str, str | None, Any]]:
    outlined = []
    for t in nodes:
        task_state = state.result[t]
        result = task_state.result
        if isinstance(result, BaseException):
            result = repr(result)
        outlined.append((type(task_state).__name__, task_state.message, result))
    return outlined


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dag_shapes(min_tasks=1, max_tasks=16))
def test_the_short_path_ends_every_task_as_the_general_path_does(shape: DagShape) -> None:
    flow, nodes = build(shape)
    short = flow.run()
    general = flow.run(events=lambda event: None)  # a run record: no short path
    assert type(short) is type(general)
    assert outline(short, nodes) == outline(general, nodes)
