"""The undo journal: a refused change leaves the flow exactly as it was."""

from __future__ import annotations

import pytest

from headwater import Flow, task
from headwater._journal import AllOrNothing, rollback
from strategies import flow_snapshot


@task
def inc(x: int) -> int:
    return x + 1


@task
def pair(x: int, y: int) -> tuple[int, int]:
    return x, y


class Refused(Exception):
    """Raised inside a block to make it roll back."""


def small_flow() -> Flow:
    with Flow("small") as flow:
        a = inc(1)
        pair(a, 2)
    return flow


def test_a_block_that_raises_undoes_every_kind_of_entry() -> None:
    flow = small_flow()
    a, b = flow.sorted_tasks()
    before = flow_snapshot(flow)
    with pytest.raises(Refused), AllOrNothing(flow):
        flow.add_task(inc.copy())  # "task", generated slug inc-2
        flow.add_edge(a, b)  # "edge"
        flow._set_constant(b, "y", 3)  # "constant", overwriting 2
        with flow:
            inc(7)  # "fresh"
        assert [entry[0] for entry in flow._journal or ()] == ["task", "edge", "constant", "fresh"]
        raise Refused
    assert flow_snapshot(flow) == before
    assert flow.constants[b] == {"y": 2}
    assert flow._journal is None


def test_generated_slugs_and_counts_are_restored() -> None:
    flow = small_flow()
    extra = inc.copy()
    with pytest.raises(Refused), AllOrNothing(flow):
        flow.add_task(extra)
        assert extra.slug == "inc-2"
        raise Refused
    assert extra.slug is None  # back to "not given"
    assert flow.add_task(inc.copy()).slug == "inc-2"  # the count was put back too


def test_nested_blocks_join_the_outermost() -> None:
    flow = small_flow()
    before = flow_snapshot(flow)
    with pytest.raises(Refused), AllOrNothing(flow):
        with AllOrNothing(flow):
            flow.add_task(inc.copy())
        assert flow._journal  # the inner block neither committed nor closed it
        raise Refused
    assert flow_snapshot(flow) == before


def test_a_block_that_ends_well_keeps_its_changes_and_closes_the_journal() -> None:
    flow = small_flow()
    with AllOrNothing(flow):
        added = flow.add_task(inc.copy())
    assert added in flow.tasks
    assert flow._journal is None
    with pytest.raises(Refused), AllOrNothing(flow):
        raise Refused
    assert added in flow.tasks  # an earlier, committed block is not undone


def test_a_constant_set_for_the_first_time_is_removed_again() -> None:
    with Flow("bare") as flow:
        pass
    lone = flow.add_task(inc.copy())
    with pytest.raises(Refused), AllOrNothing(flow):
        flow._set_constant(lone, "x", 5)
        raise Refused
    assert lone not in flow.constants


def test_rollback_without_an_open_journal_changes_nothing() -> None:
    flow = small_flow()
    before = flow_snapshot(flow)
    rollback(flow)
    assert flow_snapshot(flow) == before
