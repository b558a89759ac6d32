"""The run record: ``flow.run(events=...)`` writes every state change."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import headwater
from headwater import Flow, context, signals, task
from headwater._events import read_events

FIELDS = {
    "time",
    "flow",
    "flow_run_id",
    "task",
    "task_name",
    "map_index",
    "try",
    "old",
    "new",
    "message",
    "duration",
}


@task(max_retries=1, retry_delay=timedelta(0))
def flaky() -> int:
    if context.task_run_count == 1:
        raise ValueError("first try fails")
    return 1


@task
def double(x: int) -> int:
    return 2 * x


@task
def broken(x: int) -> int:
    raise RuntimeError("no")


def build() -> tuple[Flow, Any, Any, Any]:
    with Flow("events") as flow:
        f = flaky()
        d = double(f)
        b = broken(d)
    return flow, f, d, b


def test_events_file_holds_json_lines_of_every_state_change(tmp_path: Path) -> None:
    flow, f, d, b = build()
    path = tmp_path / "run.jsonl"
    state = flow.run(events=path)
    lines = path.read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    assert events == read_events(path)
    assert all(set(event) == FIELDS for event in events)
    assert all(event["flow"] == "events" for event in events)
    run_ids = {event["flow_run_id"] for event in events}
    assert len(run_ids) == 1
    for event in events:
        datetime.fromisoformat(event["time"])

    flow_events = [(e["old"], e["new"]) for e in events if e["task"] is None]
    assert flow_events == [("Pending", "Running"), ("Running", "Failed")]
    assert events[0]["task"] is None
    assert events[-1]["task"] is None

    def changes(t: Any) -> list[tuple[Any, ...]]:
        return [(e["try"], e["old"], e["new"]) for e in events if e["task"] == t.slug]

    assert changes(f) == [
        (1, "Pending", "Running"),
        (1, "Running", "Retrying"),
        (2, "Retrying", "Running"),
        (2, "Running", "Success"),
    ]
    assert changes(d) == [(1, "Pending", "Running"), (1, "Running", "Success")]
    assert changes(b) == [(1, "Pending", "Running"), (1, "Running", "Failed")]
    failed = next(e for e in events if e["task"] == b.slug and e["new"] == "Failed")
    assert "RuntimeError: no" in failed["message"]
    assert failed["task_name"] == "broken"
    assert state.is_failed()


def test_durations_are_set_on_final_states_only(tmp_path: Path) -> None:
    flow, f, _, _ = build()
    path = tmp_path / "run.jsonl"
    flow.run(events=path)
    events = read_events(path)
    for event in events:
        if event["task"] is None:
            continue
        final = event["new"] in {"Success", "Failed"}
        if final:
            assert isinstance(event["duration"], float)
            assert event["duration"] >= 0
        else:
            assert event["duration"] is None
    # the retried task's duration covers both tries
    retried = [e for e in events if e["task"] == f.slug]
    assert retried[-1]["duration"] is not None


def test_events_file_is_appended_run_after_run(tmp_path: Path) -> None:
    flow, *_ = build()
    path = tmp_path / "runs.jsonl"
    flow.run(events=str(path))
    first = len(read_events(path))
    flow.run(events=str(path))
    events = read_events(path)
    assert len(events) == 2 * first
    assert len({e["flow_run_id"] for e in events}) == 2


def test_events_callable_receives_each_event() -> None:
    received: list[dict[str, Any]] = []
    flow, f, d, b = build()
    flow.run(events=received.append)
    assert received
    assert all(set(event) == FIELDS for event in received)
    tasks = [e["task"] for e in received if e["task"] is not None]
    assert tasks.index(f.slug) < tasks.index(d.slug) < tasks.index(b.slug)


def test_events_for_tasks_decided_without_running() -> None:
    @task
    def skip() -> None:
        raise signals.SKIP("skip me")

    received: list[dict[str, Any]] = []
    with Flow("decided") as flow:
        bad = broken(1)
        after = double(bad)
        s = skip()
        double.copy(propagate_skip=True)(s)
    flow.run(events=received.append)
    after_events = [(e["old"], e["new"]) for e in received if e["task"] == after.slug]
    assert after_events == [("Pending", "TriggerFailed")]
    assert "trigger" in next(e["message"] for e in received if e["task"] == after.slug)
    skipped = [e["new"] for e in received if e["task"] == "double-2"]
    assert skipped == ["Skipped"]


def test_mapped_children_have_their_map_index() -> None:
    received: list[dict[str, Any]] = []
    with Flow("mapped") as flow:
        m = double.map([1, 2])
    flow.run(events=received.append)
    mine = [e for e in received if e["task"] == m.slug]
    indices = {e["map_index"] for e in mine}
    assert indices == {0, 1, None}
    parent = [e for e in mine if e["map_index"] is None]
    assert [e["new"] for e in parent] == ["Mapped"]


def test_waiting_run_records_waiting_states() -> None:
    @task
    def waits() -> None:
        raise signals.WAIT("later")

    received: list[dict[str, Any]] = []
    with Flow("waiting") as flow:
        w = waits()
    flow.run(events=received.append)
    assert [e["new"] for e in received if e["task"] == w.slug] == ["Running", "Waiting"]
    assert received[-1]["new"] == "Waiting"


def test_no_events_without_the_option(tmp_path: Path) -> None:
    flow, *_ = build()
    flow.run()
    assert list(tmp_path.iterdir()) == []


def test_flow_state_replaced_by_a_handler_is_what_is_recorded() -> None:
    from headwater.states import State, Success

    def soften(flow: Flow, old: State, new: State) -> State | None:
        return Success("accepted", new.result) if new.is_failed() else None

    received: list[dict[str, Any]] = []
    flow, *_ = build()
    softened = Flow("events", state_handlers=[soften])
    softened.update(flow)
    state = softened.run(events=received.append)
    assert state.is_successful()
    assert received[-1]["new"] == "Success"
    assert received[-1]["message"] == "accepted"


def test_read_events_leaves_out_a_last_line_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with Flow("f") as flow:
        double(1)
    flow.run(events=path)
    complete = read_events(path)
    with path.open("a", encoding="utf-8") as file:
        file.write('{"time": "2026-11-25T19:40:00+00:00", "flow": "f", "tas')
    assert read_events(path) == complete
    assert headwater.read_events is read_events  # the public name


def test_read_events_rejects_a_file_that_is_not_a_run_record(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text('{"new": "Success"}\nnot json at all\n{"new": "Running"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"notes.txt', line 2: not a run-record event"):
        read_events(path)
