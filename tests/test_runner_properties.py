"""Hypothesis: on random DAGs with random outcomes, triggers and
``propagate_skip``, every task ends in the state a small reference model of
the contract predicts, and successful results equal a plain-Python evaluation.

The reference model (:func:`predict`) knows nothing of the runner: it walks the
nodes in index order (a topological order) and applies the contract's rules
to each, in the contract's order:

1. a task without upstream tasks always passes its trigger;
2. ``propagate_skip`` and a skipped upstream task -> ``Skipped``;
3. the trigger (re-implemented here as a table): ``manual_only`` -> ``Waiting``
   on a first run; a refusal -> ``Pending`` when an upstream task did not
   finish, else ``TriggerFailed``;
4. the task's own outcome: success, exception or ``FAIL`` -> ``Failed``,
   ``SKIP`` -> ``Skipped``.

``"list"`` edges go through the hidden collection task that rebuilds the list
(default trigger, no skip propagation), which the model includes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headwater import Flow, Task, signals, task, triggers
from headwater.states import State
from strategies import DagShape, dag_shapes

OUTCOMES = ("success", "exception", "FAIL", "SKIP")
TRIGGERS: dict[str, Callable[..., bool]] = {
    "all_successful": triggers.all_successful,
    "all_failed": triggers.all_failed,
    "any_successful": triggers.any_successful,
    "any_failed": triggers.any_failed,
    "all_finished": triggers.all_finished,
    "always_run": triggers.always_run,
    "manual_only": triggers.manual_only,
}

SUCCESSFUL = {"Success", "Skipped"}
FAILED = {"Failed", "TriggerFailed"}
FINISHED = SUCCESSFUL | FAILED


@dataclass(frozen=True)
class Plan:
    """A DAG shape and, per node, its outcome, trigger and propagate_skip."""

    shape: DagShape
    outcomes: tuple[str, ...]
    trigger_names: tuple[str, ...]
    propagate: tuple[bool, ...]


@st.composite
def plans(draw: st.DrawFn, max_tasks: int = 10) -> Plan:
    shape = draw(dag_shapes(min_tasks=1, max_tasks=max_tasks))
    n = shape.n_tasks
    return Plan(
        shape,
        tuple(draw(st.lists(st.sampled_from(OUTCOMES), min_size=n, max_size=n))),
        tuple(draw(st.lists(st.sampled_from(sorted(TRIGGERS)), min_size=n, max_size=n))),
        tuple(draw(st.lists(st.booleans(), min_size=n, max_size=n))),
    )


@task
def node(index: int, outcome: str, xs: Any, **named: Any) -> int:
    """Sum its integer inputs (others, from tasks that did not succeed, are
    ignored), then end as ``outcome`` says."""
    values = [*(xs if isinstance(xs, list) else []), *named.values()]
    result = index + sum(v for v in values if type(v) is int)
    if outcome == "exception":
        raise ValueError(f"node {index} broke")
    if outcome == "FAIL":
        raise signals.FAIL(f"node {index} failed")
    if outcome == "SKIP":
        raise signals.SKIP(f"node {index} skipped")
    return result


def build(plan: Plan) -> tuple[Flow, list[Task[Any]]]:
    nodes: list[Task[Any]] = []
    with Flow("random") as flow:
        for i in range(plan.shape.n_tasks):
            into = plan.shape.edges_into(i)
            xs = [nodes[e.upstream] for e in into if e.kind == "list"]
            named = {str(e.key): nodes[e.upstream] for e in into if e.kind == "key"}
            state_only = [nodes[e.upstream] for e in into if e.kind == "state"]
            configured = node.copy(
                trigger=TRIGGERS[plan.trigger_names[i]], propagate_skip=plan.propagate[i]
            )
            nodes.append(configured(i, plan.outcomes[i], xs, upstream_tasks=state_only, **named))
    return flow, nodes


# -- the reference model -------------------------------------------------------


def trigger_accepts(name: str, states: Sequence[str]) -> bool:
    if name == "all_successful":
        return all(s in SUCCESSFUL for s in states)
    if name == "all_failed":
        return all(s in FAILED for s in states)
    if name == "any_successful":
        return all(s in FINISHED for s in states) and any(s in SUCCESSFUL for s in states)
    if name == "any_failed":
        return any(s in FAILED for s in states)
    if name in ("all_finished", "always_run"):
        return all(s in FINISHED for s in states)
    raise AssertionError(name)


def decide(upstream: Sequence[str], trigger: str, propagate: bool, outcome: str) -> str:
    """One task's final state class name, by the contract's rules."""
    if upstream:
        if propagate and "Skipped" in upstream:
            return "Skipped"
        if trigger == "manual_only":
            return "Waiting"
        if not trigger_accepts(trigger, upstream):
            unfinished = any(s not in FINISHED for s in upstream)
            return "Pending" if unfinished else "TriggerFailed"
    return {"success": "Success", "exception": "Failed", "FAIL": "Failed", "SKIP": "Skipped"}[
        outcome
    ]


@dataclass
class Prediction:
    states: list[str]  # per node
    values: list[int | None]  # per node: the result when Success
    collects: dict[int, str]  # node -> state of its hidden collection task
    flow: str


def predict(plan: Plan) -> Prediction:
    states: list[str] = []
    values: list[int | None] = []
    collects: dict[int, str] = {}
    for i in range(plan.shape.n_tasks):
        into = plan.shape.edges_into(i)
        listed = [e.upstream for e in into if e.kind == "list"]
        keyed = [e.upstream for e in into if e.kind == "key"]
        upstream = [states[e.upstream] for e in into if e.kind != "list"]
        if listed:
            collect = decide([states[u] for u in listed], "all_successful", False, "success")
            collects[i] = collect
            upstream.append(collect)
        state = decide(upstream, plan.trigger_names[i], plan.propagate[i], plan.outcomes[i])
        states.append(state)
        if state != "Success":
            values.append(None)
            continue
        data = keyed + (listed if collects.get(i) == "Success" else [])
        values.append(i + sum(values[u] or 0 for u in data if states[u] == "Success"))
    terminal = [
        i for i in range(plan.shape.n_tasks) if not any(e.upstream == i for e in plan.shape.edges)
    ]
    every = states + list(collects.values())
    if any(states[i] in FAILED for i in terminal):
        flow = "Failed"
    elif any(s not in FINISHED for s in every):
        flow = "Waiting"
    else:
        flow = "Success"
    return Prediction(states, values, collects, flow)


# -- the properties ------------------------------------------------------------

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def collect_state(flow: Flow, state: State, t: Task[Any]) -> str | None:
    for edge in flow.edges_to(t):
        if edge.key == "xs":
            return type(state.result[edge.upstream_task]).__name__
    return None


@SETTINGS
@given(plans())
def test_final_states_match_the_reference_model(plan: Plan) -> None:
    flow, nodes = build(plan)
    state = flow.run()
    expected = predict(plan)
    actual = [type(state.result[t]).__name__ for t in nodes]
    assert actual == expected.states
    for i, t in enumerate(nodes):
        assert collect_state(flow, state, t) == expected.collects.get(i)
    assert type(state).__name__ == expected.flow


@SETTINGS
@given(plans())
def test_successful_results_match_plain_python(plan: Plan) -> None:
    flow, nodes = build(plan)
    state = flow.run()
    expected = predict(plan)
    for i, t in enumerate(nodes):
        if expected.states[i] == "Success":
            assert state.result[t].result == expected.values[i]


@settings(max_examples=40, deadline=None)
@given(plans(max_tasks=8))
def test_runs_are_deterministic_and_resume_changes_nothing_finished(plan: Plan) -> None:
    flow, nodes = build(plan)
    first = flow.run()
    second = flow.run()
    assert [type(first.result[t]) for t in nodes] == [type(second.result[t]) for t in nodes]
    # Resuming with every finished state re-runs nothing that finished.
    finished = {t: s for t, s in first.result.items() if s.is_finished()}
    resumed = flow.run(task_states=finished)
    for t, s in finished.items():
        assert resumed.result[t] is s


@settings(max_examples=60, deadline=None)
@given(plans(max_tasks=8))
def test_all_successful_plans_succeed_with_plain_python_results(plan: Plan) -> None:
    simple = Plan(
        plan.shape,
        ("success",) * plan.shape.n_tasks,
        ("all_successful",) * plan.shape.n_tasks,
        plan.propagate,
    )
    flow, nodes = build(simple)
    state = flow.run()
    assert state.is_successful()
    results = []
    for i in range(simple.shape.n_tasks):
        data = [e.upstream for e in simple.shape.edges_into(i) if e.kind != "state"]
        results.append(i + sum(results[u] for u in data))
    assert [state.result[t].result for t in nodes] == results
