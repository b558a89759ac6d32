"""DaskExecutor: results stay in the cluster, concurrency, faults, connecting
to a running scheduler."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from _clusters import start_dask
from _tasks import (
    exit_process,
    identity,
    inc,
    nap,
    numbers,
    signal,
    total,
    unpicklable_result,
)

from headwater import Flow, task
from headwater.executors import DaskExecutor
from headwater.executors.dask import RemoteResult
from headwater.states import Failed, State, Success, TimedOut

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dask() -> Iterator[DaskExecutor]:
    """Two worker processes with four threads each; a worker that dies is not
    given the task again by Dask (headwater's retries decide)."""
    pytest.importorskip("distributed")  # loads its config defaults first
    import dask.config

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        executor = start_dask(n_workers=2, processes=True, threads_per_worker=4)
    assert isinstance(executor, DaskExecutor)
    yield executor
    executor.shutdown()


def test_max_workers_is_the_cluster_thread_count(dask: DaskExecutor) -> None:
    assert dask.max_workers == 8
    assert dask.submit_ahead > 1  # Dask queues a few more, to hide round trips


def test_independent_tasks_run_concurrently(dask: DaskExecutor) -> None:
    with Flow("naps") as flow:
        naps = [nap(0.3, i) for i in range(8)]
    started = time.perf_counter()
    state = flow.run(executor=dask)
    elapsed = time.perf_counter() - started
    assert [state.result[t].result for t in naps] == list(range(8))
    assert elapsed < 1.5, f"8 x 0.3 s on 8 Dask threads took {elapsed:.2f} s"


def test_mapped_children_run_concurrently(dask: DaskExecutor) -> None:
    with Flow("mapped-naps") as flow:
        naps = nap.map([0.3] * 8, list(range(8)))
    started = time.perf_counter()
    state = flow.run(executor=dask)
    elapsed = time.perf_counter() - started
    assert state.result[naps].result == list(range(8))
    assert elapsed < 1.5, f"a map over 8 x 0.3 s on 8 Dask threads took {elapsed:.2f} s"


def test_results_stay_in_the_cluster_until_the_end(dask: DaskExecutor) -> None:
    seen: list[Any] = []

    def record(task: Any, old: State, new: State) -> None:
        if isinstance(new, Success):
            seen.append(new.result)

    with Flow("remote") as flow:
        n = numbers.copy(state_handlers=[record])(300)
        m = inc.copy(state_handlers=[record]).map(n)
        s = total.copy(state_handlers=[record])(m)
    state = flow.run(executor=dask)
    assert state.result[s].result == sum(range(1, 301))
    assert state.result[m].result == list(range(1, 301))
    assert state.result[n].result == list(range(300))
    assert all(child.result == i + 1 for i, child in enumerate(state.result[m].map_states))
    remote = [value for value in seen if isinstance(value, RemoteResult)]
    assert len(remote) == 302  # the runner held handles, not values
    assert "kept in the Dask cluster" in repr(remote[0])


def test_a_try_is_one_dask_task(dask: DaskExecutor) -> None:
    import distributed

    with Flow("one-task-per-try") as flow:
        x = inc(0)
        for _ in range(4):
            x = inc(x)
        s = total([inc(i) for i in range(5)])
    with distributed.get_task_stream(dask.client) as stream:
        state = flow.run(executor=dask)
    assert state.result[x].result == 5
    assert state.result[s].result == 15
    assert len(stream.data) == 12  # 11 tasks and the list, no summaries or fetches


def test_a_success_with_a_message_keeps_its_result_in_the_cluster(dask: DaskExecutor) -> None:
    seen: list[State] = []

    def record(task: Any, old: State, new: State) -> None:
        if isinstance(new, Success):
            seen.append(new)

    with Flow("kept") as flow:
        told = signal.copy(state_handlers=[record])("SUCCESS", result=[1, 2])
        after = total(told)
    state = flow.run(executor=dask)
    assert type(state.result[told]) is Success
    assert state.result[told].message == "asked to succeed"
    assert state.result[told].result == [1, 2]
    assert state.result[after].result == 3
    assert [type(new.result) for new in seen] == [RemoteResult]
    assert seen[0].message == "asked to succeed"


def test_unpicklable_input_fails_only_its_task_by_name(dask: DaskExecutor) -> None:
    with Flow("unpicklable-input") as flow:
        good = [inc(i) for i in range(3)]  # sent to Dask together with the bad one
        bad = identity(threading.Lock())
    state = flow.run(executor=dask)
    message = state.result[bad].message or ""
    assert type(state.result[bad]) is Failed
    assert "'identity-1'" in message
    assert "input 'value' (lock" in message
    assert [state.result[t].result for t in good] == [1, 2, 3]


def test_mapping_over_a_remote_result_fetches_only_its_length(dask: DaskExecutor) -> None:
    future = dask.client.submit(lambda: Success(result=list(range(5))), pure=False)
    elements = dask.as_list(RemoteResult(future))
    assert [element.index for element in elements] == list(range(5))
    assert dask.fetch({"x": elements[3], "xs": elements[:2]}) == {"x": 3, "xs": [0, 1]}
    not_iterable = dask.client.submit(lambda: Success(result=3), pure=False)
    with pytest.raises(TypeError) as raised:
        dask.as_list(RemoteResult(not_iterable))
    assert getattr(raised.value, "type_name", None) == "int"


def test_closures_and_lambdas_run_on_workers(dask: DaskExecutor) -> None:
    offset = 100

    @task
    def shifted(x: int) -> int:
        return x + offset

    with Flow("closures") as flow:
        s = shifted.map([1, 2])
        tripled = task(lambda x: x * 3)(s[1])
    state = flow.run(executor=dask)
    assert state.result[s].result == [101, 102]
    assert state.result[tripled].result == 306


def test_unpicklable_result_fails_the_task_by_name(dask: DaskExecutor) -> None:
    with Flow("unpicklable") as flow:
        bad = unpicklable_result()
        after = inc(1)
    state = flow.run(executor=dask)
    assert type(state.result[bad]) is Failed
    assert "'unpicklable_result-1' (_tasks.unpicklable_result)" in (state.result[bad].message or "")
    assert state.result[after].result == 2


def test_worker_that_dies_fails_the_task_and_the_run_returns(dask: DaskExecutor) -> None:
    with Flow("exit") as flow:
        dead = exit_process()
        other = inc(1)
    state = flow.run(executor=dask)
    assert type(state.result[dead]) is Failed
    assert "'exit_process-1' (_tasks.exit_process)" in (state.result[dead].message or "")
    assert "could not run on the Dask cluster" in (state.result[dead].message or "")
    assert state.result[other].result == 2
    _wait_for_workers(dask, 2)


def test_worker_that_dies_is_retried(dask: DaskExecutor) -> None:
    with Flow("exit-retry") as flow:
        retried = exit_process.copy(max_retries=1, retry_delay=0)()
    state = flow.run(executor=dask)
    assert type(state.result[retried]) is Success
    _wait_for_workers(dask, 2)


def test_client_gives_up_on_a_try_that_never_answers(dask: DaskExecutor) -> None:
    def ignores_its_timeout(task: Any, inputs: Any, context: Any, timeout: Any) -> State:
        time.sleep(3)
        return Success(result="late")

    proxy = dask.submit_try(ignores_its_timeout, identity, {}, {}, 0.2)
    started = time.perf_counter()
    done: set[Any] = set()
    while not done:
        done = dask.wait([proxy], None)
    assert time.perf_counter() - started < 2.5
    state = proxy.result()
    assert type(state) is TimedOut
    assert "did not answer" in (state.message or "")


def test_connects_to_a_running_scheduler_and_leaves_it_running() -> None:
    import distributed

    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        dashboard_address=":0",
    ) as cluster:
        executor = DaskExecutor(address=cluster.scheduler_address)

        @task
        def shout(word: str) -> str:
            return word.upper()

        with Flow("remote-cluster") as flow:
            s = shout.map(["a", "b"])
        assert flow.run(executor=executor).result[s].result == ["A", "B"]
        assert executor.client is None
        with distributed.Client(cluster, set_as_default=False) as client:
            assert len(client.nthreads()) == 1  # still up


def test_address_and_cluster_options_are_exclusive() -> None:
    with pytest.raises(ValueError, match="either address"):
        DaskExecutor(address="tcp://nowhere:8786", n_workers=2)


def test_missing_distributed_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'headwater\[dask\]'"):
        DaskExecutor().start()


def _wait_for_workers(dask: DaskExecutor, count: int) -> None:
    """Let the nanny restart a killed worker before the next test."""
    deadline = time.monotonic() + 30
    while len(dask.client.nthreads()) < count and time.monotonic() < deadline:
        time.sleep(0.1)
