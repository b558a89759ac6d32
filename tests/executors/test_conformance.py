"""The conformance suite: representative flows give the same states and results
on every executor.

Each case builds its flows, runs them with ``run`` (the executor under test)
and checks what it expects. The test then replays the case on
``LocalExecutor`` and checks that every run gave the same summary (state
classes, messages, results; ``TimedOut`` messages may differ, since only
processes really stop a try).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from _tasks import (
    NO_DELAY,
    TINY_DELAY,
    CustomError,
    Multiply,
    add,
    approval,
    custom_trigger,
    divide,
    double,
    fail_on,
    fail_while_file_exists,
    flaky,
    forever,
    identity,
    inc,
    map_index_of,
    numbers,
    raise_custom,
    scale,
    signal,
    sleep_then,
    total,
    where,
)

import headwater
import headwater._cache
from headwater import Flow, Parameter, cache_validators, context, triggers, unmapped
from headwater.executors import Executor, LocalExecutor
from headwater.states import (
    Cached,
    Failed,
    Mapped,
    Pending,
    Skipped,
    State,
    Success,
    TimedOut,
    TriggerFailed,
    Waiting,
)
from headwater.stores import LocalStore, provenance

Run = Callable[..., State]
CASES: dict[str, Callable[[Run], None]] = {}


def case(fn: Callable[[Run], None]) -> Callable[[Run], None]:
    CASES[fn.__name__] = fn
    return fn


def results(state: State, *tasks: Any) -> list[Any]:
    return [state.result[t].result for t in tasks]


# -- data ----------------------------------------------------------------------


@case
def data_edges_and_constants(run: Run) -> None:
    with Flow("data") as flow:
        a = add(1, 2)
        b = add(a, y=10)
        c = add(a, b)
    state = run(flow)
    assert type(state) is Success
    assert results(state, a, b, c) == [3, 13, 16]


@case
def collections_of_tasks(run: Run) -> None:
    with Flow("collections") as flow:
        a = identity(1)
        b = identity(2)
        as_list = identity([a, b, 3])
        as_dict = identity({"a": a, "nested": {"b": [b]}})
        as_tuple = identity((a, (b, 4)))
        summed = total([a, b, add(a, b)])
    state = run(flow)
    assert results(state, as_list, as_dict, as_tuple, summed) == [
        [1, 2, 3],
        {"a": 1, "nested": {"b": [2]}},
        (1, (2, 4)),
        6,
    ]


@case
def parameters_and_context(run: Run) -> None:
    with Flow("params") as flow:
        x = Parameter("x", default=2)
        y = Parameter("y")
        s = add(x, y)
        seen = where(upstream_tasks=[s])
    state = run(flow, parameters={"y": 5})
    assert results(state, s) == [7]
    assert state.result[seen].result["parameters"] == {"x": 2, "y": 5}
    assert state.result[seen].result["flow_name"] == "params"
    with context(region="eu"):
        again = run(flow, parameters={"x": 1, "y": 1})
    assert results(again, s) == [2]
    assert again.result[seen].result["region"] == "eu"


@case
def state_only_edges_and_a_task_class(run: Run) -> None:
    with Flow("ordering") as flow:
        first = identity("first")
        second = Multiply()(3, by=4, upstream_tasks=[first])
        third = Multiply()(second)
    state = run(flow)
    assert results(state, second, third) == [12, 24]


@case
def operators(run: Run) -> None:
    with Flow("operators") as flow:
        a = identity([10, 20, 30])
        b = a[1] + 5
        c = (b * 2) // 3
        d = b > 20
    state = run(flow)
    assert results(state, b, c, d) == [25, 16, True]


@case
def big_result_through_a_chain(run: Run) -> None:
    with Flow("big") as flow:
        n = numbers(20_000)
        s = total(n)
    assert results(run(flow), s) == [sum(range(20_000))]


# -- failures --------------------------------------------------------------------


@case
def failure_keeps_exception_and_traceback(run: Run) -> None:
    with Flow("failure") as flow:
        d = divide(1, 0)
        after = inc(d)
        other = add(1, 1)
    state = run(flow)
    assert type(state) is Failed
    failed = state.result[d]
    assert type(failed) is Failed
    assert isinstance(failed.result, ZeroDivisionError)
    assert "ZeroDivisionError" in (failed.traceback or "")
    assert "divide" in (failed.traceback or "")
    assert "'divide-1' (_tasks.divide)" in (failed.message or "")
    assert "x=1, y=0" in (failed.message or "")
    assert type(state.result[after]) is TriggerFailed
    assert results(state, other) == [2]


@case
def custom_exception_class(run: Run) -> None:
    with Flow("custom") as flow:
        r = raise_custom("nope")
    failed = run(flow).result[r]
    assert type(failed.result) is CustomError
    assert str(failed.result) == "nope"


@case
def reference_tasks_decide_the_flow_state(run: Run) -> None:
    with Flow("reference") as flow:
        bad = divide(1, 0)
        good = add(1, 1)
    flow.set_reference_tasks([good])
    state = run(flow)
    assert type(state) is Success
    assert type(state.result[bad]) is Failed


# -- signals -------------------------------------------------------------------------


@case
def each_signal(run: Run) -> None:
    with Flow("signals") as flow:
        failed = signal("FAIL", result=1)
        succeeded = signal("SUCCESS", result=2)
        skipped = signal("SKIP")
        waiting = signal("WAIT")
        retried = signal.copy(retry_delay=TINY_DELAY)("RETRY")
        after_skip = inc.copy(name="after_skip")(1, upstream_tasks=[skipped])
    state = run(flow)
    assert type(state) is Failed
    assert type(state.result[failed]) is Failed
    assert state.result[failed].message == "asked to fail"
    assert type(state.result[succeeded]) is Success
    assert state.result[succeeded].result == 2
    assert type(state.result[skipped]) is Skipped
    assert type(state.result[waiting]) is Waiting
    assert state.result[retried].result == "RETRY on try 2"
    assert results(state, after_skip) == [2]


@case
def propagate_skip(run: Run) -> None:
    with Flow("skips") as flow:
        skipped = signal("SKIP")
        propagates = inc.copy(propagate_skip=True)(1, upstream_tasks=[skipped])
        chained = inc.copy(propagate_skip=True)(propagates)
        runs = inc(1, upstream_tasks=[skipped])
    state = run(flow)
    assert type(state.result[propagates]) is Skipped
    assert type(state.result[chained]) is Skipped
    assert results(state, runs) == [2]


# -- triggers --------------------------------------------------------------------------


@case
def each_trigger(run: Run) -> None:
    with Flow("triggers") as flow:
        ok = add(1, 1)
        bad = divide(1, 0)
        all_failed = identity.copy(trigger=triggers.all_failed)("af", upstream_tasks=[bad])
        not_all_failed = identity.copy(trigger=triggers.all_failed)("x", upstream_tasks=[ok])
        any_ok = identity.copy(trigger=triggers.any_successful)("as", upstream_tasks=[ok, bad])
        any_failed = identity.copy(trigger=triggers.any_failed)("anf", upstream_tasks=[ok, bad])
        finished = identity.copy(trigger=triggers.all_finished)("fin", upstream_tasks=[ok, bad])
        custom = identity.copy(trigger=custom_trigger)("c", upstream_tasks=[ok, add(2, 2)])
        refused = identity.copy(trigger=custom_trigger)("r", upstream_tasks=[ok, bad])
    state = run(flow)
    assert results(state, all_failed, any_ok, any_failed, finished, custom) == [
        "af",
        "as",
        "anf",
        "fin",
        "c",
    ]
    assert type(state.result[not_all_failed]) is TriggerFailed
    assert type(state.result[refused]) is TriggerFailed
    assert "custom_trigger" in (state.result[refused].message or "")


@case
def manual_only_waits_then_runs_on_resume(run: Run) -> None:
    with Flow("manual") as flow:
        a = add(1, 1)
        gate = identity.copy(trigger=triggers.manual_only)(a)
        after = inc(gate)
    first = run(flow)
    assert type(first) is Waiting
    assert not first.result[gate].is_finished()
    second = run(flow, task_states=first.result)
    assert results(second, after) == [3]


# -- retries and timeouts -----------------------------------------------------------------


@case
def retries_succeed_and_exhaust(run: Run) -> None:
    with Flow("retries") as flow:
        second_try = flaky(2)
        fourth_try = flaky(4)
        never = flaky.copy(max_retries=1)(9)
    state = run(flow)
    assert results(state, second_try, fourth_try) == [2, 4]
    assert type(state.result[never]) is Failed
    assert "try 2 failed" in str(state.result[never].result)


@case
def downstream_waits_for_a_retried_task(run: Run) -> None:
    with Flow("retry-chain") as flow:
        f = flaky(3)
        after = add(f, 10)
    assert results(run(flow), after) == [13]


@case
def timeout_ends_timed_out(run: Run) -> None:
    with Flow("timeouts") as flow:
        hung = forever.copy(timeout=0.5)()
        after = inc.copy(trigger=triggers.always_run)(1, upstream_tasks=[hung])
        fast = add.copy(timeout=5)(1, 2)
    state = run(flow)
    assert type(state.result[hung]) is TimedOut
    assert "timeout of 0.5s" in (state.result[hung].message or "")
    assert results(state, after, fast) == [2, 3]


@case
def timed_out_try_is_retried(run: Run) -> None:
    with Flow("timeout-retry") as flow:
        t = sleep_then.copy(timeout=0.3, max_retries=1, retry_delay=NO_DELAY)(30, "second")
    assert results(run(flow), t) == ["second"]


# -- caching ------------------------------------------------------------------------------------


@case
def cache_reuses_results(run: Run) -> None:
    with Flow("cache") as flow:
        x = Parameter("x", default=1)
        c = inc.copy(cache_for=timedelta(hours=1), cache_validator=cache_validators.all_inputs)(x)
        d = double(c)
    first = run(flow)
    second = run(flow)
    other = run(flow, parameters={"x": 5})
    assert type(first.result[c]) is Success
    assert type(second.result[c]) is Cached
    assert results(second, c, d) == [2, 4]
    assert type(other.result[c]) is Success
    assert results(other, d) == [12]


@case
def cache_of_mapped_children(run: Run) -> None:
    with Flow("cache-map") as flow:
        m = inc.copy(cache_for=timedelta(hours=1)).map(numbers(3))
    run(flow)
    state = run(flow)
    assert [type(child) for child in state.result[m].map_states] == [Cached] * 3
    assert results(state, m) == [[1, 2, 3]]


# -- result stores ------------------------------------------------------------------------------


@contextlib.contextmanager
def _bug_marker() -> Iterator[str]:
    """An empty file that makes ``fail_while_file_exists`` fail while it exists.

    The same path on every replay: it is an input, so failure messages show it.
    """
    path = os.path.join(tempfile.gettempdir(), f"headwater-conformance-bug-{os.getpid()}")
    open(path, "w").close()  # noqa: SIM115 - an empty marker file
    try:
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


@case
def store_checkpoints_and_resume_reruns_only_what_failed(run: Run) -> None:
    with tempfile.TemporaryDirectory() as store_dir, _bug_marker() as flag:
        with Flow("etl") as flow:
            rows = numbers(3)
            scaled = fail_while_file_exists.map(rows, unmapped(flag))
            summed = total(scaled)
        first = run(flow, store=LocalStore(store_dir))
        assert type(first) is Failed
        assert type(first.result[scaled].map_states[1]) is Failed
        os.remove(flag)  # the bug is fixed
        second = run(flow, store=LocalStore(store_dir), resume="latest")
    assert type(second) is Success
    assert results(second, scaled, summed) == [[0, 10, 20], 30]
    assert provenance(second.result[rows]) == "restored"
    assert provenance(second.result[summed]) == "ran"


@case
def store_keeps_cached_results_across_processes(run: Run) -> None:
    with tempfile.TemporaryDirectory() as store_dir:
        with Flow("cache-in-store") as flow:
            c = inc.copy(cache_for=timedelta(hours=1))(1)
            d = double(c)
        run(flow, store=LocalStore(store_dir))
        headwater.clear_cache()  # as if this were a new process
        second = run(flow, store=LocalStore(store_dir))
    assert type(second.result[c]) is Cached
    assert results(second, c, d) == [2, 4]


# -- WAIT and resume --------------------------------------------------------------------------


@case
def wait_and_resume(run: Run) -> None:
    with Flow("approve") as flow:
        b = add(0, 1)
        a = approval(b)
        c = scale(a, 10)
        other = add(2, 2)
    first = run(flow)
    assert type(first) is Waiting
    assert type(first.result[a]) is Waiting
    assert type(first.result[c]) is Pending
    assert results(first, other) == [4]
    second = run(flow, task_states=first.result)
    assert type(second) is Success
    assert results(second, c) == [20]


# -- mapping ------------------------------------------------------------------------------------


@case
def map_over_constants_and_results(run: Run) -> None:
    with Flow("map") as flow:
        over_list = inc.map([1, 2, 3])
        over_result = double.map(numbers(4))
        with_unmapped = scale.map(numbers(3), factor=unmapped(10))
        reduced = total(over_result)
        indices = map_index_of.map([7, 8])
    state = run(flow)
    assert type(state.result[over_list]) is Mapped
    assert results(state, over_list, over_result, with_unmapped, reduced, indices) == [
        [2, 3, 4],
        [0, 2, 4, 6],
        [0, 10, 20],
        12,
        [(7, 0), (8, 1)],
    ]


@case
def mapped_of_mapped(run: Run) -> None:
    with Flow("map-map") as flow:
        first = inc.map(numbers(5))
        second = double.map(first)
        third = scale.map(second, factor=first)
        reduced = total(third)
    state = run(flow)
    assert results(state, second, third, reduced) == [
        [2, 4, 6, 8, 10],
        [2, 8, 18, 32, 50],
        110,
    ]


@case
def empty_map(run: Run) -> None:
    with Flow("empty") as flow:
        m = inc.map(numbers(0))
        mm = double.map(m)
        reduced = total(mm)
        failed = divide(1, 0)
        gated = double.map(m, upstream_tasks=[failed])
    state = run(flow)
    assert type(state.result[m]) is Mapped
    assert results(state, m, mm, reduced) == [[], [], 0]
    # no child to ask the trigger: the map asks it once, as a task would
    assert type(state.result[gated]) is TriggerFailed


@case
def unequal_lengths_and_not_iterable(run: Run) -> None:
    with Flow("bad-maps") as flow:
        unequal = add.map(numbers(2), numbers(3))
        not_iterable = inc.map(add(1, 2))
    state = run(flow)
    assert type(state.result[unequal]) is Failed
    assert "same length" in (state.result[unequal].message or "")
    assert type(state.result[not_iterable]) is Failed
    assert "gave a int, which is not iterable" in (state.result[not_iterable].message or "")


@case
def failing_child(run: Run) -> None:
    with Flow("failing-child") as flow:
        checked = fail_on.map(numbers(4), bad=unmapped(2))
        following = inc.map(checked)
        reduced = total(following)
        tolerant = identity.copy(trigger=triggers.all_finished)("ran", upstream_tasks=[checked])
    state = run(flow)
    children = state.result[checked].map_states
    assert [type(child) for child in children] == [Success, Success, Failed, Success]
    assert isinstance(children[2].result, CustomError)
    assert [type(c) for c in state.result[following].map_states] == [
        Success,
        Success,
        TriggerFailed,
        Success,
    ]
    assert type(state.result[reduced]) is TriggerFailed
    assert results(state, tolerant) == ["ran"]
    assert type(state) is Failed


@case
def mapped_children_retry_and_time_out(run: Run) -> None:
    with Flow("map-retries") as flow:
        retried = flaky.map([1, 2, 3])
        timed = sleep_then.copy(timeout=0.3).map([0, 30], ["fast", "slow"])
    state = run(flow)
    assert results(state, retried) == [[1, 2, 3]]
    assert [type(c) for c in state.result[timed].map_states] == [Success, TimedOut]


@case
def context_of_tries(run: Run) -> None:
    with Flow("ctx") as flow:
        seen = where.copy(name="where", slug="seen", tags={"etl"})()
        contexts = map_index_of.map(numbers(3))
    state = run(flow)
    got = state.result[seen].result
    assert (got["flow_name"], got["task_name"], got["task_slug"]) == ("ctx", "where", "seen")
    assert (got["task_tags"], got["map_index"], got["task_run_count"]) == (["etl"], None, 1)
    assert results(state, contexts) == [[(0, 0), (1, 1), (2, 2)]]


@case
def skip_inside_a_map(run: Run) -> None:
    with Flow("map-skip") as flow:
        kinds = identity(["SKIP", "OK", "FAIL"])
        signalled = signal.map(kinds)
        after = identity.copy(propagate_skip=True).map(signalled)
    state = run(flow)
    assert [type(c) for c in state.result[signalled].map_states] == [Skipped, Success, Failed]
    assert [type(c) for c in state.result[after].map_states] == [
        Skipped,
        Success,
        TriggerFailed,
    ]


@case
def seeded_states_are_not_rerun(run: Run) -> None:
    with Flow("seeded") as flow:
        a = add(1, 1)
        b = add(a, 1)
    state = run(flow, task_states={a: Success(result=40)})
    assert results(state, a, b) == [40, 41]


@case
def state_handlers_run_in_the_runner(run: Run) -> None:
    seen: list[str] = []
    lock = threading.Lock()  # handlers run in the runner: nothing is pickled

    def handler(task: Any, old: State, new: State) -> State | None:
        with lock:
            seen.append(type(new).__name__)
        if isinstance(new, Failed):
            return Success("rescued", result=-1)
        return None

    with Flow("handlers") as flow:
        d = divide.copy(state_handlers=[handler])(1, 0)
        after = inc(d)
    state = run(flow)
    assert results(state, d, after) == [-1, 0]
    assert seen == ["Running", "Failed"]


CASE_NAMES = sorted(CASES)
_RUN_ID = re.compile(r"\b[0-9a-f]{32}\b")


def _masked(message: str | None) -> str | None:
    return None if message is None else _RUN_ID.sub("<run id>", message)


def summary(state: State) -> Any:
    """What must be the same on every executor (run ids, new on every run, are masked)."""
    if isinstance(state, Mapped):
        return ("Mapped", _masked(state.message), [summary(child) for child in state.map_states])
    if isinstance(state, TimedOut):
        return ("TimedOut",)
    result = state.result
    if isinstance(result, dict) and result and isinstance(next(iter(result.values())), State):
        tasks = {t.slug: summary(s) for t, s in result.items()}
        return (type(state).__name__, _masked(state.message), tasks)
    if isinstance(result, BaseException):
        result = (type(result).__name__, str(result))
    return (type(state).__name__, _masked(state.message), result)


def _replay(name: str, executor: Executor) -> list[Any]:
    summaries: list[Any] = []

    def run(flow: Flow, **options: Any) -> State:
        state = flow.run(executor=executor, **options)
        summaries.append(summary(state))
        return state

    CASES[name](run)
    return summaries


@pytest.mark.parametrize("name", CASE_NAMES)
def test_conformance(name: str, executor: Executor) -> None:
    on_executor = _replay(name, executor)
    if isinstance(executor, LocalExecutor):
        return
    headwater._cache.default_cache_store.clear()
    assert on_executor == _replay(name, LocalExecutor())


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 25
