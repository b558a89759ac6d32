"""The running task's context: its keys, isolation, `with context(...)`, defaults."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest

from headwater import Flow, Parameter, context, executors, signals, task
from headwater.context import Context

CONTRACT_KEYS = {
    "flow_name",
    "task_name",
    "task_slug",
    "task_tags",
    "parameters",
    "map_index",
    "task_run_count",
    "is_waiting",
    "flow_run_id",
    "logger",
}


@task(tags={"io", "slow"})
def snapshot() -> dict[str, Any]:
    """Everything the context says inside a task run."""
    return {key: context[key] for key in CONTRACT_KEYS}


def test_every_contract_key_inside_a_task() -> None:
    with Flow("ctx") as flow:
        Parameter("region", default="eu")
        s = snapshot()
    state = flow.run(parameters={"region": "us"})
    seen = state.result[s].result
    assert seen["flow_name"] == "ctx"
    assert seen["task_name"] == "snapshot"
    assert seen["task_slug"] == s.slug == "snapshot-1"
    assert seen["task_tags"] == {"io", "slow"}
    assert dict(seen["parameters"]) == {"region": "us"}
    assert seen["map_index"] is None
    assert seen["task_run_count"] == 1
    assert seen["is_waiting"] is False
    assert isinstance(seen["flow_run_id"], str)
    assert len(seen["flow_run_id"]) >= 16
    assert isinstance(seen["logger"], logging.Logger)
    assert seen["logger"].name == "headwater.task.snapshot"


def test_context_reads_as_attributes_too() -> None:
    @task
    def attrs() -> tuple[Any, ...]:
        return context.flow_name, context.task_name, context.task_run_count

    with Flow("attrs") as flow:
        a = attrs()
    assert flow.run().result[a].result == ("attrs", "attrs", 1)


def test_parameters_in_context_are_read_only() -> None:
    @task
    def mutate() -> None:
        context.parameters["x"] = 2

    with Flow("ro") as flow:
        Parameter("x", default=1)
        m = mutate()
    state = flow.run().result[m]
    assert state.is_failed()
    assert isinstance(state.result, TypeError)


def test_each_run_has_its_own_flow_run_id() -> None:
    @task
    def run_id() -> str:
        return str(context.flow_run_id)

    with Flow("ids") as flow:
        a = run_id()
        b = run_id()
    first = flow.run()
    second = flow.run()
    assert first.result[a].result == first.result[b].result
    assert first.result[a].result != second.result[a].result


def test_task_run_count_counts_tries() -> None:
    seen: list[int] = []

    @task(max_retries=2, retry_delay=timedelta(0))
    def flaky() -> int:
        seen.append(context.task_run_count)
        if context.task_run_count < 3:
            raise ValueError("again")
        return context.task_run_count

    with Flow("tries") as flow:
        flaky()
    flow.run()
    assert seen == [1, 2, 3]


def test_is_waiting_only_on_resume_of_a_waiting_task() -> None:
    seen: list[tuple[str, bool]] = []

    @task
    def gate() -> str:
        seen.append(("gate", context.is_waiting))
        if not context.is_waiting:
            raise signals.WAIT("wait")
        return "open"

    @task
    def after(x: str) -> str:
        seen.append(("after", context.is_waiting))
        return x

    with Flow("waiting") as flow:
        after(gate())
    first = flow.run()
    flow.run(task_states=first.result)
    assert seen == [("gate", False), ("gate", True), ("after", False)]


def test_each_task_sees_its_own_values() -> None:
    @task
    def me() -> tuple[str, str]:
        return context.task_name, context.task_slug

    @task
    def you() -> tuple[str, str]:
        return context.task_name, context.task_slug

    with Flow("own") as flow:
        a = me()
        b = you()
        c = me()
    result = flow.run().result
    assert result[a].result == ("me", "me-1")
    assert result[b].result == ("you", "you-1")
    assert result[c].result == ("me", "me-2")


def test_context_is_reset_after_the_run() -> None:
    with Flow("reset") as flow:
        snapshot()
    flow.run()
    assert context.task_name is None
    assert context.flow_name is None


def test_context_is_isolated_between_concurrent_flows_in_threads() -> None:
    barrier = threading.Barrier(2, timeout=5)

    @task
    def observe(label: str) -> list[tuple[Any, ...]]:
        seen = [(context.flow_name, context.task_slug, context.parameters["label"])]
        barrier.wait()  # both flows are inside a task now
        seen.append((context.flow_name, context.task_slug, context.parameters["label"]))
        return seen

    flows = {}
    for name in ("left", "right"):
        with Flow(name) as flow:
            label = Parameter("label")
            observe.copy(slug=f"observe-{name}")(label)
        flows[name] = flow

    results: dict[str, Any] = {}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            results[name] = flows[name].run(parameters={"label": name.upper()})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(name,)) for name in flows]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    for name in flows:
        values = next(iter(s.result for t, s in results[name].result.items() if t.name != "label"))
        expected = (name, f"observe-{name}", name.upper())
        assert values == [expected, expected]


def test_context_is_isolated_under_the_thread_executor() -> None:
    thread_executor = getattr(executors, "ThreadExecutor", None)
    try:
        executor = thread_executor(max_workers=4)  # type: ignore[misc]
    except (ImportError, ModuleNotFoundError, TypeError):
        pytest.skip("ThreadExecutor is not available yet")
    barrier = threading.Barrier(4, timeout=5)

    @task
    def observe(i: int) -> tuple[Any, ...]:
        before = (context.task_slug, context.map_index)
        barrier.wait()
        return before, (context.task_slug, context.map_index)

    with Flow("threads") as flow:
        m = observe.map([0, 1, 2, 3])
    state = flow.run(executor=executor)
    results = state.result[m].result
    assert [r[0] for r in results] == [r[1] for r in results]
    assert [r[0][1] for r in results] == [0, 1, 2, 3]


def test_with_context_values_are_visible_inside_tasks() -> None:
    @task
    def region() -> tuple[str, str]:
        return context.region, context["region"]

    with Flow("extra") as flow:
        r = region()
    with context(region="eu"):
        state = flow.run()
        assert context.region == "eu"
    assert state.result[r].result == ("eu", "eu")
    with pytest.raises(AttributeError, match="region"):
        _ = context.region


def test_run_values_override_outer_context_values() -> None:
    with Flow("override") as flow:
        s = snapshot()
    with context(task_name="outer", flow_name="outer-flow", custom=1):
        seen = flow.run().result[s].result
    assert seen["task_name"] == "snapshot"
    assert seen["flow_name"] == "override"


def test_nested_with_context() -> None:
    with context(a=1, b=2):
        with context(b=3):
            assert (context.a, context.b) == (1, 3)
        assert context.b == 2
    assert "a" not in dict(context)


def test_defaults_outside_a_run() -> None:
    assert context.flow_name is None
    assert context.task_name is None
    assert context.task_slug is None
    assert context.task_tags == frozenset()
    assert dict(context.parameters) == {}
    assert context.map_index is None
    assert context.task_run_count == 1
    assert context.is_waiting is False
    assert context.flow_run_id is None
    assert context.logger.name == "headwater.task"


def test_context_is_a_read_only_mapping() -> None:
    assert isinstance(context, Mapping)
    assert isinstance(context, Context)
    assert CONTRACT_KEYS <= set(context)
    assert len(context) == len(set(context))
    assert "task_name" in context
    assert "nope" not in context
    with pytest.raises(KeyError):
        context["nope"]
    with pytest.raises(AttributeError, match=r"context has no value 'nope'.*with context"):
        _ = context.nope
    with pytest.raises(TypeError):
        context["task_name"] = "x"  # type: ignore[index]


def test_task_code_can_be_called_directly_outside_a_run() -> None:
    @task
    def uses_context(x: int) -> int:
        return x * context.task_run_count

    assert uses_context.run(5) == 5


def test_mapped_children_see_their_map_index() -> None:
    @task
    def where(x: int) -> tuple[int, Any, str]:
        return x, context.map_index, context.task_slug

    with Flow("map-ctx") as flow:
        m = where.map([10, 20, 30])
    result = flow.run().result[m].result
    assert result == [(10, 0, m.slug), (20, 1, m.slug), (30, 2, m.slug)]
