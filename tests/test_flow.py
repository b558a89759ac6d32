"""Flow: the builder. Context manager, building, queries, validation, copy/update,
collections as arguments, constants, and all-or-nothing changes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

import headwater._flow
import headwater._graphstore
from headwater import Edge, Flow, Parameter, Task, task, unmapped
from headwater._building import active_flow
from headwater.errors import (
    CycleError,
    DuplicateEdgeKeyError,
    DuplicateSlugError,
    FlowValidationError,
    GraphError,
)
from strategies import flow_snapshot


@task
def inc(x: int) -> int:
    return x + 1


@task
def pair(x: int, y: int) -> int:
    return x + y


@task
def echo(v: Any) -> Any:
    return v


@task
def total(xs: list[int]) -> int:
    return sum(xs)


def base_flow() -> tuple[Flow, Task[int], Task[int], Task[int]]:
    """``a = inc(1); b = inc(a); c = pair(a, b)``."""
    with Flow("base") as flow:
        a = inc(1)
        b = inc(a)
        c = pair(a, b)
    return flow, a, b, c


def results(flow: Flow, *tasks: Task[Any], **parameters: Any) -> list[Any]:
    state = flow.run(parameters=parameters)
    assert state.is_successful(), state
    return [state.result[t].result for t in tasks]


# -- construction and the context manager -------------------------------------


def test_name_must_be_a_non_empty_string() -> None:
    with pytest.raises(TypeError, match="a flow's name must be a non-empty string"):
        Flow("")
    assert Flow("etl").name == "etl"


def test_constructor_takes_tasks_edges_and_reference_tasks() -> None:
    a, b, c = Task(name="a"), Task(name="b"), Task(name="c")
    flow = Flow("f", tasks=[a], edges=[(a, b), Edge(b, c, "x"), (a, c, "y")], reference_tasks=[b])
    assert list(flow.tasks) == [a, b, c]
    assert flow.edges == {Edge(a, b), Edge(b, c, "x"), Edge(a, c, "y")}
    assert flow.reference_tasks() == {b}


def test_with_sets_and_restores_the_active_flow() -> None:
    assert active_flow.get() is None
    with Flow("f") as flow:
        assert active_flow.get() is flow
        made = inc(1)
    assert active_flow.get() is None
    assert flow.tasks == {made}


def test_nested_flows_the_innermost_is_active() -> None:
    with Flow("outer") as outer:
        first = inc(1)
        with Flow("inner") as inner:
            nested = inc(2)
            assert active_flow.get() is inner
        after = inc(3)
        assert active_flow.get() is outer
    assert list(outer.tasks) == [first, after]
    assert list(inner.tasks) == [nested]


def test_the_same_flow_can_be_entered_twice() -> None:
    flow = Flow("f")
    with flow:
        with flow:
            inc(1)
        assert active_flow.get() is flow
        inc(2)
    assert active_flow.get() is None
    assert len(flow.tasks) == 2


def test_exit_on_exception_restores_the_outer_flow() -> None:
    with Flow("outer") as outer:
        with pytest.raises(RuntimeError), Flow("inner"):
            raise RuntimeError("boom")
        assert active_flow.get() is outer
    assert active_flow.get() is None


def test_two_threads_build_two_flows_at_once_without_mixing() -> None:
    barrier = threading.Barrier(2, timeout=10)
    built: dict[str, tuple[Flow, list[Task[Any]]]] = {}
    errors: list[BaseException] = []

    def build(name: str) -> None:
        try:
            made: list[Task[Any]] = []
            with Flow(name) as flow:
                barrier.wait()
                for i in range(30):
                    made.append(inc(made[-1] if made else i))
                    barrier.wait()  # the other thread builds its step now
            built[name] = (flow, made)
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=build, args=(name,)) for name in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for name in ("left", "right"):
        flow, made = built[name]
        assert flow.name == name
        assert list(flow.tasks) == made
        assert len(flow.edges) == 29
    assert active_flow.get() is None


# -- add_task ------------------------------------------------------------------


def test_add_task_generates_unique_slugs() -> None:
    flow = Flow("f")
    a, b = Task(name="t"), Task(name="t")
    assert flow.add_task(a) is a
    flow.add_task(b)
    assert (a.slug, b.slug) == ("t-1", "t-2")
    assert flow.add_task(a) is a
    assert len(flow.tasks) == 2


def test_generated_slugs_skip_taken_ones() -> None:
    flow = Flow("f")
    flow.add_task(Task(slug="t-1"))
    generated = flow.add_task(Task(name="t"))
    assert generated.slug == "t-2"


def test_explicit_slug_is_kept_and_must_be_unique() -> None:
    flow = Flow("f")
    flow.add_task(Task(slug="s"))
    with pytest.raises(DuplicateSlugError, match="already has a task with slug 's'"):
        flow.add_task(Task(name="other", slug="s"))
    assert len(flow.tasks) == 1


def test_add_task_rejects_non_tasks() -> None:
    with pytest.raises(TypeError, match="flows hold tasks, got 3"):
        Flow("f").add_task(3)  # type: ignore[arg-type]


# -- add_edge ------------------------------------------------------------------


def test_add_edge_adds_tasks_and_returns_the_edge() -> None:
    a, b = Task(name="a"), Task(name="b")
    flow = Flow("f")
    edge = flow.add_edge(a, b, key="x")
    assert edge == Edge(a, b, "x")
    assert flow.tasks == {a, b}
    assert flow.edges == {edge}


def test_add_edge_twice_is_a_no_op() -> None:
    a, b = Task(name="a"), Task(name="b")
    flow = Flow("f")
    flow.add_edge(a, b)
    assert flow.add_edge(a, b) == Edge(a, b)
    assert len(flow.edges) == 1


def test_two_keyed_edges_between_the_same_tasks() -> None:
    with Flow("f") as flow:
        one = inc(1)
        both = pair(one, one)
    assert flow.edges == {Edge(one, both, "x"), Edge(one, both, "y")}
    assert results(flow, both) == [4]


def test_edge_that_closes_a_cycle_is_rejected() -> None:
    flow, a, b, c = base_flow()
    with pytest.raises(CycleError, match=r"pair-1 -> inc-1 would close a cycle") as info:
        flow.add_edge(c, a)
    assert info.value.cycle[0] is c
    assert info.value.cycle[-1] is c
    with pytest.raises(CycleError, match="inc-2 -> inc-2"):
        flow.add_edge(b, b)


def test_validate_false_defers_the_cycle_check() -> None:
    flow, a, _, c = base_flow()
    flow.add_edge(c, a, validate=False)
    assert Edge(c, a) in flow.edges
    with pytest.raises(CycleError, match="flow 'base' has a cycle") as info:
        flow.validate()
    assert set(info.value.cycle) <= {a, c, *flow.tasks}
    with pytest.raises(CycleError):
        flow.sorted_tasks()
    with pytest.raises(CycleError):
        flow.run()


def test_duplicate_keyword_key_is_rejected() -> None:
    flow, a, b, c = base_flow()
    with pytest.raises(DuplicateEdgeKeyError, match="task 'pair-1' already receives input 'x'"):
        flow.add_edge(Task(name="z"), c, key="x")
    with pytest.raises(DuplicateEdgeKeyError, match="already has the constant input 'x'"):
        flow.add_edge(Task(name="z"), a, key="x")


def test_edge_key_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="an edge key is an argument name"):
        Flow("f").add_edge(Task(), Task(), key=1)  # type: ignore[arg-type]


# -- set_dependencies and chain ------------------------------------------------


def test_set_dependencies() -> None:
    a, b, c = Task(name="a"), pair.copy(), Task(name="c")
    flow = Flow("f")
    flow.set_dependencies(b, upstream_tasks=[a], downstream_tasks=[c], keyword_tasks={"x": a})
    flow.set_dependencies(b, keyword_tasks={"y": 5})
    assert flow.edges == {Edge(a, b), Edge(b, c), Edge(a, b, "x")}
    assert flow.constants == {b: {"y": 5}}


def test_set_dependencies_with_only_the_task_adds_it() -> None:
    flow = Flow("f")
    lonely = Task(name="l")
    flow.set_dependencies(lonely)
    assert flow.tasks == {lonely}


def test_chain() -> None:
    a, b, c = Task(name="a"), Task(name="b"), Task(name="c")
    flow = Flow("f")
    assert flow.chain(a, b, c) == [Edge(a, b), Edge(b, c)]
    assert flow.edges == {Edge(a, b), Edge(b, c)}
    assert flow.chain() == []


# -- queries -------------------------------------------------------------------


def query_flow() -> tuple[Flow, dict[str, Task[Any]]]:
    with Flow("q") as flow:
        p = Parameter("p", default=1)
        a = inc(p)
        b = inc.copy(tags={"io", "x"})(a)
        c = pair(a, b)
        d = inc.copy(name="other", tags={"io"})(5)
    return flow, {"p": p, "a": a, "b": b, "c": c, "d": d}


def test_graph_queries() -> None:
    flow, t = query_flow()
    assert flow.parameters() == {t["p"]}
    assert flow.root_tasks() == {t["p"], t["d"]}
    assert flow.terminal_tasks() == {t["c"], t["d"]}
    assert flow.upstream_tasks(t["c"]) == {t["a"], t["b"]}
    assert flow.downstream_tasks(t["a"]) == {t["b"], t["c"]}
    assert flow.upstream_tasks(t["p"]) == set()
    assert flow.edges_to(t["c"]) == {Edge(t["a"], t["c"], "x"), Edge(t["b"], t["c"], "y")}
    assert flow.edges_from(t["a"]) == {Edge(t["a"], t["b"], "x"), Edge(t["a"], t["c"], "x")}
    assert flow.edges_to(Task()) == set()
    assert flow.edges_from(t["d"]) == set()
    assert len(flow.tasks) == 5
    assert t["a"] in flow.tasks
    assert repr(flow) == "<Flow: 'q', 5 tasks, 4 edges>"


def test_get_tasks_filters() -> None:
    flow, t = query_flow()
    assert flow.get_tasks() == [t["p"], t["a"], t["b"], t["c"], t["d"]]
    assert flow.get_tasks(name="inc") == [t["a"], t["b"]]
    assert flow.get_tasks(slug="inc-2") == [t["b"]]
    assert flow.get_tasks(slug="p") == [t["p"]]
    assert flow.get_tasks(slug="nope") == []
    assert flow.get_tasks(tags={"io"}) == [t["b"], t["d"]]
    assert flow.get_tasks(tags=["io", "x"]) == [t["b"]]
    assert flow.get_tasks(tags="x") == [t["b"]]
    assert flow.get_tasks(name="inc", tags={"io"}) == [t["b"]]
    assert flow.get_tasks(name="inc", slug="inc-1") == [t["a"]]
    assert flow.get_tasks(name="other", slug="inc-1") == []


def test_reference_tasks_default_to_the_terminal_tasks() -> None:
    flow, t = query_flow()
    assert flow.reference_tasks() == {t["c"], t["d"]}
    with flow:
        later = inc(t["c"])
    assert flow.reference_tasks() == {later, t["d"]}


def test_explicit_reference_tasks() -> None:
    flow, t = query_flow()
    flow.set_reference_tasks([t["a"]])
    assert flow.reference_tasks() == {t["a"]}
    with pytest.raises(GraphError, match="reference tasks must be in flow 'q'; not in it"):
        flow.set_reference_tasks([Task(name="stranger")])
    assert flow.reference_tasks() == {t["a"]}
    flow.set_reference_tasks([])
    assert flow.reference_tasks() == {t["c"], t["d"]}


def test_sorted_tasks_is_a_deterministic_topological_order() -> None:
    def build() -> Flow:
        with Flow("f") as flow:
            roots = [inc(i) for i in range(5)]
            middle = pair(roots[4], roots[0])
            pair(middle, roots[2])
            total([roots[3], middle])
        return flow

    first, second = build(), build()
    order = first.sorted_tasks()
    assert [t.slug for t in order] == [t.slug for t in second.sorted_tasks()]
    assert first.sorted_tasks() == order
    position = {t: i for i, t in enumerate(order)}
    for edge in first.edges:
        assert position[edge.upstream_task] < position[edge.downstream_task]
    assert [t.slug for t in order[:5]] == ["inc-1", "inc-2", "inc-3", "inc-4", "inc-5"]


def test_sorted_tasks_breaks_ties_by_insertion_order() -> None:
    a, b, c = Task(name="a"), Task(name="b"), Task(name="c")
    flow = Flow("f", tasks=[a, b, c])
    assert flow.sorted_tasks() == (a, b, c)
    flow.add_edge(c, a)
    assert flow.sorted_tasks() == (b, c, a)


# -- validate ------------------------------------------------------------------


def test_validate_passes_on_a_flow_built_by_calls() -> None:
    flow, *_ = base_flow()
    assert flow.validate() is None


def test_validate_reports_missing_and_unknown_inputs() -> None:
    flow = Flow("f")
    lonely = inc.copy()
    flow.add_task(lonely)
    with pytest.raises(FlowValidationError, match="task 'inc-1' is missing required input 'x'"):
        flow.validate()
    odd = pair.copy()
    flow.set_dependencies(odd, keyword_tasks={"x": 1, "y": 2, "zz": 3})
    with pytest.raises(FlowValidationError, match=r"receives input 'zz' that its run\(\) does not"):
        flow.validate()


def test_validate_reports_slugs_changed_by_hand() -> None:
    flow, a, b, _ = base_flow()
    b.slug = a.slug
    with pytest.raises(FlowValidationError, match="share the slug 'inc-1'"):
        flow.validate()
    b.slug = None
    with pytest.raises(FlowValidationError, match="has no slug"):
        flow.validate()


def test_validate_lists_many_problems_briefly() -> None:
    flow = Flow("f")
    for _ in range(30):
        flow.add_task(inc.copy())
    with pytest.raises(FlowValidationError, match=r"\.\.\. and \d+ more") as info:
        flow.validate()
    assert str(info.value).count("missing required input") == 20


# -- copy and update -----------------------------------------------------------


def test_copy_has_the_same_graph_and_is_independent() -> None:
    flow, a, b, c = base_flow()
    flow.set_reference_tasks([b])
    copied = flow.copy()
    assert copied is not flow
    assert copied.name == flow.name
    assert list(copied.tasks) == list(flow.tasks)
    assert list(copied.edges) == list(flow.edges)
    assert copied.constants == flow.constants
    assert copied.reference_tasks() == {b}
    assert copied.sorted_tasks() == flow.sorted_tasks()
    with copied:
        extra = inc(c)
    assert extra in copied.tasks
    assert extra not in flow.tasks
    assert len(flow.edges) == 3
    assert results(copied, extra) == [6]


def test_copy_of_a_flow_with_a_deferred_cycle() -> None:
    flow, a, _, c = base_flow()
    flow.add_edge(c, a, validate=False)
    copied = flow.copy()
    assert list(copied.edges) == list(flow.edges)
    with pytest.raises(CycleError):
        copied.validate()


def test_update_merges_another_flow() -> None:
    flow, a, b, c = base_flow()
    with Flow("other") as other:  # explicit slugs: generated ones would collide
        d = inc.copy(slug="d")(7)
        e = pair.copy(slug="e")(d, 1)
    other.add_edge(c, d)
    flow.update(other)
    assert {d, e} <= set(flow.tasks)
    assert Edge(c, d) in flow.edges
    assert flow.constants[e] == {"y": 1}
    assert results(flow, e) == [9]


def test_update_renames_colliding_generated_slugs_in_both_flows() -> None:
    flow, a, _, c = base_flow()
    other, d, _, f = base_flow()  # inc-1, inc-2, pair-1 again
    flow.update(other)
    slugs = [task.slug for task in flow.tasks]
    assert slugs == ["inc-1", "inc-2", "pair-1", "inc-3", "inc-4", "pair-2"]
    assert [task.slug for task in other.tasks] == ["inc-3", "inc-4", "pair-2"]
    assert flow.get_tasks(slug="inc-3") == [d] and other.get_tasks(slug="inc-3") == [d]
    assert flow_snapshot(other)["slug_index"] == {task.slug: task for task in other.tasks}
    assert results(flow, c, f) == [5, 5]
    assert results(other, f) == [5]


def test_update_with_colliding_explicit_slugs_is_rejected() -> None:
    flow, *_ = base_flow()
    with Flow("other") as other:
        inc.copy(slug="inc-1")(5)
    before, other_before = flow_snapshot(flow), flow_snapshot(other)
    with pytest.raises(DuplicateSlugError, match="slug 'inc-1'"):
        flow.update(other)
    assert flow_snapshot(flow) == before
    assert flow_snapshot(other) == other_before


def test_failed_update_puts_the_renamed_slugs_back() -> None:
    flow, *_ = base_flow()
    other, *_ = base_flow()
    with flow:
        inc.copy(slug="mine")(3)
    with other:
        inc.copy(slug="mine")(4)  # a slug given by hand clashes: rejected
    before, other_before = flow_snapshot(flow), flow_snapshot(other)
    with pytest.raises(DuplicateSlugError, match="slug 'mine'"):
        flow.update(other)
    assert flow_snapshot(flow) == before
    assert flow_snapshot(other) == other_before


def test_update_with_validate_false_defers_the_cycle_check() -> None:
    flow, a, _, c = base_flow()
    flow.update(Flow("other", edges=[(c, a)]), validate=False)
    assert Edge(c, a) in flow.edges
    with pytest.raises(CycleError):
        flow.validate()


def test_update_with_shared_tasks_is_idempotent() -> None:
    flow, *_ = base_flow()
    before = flow_snapshot(flow)
    flow.update(flow.copy())
    assert flow_snapshot(flow) == before


# -- collections of tasks as arguments, constants ----------------------------------


def test_list_of_tasks_becomes_a_collection_task() -> None:
    with Flow("f") as flow:
        a, b = inc(1), inc(2)
        summed = total([a, b, 10])
    (collect,) = flow.upstream_tasks(summed)
    assert collect.name == "List"
    assert flow.edges_to(collect) == {Edge(a, collect, "item_0"), Edge(b, collect, "item_1")}
    assert flow.edges_to(summed) == {Edge(collect, summed, "xs")}
    assert results(flow, summed) == [15]


def test_nested_collections_are_resolved() -> None:
    with Flow("f") as flow:
        a, b, c = inc(0), inc(1), inc(2)
        shaped = echo({"k": (a, [b, {"z": c}]), "n": 1, a: "key"})
        sets = echo((frozenset({a, 5}), {b}))
    assert results(flow, shaped, sets) == [
        {"k": (1, [2, {"z": 3}]), "n": 1, 1: "key"},
        (frozenset({1, 5}), {2}),
    ]


def test_same_task_twice_in_a_collection() -> None:
    with Flow("f") as flow:
        a = inc(1)
        both = echo([a, a])
    assert results(flow, both) == [[2, 2]]


def test_collection_without_tasks_is_a_constant() -> None:
    value = {"k": [1, (2, 3)]}
    with Flow("f") as flow:
        plain = echo(value)
    assert flow.tasks == {plain}
    assert flow.constants[plain] == {"v": value}
    assert flow.constants[plain]["v"] is value


def test_constants_are_recorded_per_task() -> None:
    flow, a, b, c = base_flow()
    assert flow.constants == {a: {"x": 1}}
    assert b not in flow.constants
    assert c not in flow.constants


def test_map_marks_iterated_edges_as_mapped() -> None:
    with Flow("f") as flow:
        offset = inc(0)
        mapped = pair.map([1, 2, 3], unmapped(offset))
    edges = {edge.key: edge for edge in flow.edges_to(mapped)}
    assert edges["x"].mapped is True
    assert edges["x"].upstream_task.name == "Constant[list]"
    assert edges["y"] == Edge(offset, mapped, "y", mapped=False)
    assert mapped.mapped is True


# -- all or nothing ----------------------------------------------------------------

Fresh = list[Task[Any]]


def cycle_by_add_edge(flow: Flow, a: Any, b: Any, c: Any, fresh: Fresh) -> None:
    flow.add_edge(c, a)


def self_loop(flow: Flow, a: Any, b: Any, c: Any, fresh: Fresh) -> None:
    flow.add_edge(b, b)


def cycle_by_bind(flow: Flow, a: Any, b: Any, c: Any, fresh: Fresh) -> None:
    a.bind(99, upstream_tasks=[c], flow=flow)  # sets the constant x=99 before failing


def cycle_through_a_new_task(flow: Flow, a: Any, b: Any, c: Any, fresh: Fresh) -> None:
    middle = Task(name="middle")
    fresh.append(middle)
    flow.set_dependencies(middle, upstream_tasks=[c], downstream_tasks=[a])


def cycle_by_chain(flow: Flow, a: Any, b: Any, c: Any, fresh: Fresh) -> None:
    fresh.extend([Task(name="m1"), Task(name="m2")])
    flow.chain(c, fresh[0], fresh[1], a)


def duplicate_slug(flow: Flow, a: Any, b: Any, c: Any, fresh: Fresh) -> None:
    first = Task(name="n")
    fresh.append(first)
    flow.set_dependencies(first, upstream_tasks=[a], downstream_tasks=[Task(slug=str(a.slug))])


def duplicate_key(flow: Flow, a: Any, b: Any, c: Any, fresh: Fresh) -> None:
    upstream = Task(name="u")
    fresh.append(upstream)
    flow.set_dependencies(c, upstream_tasks=[upstream], keyword_tasks={"x": b})


def key_clashes_with_constant(flow: Flow, a: Any, b: Any, c: Any, fresh: Fresh) -> None:
    new = Task(name="q")
    fresh.append(new)
    flow.set_dependencies(a, upstream_tasks=[new], keyword_tasks={"x": new})


def constant_clashes_with_key(flow: Flow, a: Any, b: Any, c: Any, fresh: Fresh) -> None:
    new = Task(name="q")
    fresh.append(new)
    flow.set_dependencies(c, upstream_tasks=[new], keyword_tasks={"y": 5})


def bad_upstream_in_a_call(flow: Flow, a: Any, b: Any, c: Any, fresh: Fresh) -> None:
    with flow:
        inc(a, upstream_tasks=[b, "not a task"])


def bad_upstream_with_a_collection(flow: Flow, a: Any, b: Any, c: Any, fresh: Fresh) -> None:
    with flow:
        total([a, [b, 3], {"k": c}], upstream_tasks=[a, 1])


def bad_upstream_in_a_map(flow: Flow, a: Any, b: Any, c: Any, fresh: Fresh) -> None:
    with flow:
        inc.map([1, 2], upstream_tasks=[0])


def too_many_arguments(flow: Flow, a: Any, b: Any, c: Any, fresh: Fresh) -> None:
    with flow:
        pair(a, b, c)


def cycle_in_a_nested_collection(flow: Flow, a: Any, b: Any, c: Any, fresh: Fresh) -> None:
    loose = echo.copy()
    fresh.append(loose)
    flow.set_dependencies(loose, keyword_tasks={"v": [c, (b,)]}, downstream_tasks=[a])


def update_with_duplicate_slug(flow: Flow, a: Any, b: Any, c: Any, fresh: Fresh) -> None:
    o1, o2 = Task(name="o1"), Task(name="o2")
    other = Flow("other", edges=[(o1, o2), (o2, Task(slug=str(c.slug)))])
    flow.update(other)


def update_with_cycle(flow: Flow, a: Any, b: Any, c: Any, fresh: Fresh) -> None:
    extra = Task(name="extra")
    other = Flow("other", edges=[(a, extra), (c, a)])
    other.constants[extra] = {"v": 1}
    flow.update(other)


ATOMICITY_CASES = [
    pytest.param(cycle_by_add_edge, CycleError, "would close a cycle", id="add_edge-cycle"),
    pytest.param(self_loop, CycleError, "inc-2 -> inc-2", id="self-loop"),
    pytest.param(cycle_by_bind, CycleError, "would close a cycle", id="bind-cycle"),
    pytest.param(cycle_through_a_new_task, CycleError, "middle-1", id="new-task-cycle"),
    pytest.param(cycle_by_chain, CycleError, "m2-1 -> inc-1", id="chain-cycle"),
    pytest.param(duplicate_slug, DuplicateSlugError, "slug 'inc-1'", id="duplicate-slug"),
    pytest.param(duplicate_key, DuplicateEdgeKeyError, "input 'x'", id="duplicate-key"),
    pytest.param(
        key_clashes_with_constant, DuplicateEdgeKeyError, "constant input 'x'", id="key-vs-constant"
    ),
    pytest.param(
        constant_clashes_with_key,
        DuplicateEdgeKeyError,
        "already receives input 'y' from 'inc-2'",
        id="constant-vs-key",
    ),
    pytest.param(bad_upstream_in_a_call, TypeError, "upstream_tasks must hold tasks", id="call"),
    pytest.param(bad_upstream_with_a_collection, TypeError, "got 1", id="collection"),
    pytest.param(bad_upstream_in_a_map, TypeError, "got 0", id="map"),
    pytest.param(too_many_arguments, TypeError, "takes 2 positional", id="too-many-arguments"),
    pytest.param(cycle_in_a_nested_collection, CycleError, "cycle", id="nested-collection-cycle"),
    pytest.param(update_with_duplicate_slug, DuplicateSlugError, "pair-1", id="update-slug"),
    pytest.param(update_with_cycle, CycleError, "would close a cycle", id="update-cycle"),
]


@pytest.mark.parametrize(("change", "error", "message"), ATOMICITY_CASES)
def test_a_call_that_raises_leaves_the_flow_exactly_as_it_was(
    change: Callable[..., None], error: type[Exception], message: str
) -> None:
    flow, a, b, c = base_flow()
    flow.sorted_tasks()  # warm the cache: a rollback must invalidate it if needed
    before = flow_snapshot(flow)
    fresh: Fresh = []
    with pytest.raises(error, match=message):
        change(flow, a, b, c, fresh)
    assert flow_snapshot(flow) == before
    for new_task in fresh:
        assert new_task not in flow.tasks
        assert new_task.slug is None, "a rolled-back generated slug must be removed"
    for original in (inc, pair, echo, total):
        assert original.slug is None
    assert flow.sorted_tasks() == (a, b, c)
    flow.validate()
    assert results(flow, c) == [5]
    # The flow goes on as if nothing happened: the next generated slugs are the same.
    with flow:
        assert [inc(c).slug, Task(name="middle").bind(flow=flow).slug] == ["inc-3", "middle-1"]


def test_rollback_restores_a_constant_that_was_overwritten() -> None:
    flow, a, _, c = base_flow()
    with pytest.raises(CycleError):
        cycle_by_bind(flow, a, None, c, [])
    assert flow.constants[a] == {"x": 1}


# -- linear building -----------------------------------------------------------------


def test_building_by_calls_never_searches_for_cycles(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, Any]] = []
    real_find_path = headwater._graphstore.find_path

    def counting_find_path(start: Any, goal: Any, successors: Any) -> Any:
        calls.append((start, goal))
        return real_find_path(start, goal, successors)

    monkeypatch.setattr(headwater._graphstore, "find_path", counting_find_path)
    with Flow("big") as flow:
        x = inc(0)
        for _ in range(1_000):
            x = inc(x)  # a chain
        fanned = [inc(i) for i in range(1_000)]
        summed = total(fanned)  # a wide fan-in, through one collection task
        pair(summed, x, upstream_tasks=fanned[:10])
    assert len(flow.tasks) == 2_004
    assert calls == []
    # The probe is live: an edge that could close a cycle is searched.
    with pytest.raises(CycleError):
        flow.add_edge(summed, fanned[0])
    assert len(calls) == 1


# -- the fast paths of building --------------------------------------------------------


def big_fan_in(width: int = 40) -> tuple[Flow, Task[Any], list[Task[Any]]]:
    """A task fed by ``width`` keyed edges (more than are scanned one by one)."""
    sources = [Task(name=f"s{i}") for i in range(width)]
    sink = Task(name="sink")  # the base Task's run accepts any keyword input
    flow = Flow("fan-in")
    flow.set_dependencies(sink, keyword_tasks={f"k{i}": s for i, s in enumerate(sources)})
    return flow, sink, sources


def test_a_big_fan_in_refuses_a_second_edge_or_constant_for_a_taken_key() -> None:
    flow, sink, sources = big_fan_in()
    before = flow_snapshot(flow)
    with pytest.raises(DuplicateEdgeKeyError, match="already receives input 'k7' from 's7-1'"):
        flow.add_edge(sources[0], sink, key="k7")
    with pytest.raises(DuplicateEdgeKeyError, match="input 'k39'"):
        flow.set_dependencies(sink, keyword_tasks={"k39": 5})
    assert flow_snapshot(flow) == before  # also checks the key index against the edges
    assert flow._keyed[sink]["k7"].upstream_task is sources[7]


def test_the_key_index_of_a_big_fan_in_follows_later_edges_and_rollbacks() -> None:
    flow, sink, sources = big_fan_in()
    with pytest.raises(DuplicateEdgeKeyError):
        flow.add_edge(sources[1], sink, key="k0")  # the index is made here
    extra = Task(name="extra")
    flow.add_edge(extra, sink, key="new")
    with pytest.raises(DuplicateEdgeKeyError, match="input 'new'"):
        flow.add_edge(sources[2], sink, key="new")
    with pytest.raises(CycleError):  # adds k_late, then fails on the cycle: all undone
        flow.set_dependencies(sink, keyword_tasks={"k_late": extra}, downstream_tasks=[extra])
    flow_snapshot(flow)
    assert "k_late" not in flow._keyed[sink]
    flow.add_edge(extra, sink, key="k_late")
    assert flow._keyed[sink]["k_late"] == Edge(extra, sink, "k_late")


def test_a_rollback_that_undoes_every_edge_into_a_big_fan_in_drops_its_key_index() -> None:
    sources = [Task(name=f"s{i}") for i in range(40)]
    sink = Task(name="sink")
    flow = Flow("fan-in", tasks=[sink, *sources])
    keyword_tasks = {f"k{i}": s for i, s in enumerate(sources[:-1])}
    with pytest.raises(CycleError):  # the index is made while the inputs are added
        sink.bind(**keyword_tasks, upstream_tasks=[sink], flow=flow)
    assert sink not in flow._keyed
    flow.set_dependencies(sink, keyword_tasks=keyword_tasks)
    with pytest.raises(DuplicateEdgeKeyError, match="input 'k0'"):
        flow.add_edge(sources[-1], sink, key="k0")
    flow_snapshot(flow)  # checks the key index against the edges


def test_a_call_whose_generated_slug_is_taken_by_hand_gets_the_next_one() -> None:
    with Flow("f") as flow:
        flow.add_task(inc.copy(slug="inc-1"))
        first = inc(1)
        second = inc(first)
    assert [first.slug, second.slug] == ["inc-2", "inc-3"]
    assert flow.get_tasks(slug="inc-2") == [first]


def test_a_call_with_an_upstream_task_not_in_the_flow_adds_that_task_too() -> None:
    outside = Parameter("start")
    with Flow("f") as flow:
        inside = inc(outside)
    assert set(flow.tasks) == {outside, inside}
    assert flow.edges_to(inside) == {Edge(outside, inside, "x")}
    state = flow.run(parameters={"start": 2})
    assert state.result[inside].result == 3


def test_a_collection_task_is_added_before_the_task_it_feeds() -> None:
    with Flow("f") as flow:
        leaves = [inc(i) for i in range(3)]
        summed = total(leaves)
        scaled = echo(unmapped_list := [summed, 1])
    collect_for_total, collect_for_echo = (t for t in flow.tasks if t.name == "List")
    order = list(flow.tasks)
    assert order.index(collect_for_total) < order.index(summed)
    assert order.index(collect_for_echo) < order.index(scaled)
    assert flow.sorted_tasks() == tuple(order)  # already topological: no sorting
    assert results(flow, scaled) == [[6, 1]]
    assert unmapped_list == [summed, 1]


def test_validation_checks_the_inputs_of_tasks_changed_after_their_call() -> None:
    with Flow("f") as flow:
        one = inc(1)
    flow.validate()  # the call bound every input: nothing left to check
    assert not flow._unchecked
    flow.set_dependencies(one, keyword_tasks={"unknown": 3})
    with pytest.raises(FlowValidationError, match="'unknown' that its run"):
        flow.validate()
    with pytest.raises(FlowValidationError):
        flow.validate()  # still wrong: a failed validation forgets nothing


def test_validation_checks_tasks_added_without_a_call() -> None:
    flow = Flow("f")
    flow.add_task(inc.copy())
    with pytest.raises(FlowValidationError, match="missing required input 'x'"):
        flow.validate()
