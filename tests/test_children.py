"""``MapChildren``: the runner's bookkeeping of mapped tasks' children, driven
by hand on frozen flows (the behaviour of whole runs is in ``test_mapping``)."""

from __future__ import annotations

from collections import deque
from typing import Any

from headwater import Flow, Task, task
from headwater._children import EXPANDED, NOT_MAPPED, MapChildren
from headwater._graph import FrozenGraph
from headwater.states import Failed, Mapped, State, Success


@task
def numbers(n: int) -> list[int]:
    return list(range(n))


@task
def inc(x: int) -> int:
    return x + 1


@task
def total(values: list[int]) -> int:
    return sum(values)


class Run:
    """The run state ``MapChildren`` shares with ``FlowRun``."""

    def __init__(self, flow: Flow) -> None:
        self.graph: FrozenGraph = flow._freeze()
        self.states: list[State | None] = [None] * len(self.graph.tasks)
        self.blocked = list(self.graph.upstream_counts)
        self.ready: deque[tuple[int, int]] = deque()
        self.maps = MapChildren(self.graph, self.states, self.blocked, self.ready)

    def index(self, t: Task[Any]) -> int:
        return self.graph.index[t]

    def resolve(self, t: Task[Any], state: State) -> None:
        index = self.index(t)
        self.states[index] = state
        for downstream in self.graph.downstream[index]:
            self.blocked[downstream] -= 1


def expanded_map_of_two() -> tuple[Run, int]:
    """``inc.map(numbers(2))``, its source done and the map expanded."""
    with Flow("map") as flow:
        source = numbers(2)
        mapped = inc.map(source)
    run = Run(flow)
    run.resolve(source, Success(result=[1, 2]))
    index = run.index(mapped)
    run.maps.expand(index, list)
    return run, index


def test_expanding_queues_one_child_per_element_with_its_inputs() -> None:
    with Flow("map") as flow:
        source = numbers(3)
        mapped = inc.map(source)
    run = Run(flow)
    run.resolve(source, Success(result=[10, 20, 30]))
    index = run.index(mapped)
    assert run.maps.expand(index, list) is EXPANDED
    assert list(run.ready) == [(index, 0), (index, 1), (index, 2)]
    assert [run.maps.child_inputs(index, i) for i in range(3)] == [
        {"x": 10},
        {"x": 20},
        {"x": 30},
    ]


def test_the_last_child_to_finish_gives_the_parent_state() -> None:
    run, index = expanded_map_of_two()
    assert run.maps.child_finished(index, 1, Success(result=3)) is None
    parent = run.maps.child_finished(index, 0, Success(result=2))
    assert isinstance(parent, Mapped)
    assert [child.result for child in parent.map_states] == [2, 3]  # in element order


def test_a_failed_child_is_kept_in_the_parent() -> None:
    run, index = expanded_map_of_two()
    run.maps.child_finished(index, 0, Failed("broken"))
    parent = run.maps.child_finished(index, 1, Success(result=3))
    assert parent is not None
    assert [type(child) for child in parent.map_states] == [Failed, Success]


def test_mapping_over_nothing_is_a_finished_map_at_once() -> None:
    with Flow("empty") as flow:
        source = numbers(0)
        mapped = inc.map(source)
    run = Run(flow)
    run.resolve(source, Success(result=[]))
    state = run.maps.expand(run.index(mapped), list)
    assert isinstance(state, Mapped)
    assert state.map_states == ()
    assert not run.ready


def test_a_map_fed_by_a_map_is_released_at_expansion_and_children_follow_one_by_one() -> None:
    with Flow("chained maps") as flow:
        source = numbers(2)
        first = inc.map(source)
        second = inc.map(first)
    run = Run(flow)
    run.resolve(source, Success(result=[1, 2]))
    first_index, second_index = run.index(first), run.index(second)
    run.maps.expand(first_index, list)
    # The second map does not wait for all of the first's children.
    assert (second_index, NOT_MAPPED) in run.ready
    run.ready.clear()
    assert run.maps.expand(second_index, list) is EXPANDED
    assert not run.ready  # each child waits for its feeding child
    run.maps.child_finished(first_index, 1, Success(result=3))
    assert list(run.ready) == [(second_index, 1)]
    assert run.maps.child_inputs(second_index, 1) == {"x": 3}


def test_a_reduce_after_a_map_is_not_released_by_the_expansion() -> None:
    with Flow("map-reduce") as flow:
        source = numbers(2)
        mapped = inc.map(source)
        summed = total(mapped)
    run = Run(flow)
    run.resolve(source, Success(result=[1, 2]))
    run.maps.expand(run.index(mapped), list)
    assert (run.index(summed), NOT_MAPPED) not in run.ready
    assert run.blocked[run.index(summed)] == 1
