"""Checkpoints and resume: ``flow.run(store=..., resume=...)`` in one process."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import headwater._cache
from headwater import Flow, Parameter, Task, signals, task
from headwater._checkpoint import read_journal
from headwater.errors import ResumeError
from headwater.states import Cached, Mapped, State
from headwater.stores import JSONSerializer, LocalStore, MemoryStore, last_run_id, provenance
from strategies import DagShape, build_flow, dag_shapes, expected_results

calls: list[str] = []


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    calls.clear()


@task
def load() -> list[int]:
    calls.append("load")
    return [1, 2, 3]


@task
def double(x: int) -> int:
    calls.append(f"double {x}")
    if x == flaky_value[0]:
        raise ValueError("flaky")
    return 2 * x


flaky_value = [0]


@task
def total(xs: list[int]) -> int:
    calls.append("total")
    return sum(xs)


def etl() -> tuple[Flow, Task[Any]]:
    with Flow("etl") as flow:
        summed = total(double.map(load()))
    return flow, summed


def test_a_run_checkpoints_results_states_and_a_manifest(tmp_path: Path) -> None:
    flow, summed = etl()
    store = LocalStore(tmp_path)
    state = flow.run(store=store)
    run_id = last_run_id(store)
    assert run_id is not None and state.is_successful()
    manifest = store.get(f"runs/{run_id}/manifest")
    assert manifest["run_id"] == run_id and manifest["flow"] == "etl"
    assert set(manifest["tasks"]) == {task.slug for task in flow.tasks}
    records = {r["name"]: r for r in read_journal(store, f"runs/{run_id}/journal")}
    assert set(records) == {t.slug for t in flow.tasks} | {f"double-1[{i}]" for i in range(3)}
    record = records[summed.slug]
    assert record["class"] == "Success" and record["run_id"] == run_id
    assert record["result"] == 12 and records["double-1[2]"]["result"] == 6
    assert records["double-1"]["children"] == 3


def test_resume_reruns_only_what_did_not_finish(tmp_path: Path) -> None:
    flow, summed = etl()
    flaky_value[0] = 2
    first = flow.run(store=LocalStore(tmp_path))
    assert first.is_failed()
    flaky_value[0] = 0
    calls.clear()
    first_id = last_run_id(LocalStore(tmp_path))
    second = flow.run(store=LocalStore(tmp_path), resume="latest")
    assert second.is_successful()
    assert second.result[summed].result == 12
    assert calls == ["double 2", "total"]  # load and the other children were restored
    states = second.result
    load_state = next(s for t, s in states.items() if t.name == "load")
    assert provenance(load_state) == "restored"
    assert load_state.message.startswith(f"restored from checkpoint of run {first_id}")
    mapped = next(s for s in states.values() if isinstance(s, Mapped))
    assert [provenance(child) for child in mapped.map_states] == ["restored", "ran", "restored"]


def test_resume_of_a_resumed_run_keeps_restoring(tmp_path: Path) -> None:
    flow, summed = etl()
    flow.run(store=LocalStore(tmp_path))
    flow.run(store=LocalStore(tmp_path), resume="latest")
    calls.clear()
    third = flow.run(store=LocalStore(tmp_path), resume="latest")
    assert calls == []
    assert third.result[summed].result == 12
    assert third.result[summed].message.count("restored from checkpoint") == 1


def test_resume_after_keyboard_interrupt(tmp_path: Path) -> None:
    interrupt = [True]

    @task
    def stop(x: int) -> int:
        if interrupt[0]:
            raise KeyboardInterrupt
        return x

    with Flow("stop") as flow:
        end = stop(total(double.map(load())))
    with pytest.raises(KeyboardInterrupt):
        flow.run(store=LocalStore(tmp_path))
    interrupt[0] = False
    calls.clear()
    state = flow.run(store=LocalStore(tmp_path), resume="latest")
    assert state.result[end].result == 12 and calls == []


def test_waiting_tasks_run_again_on_resume(tmp_path: Path) -> None:
    arrived = [False]

    @task
    def gate(x: int) -> int:
        if not arrived[0]:
            raise signals.WAIT("not yet")
        return x

    with Flow("gate") as flow:
        out = gate(total(double.map(load())))
    assert flow.run(store=LocalStore(tmp_path)).is_waiting()
    arrived[0] = True
    calls.clear()
    assert flow.run(store=LocalStore(tmp_path), resume="latest").result[out].result == 12
    assert calls == []


def test_resume_refuses_a_flow_whose_finished_tasks_changed(tmp_path: Path) -> None:
    def build(offset: int) -> Flow:
        def first() -> int:
            return 1 + offset

        with Flow("changed") as flow:
            total.copy()  # unrelated
            task(name="first")(first)()
        return flow

    build(0).run(store=LocalStore(tmp_path))

    def other() -> int:
        return 100

    with Flow("changed") as flow:
        task(name="first")(other)()
    with pytest.raises(ResumeError, match=r"tasks first-1 finished in that run but changed"):
        flow.run(store=LocalStore(tmp_path), resume="latest")


def test_resume_accepts_changes_to_tasks_that_run_again(tmp_path: Path) -> None:
    def broken(xs: list[int]) -> int:
        raise ValueError("bug")

    with Flow("fixed") as flow:
        task(name="finish")(broken)(double.map(load()))
    assert flow.run(store=LocalStore(tmp_path)).is_failed()

    def finish(xs: list[int]) -> int:
        return sum(xs)

    with Flow("fixed") as fixed:
        end = task(name="finish")(finish)(double.map(load()))
    calls.clear()
    state = fixed.run(store=LocalStore(tmp_path), resume="latest")
    assert state.result[end].result == 12 and calls == []


def test_resume_refuses_other_parameters_unknown_runs_and_missing_store(tmp_path: Path) -> None:
    with Flow("p") as flow:
        total(Parameter("xs", default=[1]))
    flow.run(store=LocalStore(tmp_path))
    with pytest.raises(ResumeError, match="parameters xs differ"):
        flow.run(parameters={"xs": [2]}, store=LocalStore(tmp_path), resume="latest")
    with pytest.raises(ResumeError, match="holds no checkpoint of it"):
        flow.run(store=LocalStore(tmp_path), resume="nope")
    with pytest.raises(ResumeError, match="no run was checkpointed"):
        flow.run(store=MemoryStore(), resume="latest")
    with pytest.raises(ResumeError, match="resume= needs store="):
        flow.run(resume="latest")


def test_unserializable_results_are_reported_and_run_again(tmp_path: Path) -> None:
    @task(cache_for=timedelta(hours=1))
    def make_lock() -> Any:
        calls.append("lock")
        return threading.Lock()

    with Flow("lock") as flow:
        made = make_lock()
    state = flow.run(store=LocalStore(tmp_path))
    assert state.is_successful()
    message = state.result[made].message
    assert "result not checkpointed or cached: PickleSerializer() failed with TypeError" in message
    headwater._cache.default_cache_store.clear()
    flow.run(store=LocalStore(tmp_path), resume="latest")
    assert calls == ["lock", "lock"]


def test_json_store_reports_results_json_cannot_hold(tmp_path: Path) -> None:
    @task
    def pair() -> set[int]:
        return {1, 2}

    with Flow("json") as flow:
        made = pair()
    state = flow.run(store=LocalStore(tmp_path, JSONSerializer()))
    assert state.is_successful() and state.result[made].result == {1, 2}
    assert "not checkpointed" in state.result[made].message


def test_the_cache_persists_in_the_store(tmp_path: Path) -> None:
    @task(cache_for=timedelta(hours=1))
    def slow(x: int) -> int:
        calls.append("slow")
        return x + 1

    with Flow("cache") as flow:
        out = slow(1)
    flow.run(store=LocalStore(tmp_path))
    headwater._cache.default_cache_store.clear()  # as in a new process
    state = flow.run(store=LocalStore(tmp_path))
    assert calls == ["slow"]
    assert isinstance(state.result[out], Cached) and provenance(state.result[out]) == "cached"


def test_cli_store_and_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from headwater.cli import main

    flow_file = Path(__file__).parent / "cli_flows" / "etl.py"
    store = tmp_path / "store"
    code = main(["run", str(flow_file), "--store", str(store), "-q"])
    out = capsys.readouterr().out
    assert code == 0 and "checkpointed run" in out
    run_id = last_run_id(LocalStore(store))
    assert main(["run", str(flow_file), "--store", str(store), "--resume", str(run_id), "-q"]) == 0
    assert f"checkpointed run {last_run_id(LocalStore(store))}" in capsys.readouterr().out
    assert last_run_id(LocalStore(store)) != run_id
    assert main(["run", str(flow_file), "--store", str(store), "--resume", "nope", "-q"]) != 0
    assert "holds no checkpoint" in capsys.readouterr().err
    assert main(["run", str(flow_file), "--resume", "latest", "-q"]) != 0
    assert "--resume needs --store" in capsys.readouterr().err


def _crashing(shape: DagShape, crash_at: int | None, ran: list[int]) -> tuple[Flow, list[Any]]:
    flow, nodes = build_flow(shape)
    for index, node in enumerate(nodes):

        def handler(task: Any, old: State, new: State, index: int = index) -> None:
            if new.is_running():
                if index == crash_at:
                    raise KeyboardInterrupt
                ran.append(index)

        node.state_handlers = (handler,)
    return flow, nodes


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=dag_shapes(max_tasks=8), data=st.data())
def test_resume_after_a_crash_anywhere_gives_the_uninterrupted_results(
    shape: DagShape, data: st.DataObject
) -> None:
    crash_at = data.draw(st.integers(0, shape.n_tasks - 1))
    store = MemoryStore()
    first_ran: list[int] = []
    flow, _ = _crashing(shape, crash_at, first_ran)
    with pytest.raises(KeyboardInterrupt):
        flow.run(store=store)
    resumed_ran: list[int] = []
    fresh, nodes = _crashing(shape, None, resumed_ran)  # the same flow, built again
    state = fresh.run(store=store, resume="latest")
    assert [state.result[node].result for node in nodes] == expected_results(shape)
    assert not set(first_ran) & set(resumed_ran)  # nothing that finished ran again
    assert crash_at in resumed_ran


@pytest.mark.parametrize("executor_name", ["local", "threads", "processes"])
def test_checkpoints_under_every_executor(tmp_path: Path, executor_name: str) -> None:
    from headwater import executors

    def make() -> Any:
        if executor_name == "threads":
            return executors.ThreadExecutor(max_workers=3)
        if executor_name == "processes":
            return executors.ProcessExecutor(max_workers=2)
        return executors.LocalExecutor()

    flow, summed = etl()
    first = flow.run(executor=make(), store=LocalStore(tmp_path))
    second = flow.run(executor=make(), store=LocalStore(tmp_path), resume="latest")
    assert first.result[summed].result == second.result[summed].result == 12
    assert {provenance(state) for state in second.result.values()} == {"restored"}
