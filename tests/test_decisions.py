"""``Decisions``: what the runner settles about a ready unit before any try,
driven by hand on frozen flows (whole runs are in ``test_runner`` and
``test_triggers``)."""

from __future__ import annotations

from collections import deque
from typing import Any

from headwater import Flow, Task, context, signals, task, triggers
from headwater._children import EXPANDED, NOT_MAPPED, MapChildren
from headwater._decisions import Decisions
from headwater._graph import FrozenGraph
from headwater.executors import LocalExecutor
from headwater.states import (
    Failed,
    Mapped,
    Pending,
    Skipped,
    State,
    Success,
    TriggerFailed,
    Waiting,
)


@task
def source() -> list[int]:
    return [1, 2]


@task
def inc(x: int) -> int:
    return x + 1


class Run:
    """A frozen flow, the run state ``Decisions`` reads, and the decisions."""

    def __init__(self, flow: Flow, seeds: dict[Task[Any], State] | None = None) -> None:
        self.graph: FrozenGraph = flow._freeze()
        count = len(self.graph.tasks)
        self.states: list[State | None] = [None] * count
        self.ready: deque[tuple[int, int]] = deque()
        maps = MapChildren(self.graph, self.states, list(self.graph.upstream_counts), self.ready)
        seeds_by_index = {self.graph.index[t]: s for t, s in (seeds or {}).items()}
        base = {"flow_name": flow.name, "task_run_count": 1, "is_waiting": False}
        self.decisions = Decisions(
            self.graph, self.states, seeds_by_index, maps, LocalExecutor(), base
        )

    def decide(self, t: Task[Any], map_index: int = NOT_MAPPED) -> State | None:
        index = self.graph.index[t]
        return self.decisions.decide(index, map_index, t)

    def set(self, t: Task[Any], state: State) -> None:
        self.states[self.graph.index[t]] = state


def test_a_task_whose_upstream_succeeded_goes_on_to_its_try() -> None:
    with Flow("f") as flow:
        first = inc(1)
        second = inc(first)
    run = Run(flow)
    run.set(first, Success(result=2))
    assert run.decide(second) is None


def test_the_default_trigger_refuses_after_a_failure() -> None:
    with Flow("f") as flow:
        first = inc(1)
        second = inc(first)
    run = Run(flow)
    run.set(first, Failed("broken"))
    decided = run.decide(second)
    assert isinstance(decided, TriggerFailed)
    assert "all_successful" in str(decided.message)


def test_skip_propagation_comes_before_the_trigger() -> None:
    with Flow("f") as flow:
        first = inc(1)
        second = inc.copy(propagate_skip=True, trigger=triggers.all_failed)(first)
    run = Run(flow)
    run.set(first, Skipped("nothing to do"))
    assert isinstance(run.decide(second), Skipped)


def test_a_finished_seed_is_final_and_a_pending_one_is_not() -> None:
    with Flow("f") as flow:
        done = inc(1)
        again = inc(2)
    run = Run(flow, seeds={done: Success(result=99), again: Pending()})
    decided = run.decide(done)
    assert isinstance(decided, Success) and decided.result == 99
    assert run.decide(again) is None


def test_a_custom_trigger_runs_under_the_tasks_context() -> None:
    seen: list[Any] = []

    def spy(upstream_states: Any) -> bool:
        seen.append((context.task_slug, context.is_waiting))
        return True

    with Flow("f") as flow:
        first = inc(1)
        second = inc.copy(trigger=spy)(first)
    run = Run(flow, seeds={second: Waiting("approve me")})
    run.set(first, Success(result=2))
    assert run.decide(second) is None
    assert seen == [(second.slug, True)]


def test_manual_only_waits_on_a_first_run() -> None:
    with Flow("f") as flow:
        first = inc(1)
        second = inc.copy(trigger=triggers.manual_only)(first)
    run = Run(flow)
    run.set(first, Success(result=2))
    assert isinstance(run.decide(second), Waiting)


def test_a_mapped_task_is_expanded_and_its_children_queued() -> None:
    with Flow("f") as flow:
        values = source()
        mapped = inc.map(values)
    run = Run(flow)
    run.set(values, Success(result=[1, 2]))
    assert run.decide(mapped) is EXPANDED
    index = run.graph.index[mapped]
    assert list(run.ready) == [(index, 0), (index, 1)]


def test_a_map_over_a_failed_result_is_refused_without_children() -> None:
    with Flow("f") as flow:
        values = source()
        mapped = inc.map(values)
    run = Run(flow)
    run.set(values, Failed("no data"))
    assert isinstance(run.decide(mapped), TriggerFailed)
    assert not run.ready


def test_a_child_is_judged_on_its_own_upstream_child() -> None:
    with Flow("f") as flow:
        values = source()
        first = inc.map(values)
        second = inc.map(first)
    run = Run(flow)
    run.set(values, Success(result=[1, 2]))
    run.set(
        first,
        Mapped("mapped over 2 elements", map_states=[Success(result=2), Failed("bad")]),
    )
    assert run.decide(second, 0) is None
    assert isinstance(run.decide(second, 1), TriggerFailed)


def test_a_seeded_map_with_a_waiting_child_runs_again() -> None:
    with Flow("f") as flow:
        values = source()
        mapped = inc.map(values)
    seed = Mapped("mapped", map_states=[Success(result=2), Waiting("later")])
    run = Run(flow, seeds={values: Success(result=[1, 2]), mapped: seed})
    run.set(values, Success(result=[1, 2]))
    assert run.decide(mapped) is EXPANDED
    assert run.decide(mapped, 0) is seed.map_states[0]  # a finished child is kept
    assert run.decide(mapped, 1) is None  # the waiting one is tried again


def test_the_context_for_a_try_names_the_task_child_and_try() -> None:
    with Flow("f") as flow:
        t = inc.copy(tags={"x"})(1)
    run = Run(flow)
    values = run.decisions.context_for(t, 3, 2, run.graph.index[t])
    assert (values["task_slug"], values["task_tags"]) == (t.slug, frozenset({"x"}))
    assert (values["map_index"], values["task_run_count"]) == (3, 2)
    assert "map_index" not in run.decisions.context_for(t, NOT_MAPPED, 1, 0)


def test_a_signal_from_a_trigger_decides_the_state() -> None:
    def refuse(upstream_states: Any) -> bool:
        raise signals.SKIP("not today")

    with Flow("f") as flow:
        first = inc(1)
        second = inc.copy(trigger=refuse)(first)
    run = Run(flow)
    run.set(first, Success(result=2))
    decided = run.decide(second)
    assert isinstance(decided, Skipped) and decided.message == "not today"
