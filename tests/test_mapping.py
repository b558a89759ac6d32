"""Mapping on the local executor: children, element-wise chains, failures,
lengths, reduce steps, map indices, retries and resuming a waiting child."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from headwater import Flow, Parameter, context, signals, task, triggers, unmapped
from headwater.states import (
    Failed,
    Mapped,
    Pending,
    Skipped,
    Success,
    TriggerFailed,
    Waiting,
)


@task
def add(x: int, y: int) -> int:
    return x + y


@task
def double(x: int) -> int:
    return 2 * x


@task
def inverse(x: float) -> float:
    return 1 / x


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def numbers(n: int) -> list[int]:
    return list(range(n))


def test_map_over_a_constant_list() -> None:
    with Flow("map") as flow:
        m = double.map([1, 2, 3])
    state = flow.run()
    parent = state.result[m]
    assert type(parent) is Mapped
    assert parent.result == [2, 4, 6]
    assert [type(s) for s in parent.map_states] == [Success, Success, Success]
    assert [s.result for s in parent.map_states] == [2, 4, 6]
    assert type(state) is Success


def test_map_zips_several_lists() -> None:
    with Flow("zip") as flow:
        m = add.map([1, 2, 3], [10, 20, 30])
    assert flow.run().result[m].result == [11, 22, 33]


def test_unmapped_constant_and_task() -> None:
    with Flow("unmapped") as flow:
        ten = add(5, 5)
        with_constant = add.map([1, 2, 3], unmapped(100))
        with_task = add.map(x=[1, 2], y=unmapped(ten))
        whole_list = total.map(xs=[[1, 2], [3]])
        list_unmapped = add.map(x=[1, 2], y=unmapped(0))
    result = flow.run().result
    assert result[with_constant].result == [101, 102, 103]
    assert result[with_task].result == [11, 12]
    assert result[whole_list].result == [3, 3]
    assert result[list_unmapped].result == [1, 2]


def test_map_over_an_upstream_result() -> None:
    with Flow("upstream") as flow:
        n = Parameter("n")
        m = double.map(numbers(n))
    assert flow.run(parameters={"n": 4}).result[m].result == [0, 2, 4, 6]


def test_mapped_task_feeds_a_mapped_task_element_wise() -> None:
    with Flow("chain") as flow:
        first = double.map([1, 2, 3])
        second = add.map(first, [100, 200, 300])
        third = double.map(second)
    result = flow.run().result
    assert result[second].result == [102, 204, 306]
    assert result[third].result == [204, 408, 612]


def test_a_failing_child_does_not_stop_its_siblings() -> None:
    with Flow("siblings") as flow:
        m = inverse.map([1, 0, 4])
    state = flow.run()
    parent = state.result[m]
    assert type(parent) is Mapped
    assert [type(s) for s in parent.map_states] == [Success, Failed, Success]
    assert parent.result[0] == 1.0
    assert parent.result[2] == 0.25
    assert isinstance(parent.map_states[1].result, ZeroDivisionError)
    assert "x=0" in (parent.map_states[1].message or "")
    assert "1 failed" in (parent.message or "")
    assert type(state) is Failed  # a reference task with a failed child


def test_a_failed_child_fails_only_the_same_element_downstream() -> None:
    with Flow("element-wise") as flow:
        inv = inverse.map([1, 0, 4])
        dbl = double.map(inv)
    parent = flow.run().result[dbl]
    assert type(parent) is Mapped
    assert [type(s) for s in parent.map_states] == [Success, TriggerFailed, Success]
    assert parent.result[0] == 2.0
    assert parent.result[2] == 0.5
    assert "inverse-1" in (parent.map_states[1].message or "")


def test_element_wise_triggers_on_children() -> None:
    @task(trigger=triggers.all_failed)
    def recover(x: Any) -> str:
        return "recovered"

    with Flow("recover") as flow:
        inv = inverse.map([1, 0, 4])
        rec = recover.map(inv)
    parent = flow.run().result[rec]
    assert [type(s) for s in parent.map_states] == [TriggerFailed, Success, TriggerFailed]


def test_element_wise_skip_propagation() -> None:
    @task
    def skip_odd(x: int) -> int:
        if x % 2:
            raise signals.SKIP("odd")
        return x

    with Flow("skips") as flow:
        s = skip_odd.map([1, 2, 3])
        propagated = double.copy(propagate_skip=True).map(s)
        counted = double.map(s)
    result = flow.run().result
    assert [type(c) for c in result[propagated].map_states] == [Skipped, Success, Skipped]
    # without propagate_skip a skip counts as a success: the child runs on None
    assert [type(c) for c in result[counted].map_states] == [Failed, Success, Failed]


def test_a_failed_unmapped_upstream_fails_the_whole_map() -> None:
    with Flow("unmapped-failure") as flow:
        bad = inverse(0)
        m = add.map([1, 2], unmapped(bad))
    state = flow.run().result[m]
    assert type(state) is TriggerFailed
    assert "inverse-1" in (state.message or "")


def test_reduce_receives_the_list_of_results() -> None:
    with Flow("reduce") as flow:
        m = double.map([1, 2, 3])
        t = total(m)
        direct = total([double(1), double(2)])
    result = flow.run().result
    assert result[t].result == 12
    assert result[direct].result == 6


def test_reduce_after_a_failed_child_does_not_run_unless_its_trigger_allows() -> None:
    @task(trigger=triggers.all_finished)
    def count_failures(xs: list[Any]) -> int:
        return sum(1 for x in xs if x is None or isinstance(x, BaseException))

    with Flow("partial") as flow:
        m = inverse.map([1, 0, 0])
        strict = total(m)
        lenient = count_failures(m)
    result = flow.run().result
    assert type(result[strict]) is TriggerFailed
    assert "inverse-1 (Failed)" in (result[strict].message or "")
    assert result[lenient].result == 2


def test_mapped_inputs_of_different_lengths_fail_clearly() -> None:
    with Flow("lengths") as flow:
        m = add.map([1, 2, 3], [1, 2])
        after = total(m)
    state = flow.run()
    failed = state.result[m]
    assert type(failed) is Failed
    assert failed.message is not None
    assert "same length" in failed.message
    assert "x=3" in failed.message
    assert "y=2" in failed.message
    assert "unmapped" in failed.message
    assert type(state.result[after]) is TriggerFailed


def test_mapping_over_a_non_iterable_fails_clearly() -> None:
    @task
    def scalar() -> int:
        return 5

    with Flow("scalar") as flow:
        m = double.map(scalar())
    failed = flow.run().result[m]
    assert type(failed) is Failed
    assert "not iterable" in (failed.message or "")
    assert "int" in (failed.message or "")


def test_map_with_every_input_unmapped_fails_clearly() -> None:
    with Flow("nothing-mapped") as flow:
        m = double.map(unmapped([1, 2]))
    failed = flow.run().result[m]
    assert type(failed) is Failed
    assert "none of its inputs is mapped" in (failed.message or "")


def test_empty_input_gives_an_empty_mapped_state() -> None:
    calls: list[int] = []

    @task
    def record(x: int) -> int:
        calls.append(x)
        return x

    with Flow("empty") as flow:
        n = Parameter("n", default=0)
        m = record.map(numbers(n))
        t = total(m)
        chained = double.map(m)
    result = flow.run().result
    assert type(result[m]) is Mapped
    assert result[m].result == []
    assert result[m].map_states == ()
    assert result[t].result == 0
    assert result[chained].result == []
    assert calls == []


def test_each_child_has_its_own_map_index_and_retries() -> None:
    tries: dict[int, list[int]] = {}

    @task(max_retries=2, retry_delay=timedelta(0))
    def flaky(x: int) -> tuple[int, int]:
        index = context.map_index
        tries.setdefault(index, []).append(context.task_run_count)
        if context.task_run_count <= x:
            raise ConnectionError(f"child {index} try {context.task_run_count}")
        return index, context.task_run_count

    with Flow("retries") as flow:
        m = flaky.map([0, 1, 2, 5])
    parent = flow.run().result[m]
    assert tries == {0: [1], 1: [1, 2], 2: [1, 2, 3], 3: [1, 2, 3]}
    assert parent.result[:3] == [(0, 1), (1, 2), (2, 3)]
    assert type(parent.map_states[3]) is Failed
    assert "child 3 try 3" in (parent.map_states[3].message or "")


def test_parent_has_no_map_index_children_do() -> None:
    @task
    def index_of(x: int) -> Any:
        return context.map_index

    with Flow("indices") as flow:
        m = index_of.map([5, 6, 7])
        single = index_of(1)
    result = flow.run().result
    assert result[m].result == [0, 1, 2]
    assert result[single].result is None


def test_mapped_state_handlers_see_children_and_parent() -> None:
    seen: list[str] = []

    def handler(t: Any, old: Any, new: Any) -> None:
        seen.append(type(new).__name__)

    with Flow("handlers") as flow:
        double.copy(state_handlers=[handler]).map([1, 2])
    flow.run()
    assert seen.count("Running") == 2
    assert seen.count("Success") == 2
    assert seen[-1] == "Mapped"


def test_waiting_child_leaves_the_run_waiting_and_resumes_alone() -> None:
    calls: list[tuple[int, bool]] = []

    @task
    def approve(x: int) -> int:
        calls.append((x, context.is_waiting))
        if x == 2 and not context.is_waiting:
            raise signals.WAIT("approve element 2")
        return x * 10

    with Flow("waiting-child") as flow:
        a = approve.map([1, 2, 3])
        d = double.map(a)
        t = total(d)
    first = flow.run()
    assert type(first) is Waiting
    assert [type(s) for s in first.result[a].map_states] == [Success, Waiting, Success]
    assert [type(s) for s in first.result[d].map_states] == [Success, Pending, Success]
    assert type(first.result[t]) is Pending
    assert "did not finish" in (first.result[a].message or "")

    calls.clear()
    second = flow.run(task_states=first.result)
    assert calls == [(2, True)]
    assert type(second) is Success
    assert second.result[a].result == [10, 20, 30]
    assert second.result[t].result == 120


def test_seeded_mapped_state_is_not_rerun() -> None:
    calls: list[int] = []

    @task
    def record(x: int) -> int:
        calls.append(x)
        return x

    with Flow("seeded-map") as flow:
        m = record.map([1, 2])
        t = total(m)
    first = flow.run()
    calls.clear()
    again = flow.run(task_states={m: first.result[m]})
    assert calls == []
    assert again.result[t].result == 3


@pytest.mark.parametrize("size", [1, 50])
def test_many_children(size: int) -> None:
    with Flow("many") as flow:
        m = double.map(list(range(size)))
        t = total(m)
    result = flow.run().result
    assert result[t].result == size * (size - 1)
    assert len(result[m].map_states) == size
