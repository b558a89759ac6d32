"""ThreadExecutor, and how the runner schedules on a concurrent executor:
tasks start as soon as their own upstream tasks finish, maps of maps go
element by element, retries wait on a timeline, capacity is respected."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from _tasks import flaky, identity, map_index_of, nap, thread_name, where

from headwater import Flow, context, task
from headwater._runner import FlowRun
from headwater.executors import ThreadExecutor
from headwater.executors.threads import default_thread_workers


class Timeline:
    """Records ``(time, task slug, map index, new state)`` of every event."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.events: list[tuple[float, str, int | None, str]] = []

    def __call__(self, event: dict[str, Any]) -> None:
        if event["task"] is not None:
            moment = time.perf_counter() - self.started
            self.events.append((moment, event["task"], event["map_index"], event["new"]))

    def when(self, slug: str, new: str, map_index: int | None = None) -> float:
        for moment, task_slug, index, state in self.events:
            if (task_slug, index, state) == (slug, map_index, new):
                return moment
        raise AssertionError(f"no event {slug}[{map_index}] -> {new}: {self.events}")


def timed(run: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    outcome = run()
    return outcome, time.perf_counter() - started


def test_independent_tasks_run_concurrently() -> None:
    with Flow("naps") as flow:
        naps = [nap(0.3, i) for i in range(8)]
    state, elapsed = timed(lambda: flow.run(executor=ThreadExecutor(8)))
    assert [state.result[t].result for t in naps] == list(range(8))
    assert elapsed < 1.0, f"8 x 0.3 s on 8 threads took {elapsed:.2f} s"


def test_mapped_children_run_concurrently() -> None:
    with Flow("mapped-naps") as flow:
        naps = nap.map([0.3] * 8, list(range(8)))
    state, elapsed = timed(lambda: flow.run(executor=ThreadExecutor(8)))
    assert state.result[naps].result == list(range(8))
    assert elapsed < 1.0, f"a map over 8 x 0.3 s on 8 threads took {elapsed:.2f} s"


def test_no_more_tries_than_workers_run_at_once() -> None:
    with Flow("capacity") as flow:
        naps = [nap(0.15, i) for i in range(6)]
    timeline = Timeline()
    state, elapsed = timed(lambda: flow.run(executor=ThreadExecutor(2), events=timeline))
    assert [state.result[t].result for t in naps] == list(range(6))
    assert elapsed >= 0.45
    running = 0
    for _, _, _, new in sorted(timeline.events):
        running += 1 if new == "Running" else -1 if new == "Success" else 0
        assert running <= 2


def test_a_task_starts_when_its_own_upstream_finished() -> None:
    with Flow("not-by-level") as flow:
        slow = nap.copy(slug="slow")(0.6)
        quick = nap.copy(slug="quick")(0.05)
        after_quick = nap.copy(slug="after-quick")(0.05, upstream_tasks=[quick])
    timeline = Timeline()
    flow.run(executor=ThreadExecutor(4), events=timeline)
    assert timeline.when("after-quick", "Success") < timeline.when("slow", "Success")
    assert slow is not None and after_quick is not None


def test_map_of_a_map_goes_element_by_element() -> None:
    with Flow("element-wise") as flow:
        first = nap.copy(slug="first").map([0.05, 0.6], [1, 2])
        second = identity.copy(slug="second").map(first)
        reduced = identity.copy(slug="reduced")(second)
    timeline = Timeline()
    state = flow.run(executor=ThreadExecutor(4), events=timeline)
    assert state.result[reduced].result == [1, 2]
    assert timeline.when("second", "Success", 0) < timeline.when("first", "Success", 1)
    assert timeline.when("reduced", "Running") > timeline.when("second", "Success", 1)


def test_retries_wait_on_a_timeline_not_in_a_worker() -> None:
    with Flow("timeline") as flow:
        retried = flaky.copy(slug="retried", retry_delay=timedelta(seconds=0.4))(2)
        naps = [nap.copy(slug=f"nap{i}")(0.15) for i in range(2)]
    timeline = Timeline()
    state, elapsed = timed(lambda: flow.run(executor=ThreadExecutor(1), events=timeline))
    assert state.result[retried].result == 2
    assert len(naps) == 2
    assert timeline.when("nap1", "Success") < timeline.when("retried", "Success")
    assert elapsed < 0.75, f"the retry delay blocked the only worker ({elapsed:.2f} s)"


def test_context_is_isolated_per_task_run() -> None:
    @task
    def report(x: int) -> tuple[Any, ...]:
        time.sleep(0.01 * (x % 3))
        return x, context.map_index, context.task_slug, context.task_run_count

    with Flow("contexts") as flow:
        reports = report.copy(slug="report").map(list(range(24)))
        seen = where.copy(slug="where")()
        indices = map_index_of.map(list(range(5)))
    state = flow.run(executor=ThreadExecutor(8))
    assert state.result[reports].result == [(i, i, "report", 1) for i in range(24)]
    assert state.result[seen].result["task_slug"] == "where"
    assert state.result[indices].result == [(i, i) for i in range(5)]
    assert context.task_slug is None  # nothing leaked into this thread


def test_tries_run_in_pool_threads_when_others_could_run_meanwhile() -> None:
    with Flow("threads") as flow:
        names = [thread_name() for _ in range(3)]
    state = flow.run(executor=ThreadExecutor(2))
    assert all(state.result[name].result.startswith("headwater-task") for name in names)


def test_a_lone_try_runs_in_the_thread_that_runs_the_flow() -> None:
    """Nothing else ready, in flight or retrying: a pool thread would run it no
    sooner, so the loop runs it itself (a chain's steps), context and all."""
    with Flow("chain") as flow:
        first = thread_name()
        second = where(upstream_tasks=[first])
    state = flow.run(executor=ThreadExecutor(2))
    assert state.result[first].result == threading.current_thread().name
    assert state.result[second].result["task_slug"] == second.slug
    assert context.task_slug is None  # the try's context did not leak


def test_timeout_in_a_thread_ends_timed_out_on_time() -> None:
    with Flow("timeout") as flow:
        hung = nap.copy(timeout=0.2)(5)
    state, elapsed = timed(lambda: flow.run(executor=ThreadExecutor(2)))
    assert state.result[hung].is_failed()
    assert type(state.result[hung]).__name__ == "TimedOut"
    assert elapsed < 2


def test_default_workers_and_validation() -> None:
    assert ThreadExecutor().max_workers == default_thread_workers()
    assert 5 <= default_thread_workers() <= 32
    assert ThreadExecutor(3).max_workers == 3
    with pytest.raises(ValueError, match="at least 1"):
        ThreadExecutor(0)
    with pytest.raises(RuntimeError, match="not started"):
        ThreadExecutor(1).submit(pow, 2, 2)


def test_executor_is_reusable_and_nests() -> None:
    executor = ThreadExecutor(2)
    with Flow("twice") as flow:
        t = nap(0, "x")
    with executor:
        assert flow.run(executor=executor).result[t].result == "x"
        assert executor.submit(pow, 2, 3).result() == 8  # still open after the run
    assert flow.run(executor=executor).result[t].result == "x"
    with pytest.raises(RuntimeError, match="not started"):
        executor.submit(pow, 2, 2)


def test_ctrl_c_does_not_wait_for_running_threads() -> None:
    interrupt_after = 0.2

    @task
    def interrupter() -> None:
        import _thread

        time.sleep(interrupt_after)
        _thread.interrupt_main()

    with Flow("interrupted") as flow:
        interrupter()
        nap(3)
    started = time.perf_counter()
    with pytest.raises(KeyboardInterrupt) as raised:
        flow.run(executor=ThreadExecutor(2))
    assert time.perf_counter() - started < 2
    assert type(raised.value.flow_state).__name__ == "Failed"  # type: ignore[attr-defined]


# -- queueing ahead while nobody watches -------------------------------------------


def ahead_of(flow: Flow, executor: ThreadExecutor, events: Any = None) -> int:
    run = FlowRun(flow, flow._freeze(), {}, executor, None, None)
    run.events = events
    return run._ahead()


def test_tries_are_queued_ahead_only_while_nothing_observes_running(
    caplog: pytest.LogCaptureFixture,
) -> None:
    executor = ThreadExecutor(2)
    with Flow("ahead") as flow:
        [identity(i) for i in range(4)]
    assert ahead_of(flow, executor) == ThreadExecutor.queue_ahead > 1
    assert ahead_of(flow, executor, events=Timeline()) == 1  # a run record sees Running
    with caplog.at_level(logging.INFO, logger="headwater.runner"):
        assert ahead_of(flow, executor) == 1  # so does the log
    with flow:
        identity.copy(state_handlers=[lambda task, old, new: new])(9)
    assert ahead_of(flow, executor) == 1  # and so does a state handler


def test_queued_tries_still_run_at_most_max_workers_at_once() -> None:
    lock = threading.Lock()
    running: list[int] = [0, 0]  # now, most at once

    @task
    def counted(i: int) -> int:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        time.sleep(0.005)
        with lock:
            running[0] -= 1
        return i

    with Flow("queued") as flow:
        results = [counted(i) for i in range(40)]
    state = flow.run(executor=ThreadExecutor(2))
    assert [state.result[t].result for t in results] == list(range(40))
    assert running[1] == 2
