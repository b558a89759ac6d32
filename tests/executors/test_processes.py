"""ProcessExecutor: real parallelism, faults, pickling, and the pool's lifecycle."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _tasks import (
    NO_DELAY,
    die_at_start,
    exit_process,
    forever,
    identity,
    inc,
    nap,
    pid,
    pid_then_forever,
    segfault,
    unpicklable_result,
)

import headwater.executors._procpool as procpool
from headwater import Flow, context, task, triggers
from headwater.executors import ProcessExecutor
from headwater.executors._pickling import dumps
from headwater.executors._procpool import Job, ProcessPool
from headwater.states import Failed, Success, TimedOut

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def processes() -> Iterator[ProcessExecutor]:
    with ProcessExecutor(4) as executor:
        yield executor


def _is_alive(process_id: int) -> bool:
    try:
        os.kill(process_id, 0)
    except ProcessLookupError:
        return False
    return True


# -- concurrency ----------------------------------------------------------------


def test_independent_tasks_run_in_parallel(processes: ProcessExecutor) -> None:
    with Flow("naps") as flow:
        naps = [nap(0.3, i) for i in range(8)]
    started = time.perf_counter()
    state = flow.run(executor=processes)
    elapsed = time.perf_counter() - started
    assert [state.result[t].result for t in naps] == list(range(8))
    assert elapsed < 1.5, f"8 x 0.3 s on 4 processes took {elapsed:.2f} s"


def test_mapped_children_run_in_parallel(processes: ProcessExecutor) -> None:
    with Flow("mapped-naps") as flow:
        naps = nap.map([0.3] * 8, list(range(8)))
    started = time.perf_counter()
    state = flow.run(executor=processes)
    elapsed = time.perf_counter() - started
    assert state.result[naps].result == list(range(8))
    assert elapsed < 1.5, f"a map over 8 x 0.3 s on 4 processes took {elapsed:.2f} s"


def test_tasks_run_in_several_worker_processes(processes: ProcessExecutor) -> None:
    with Flow("pids") as flow:
        pids = [pid() for _ in range(8)]
    state = flow.run(executor=processes)
    seen = {state.result[t].result for t in pids}
    assert os.getpid() not in seen
    assert seen <= set(processes.pids)


# -- faults ------------------------------------------------------------------------


def test_worker_that_exits_fails_its_task_and_the_run_returns(
    processes: ProcessExecutor,
) -> None:
    with Flow("exit") as flow:
        dead = exit_process(3)
        other = inc(1)
    state = flow.run(executor=processes)
    failed = state.result[dead]
    assert type(failed) is Failed
    assert "'exit_process-1' (_tasks.exit_process)" in (failed.message or "")
    assert "worker process" in (failed.message or "")
    assert "died while running it (exit code 3)" in (failed.message or "")
    assert state.result[other].result == 2
    assert len(processes.pids) == 4


def test_worker_that_exits_is_retried(processes: ProcessExecutor) -> None:
    with Flow("exit-retry") as flow:
        retried = exit_process.copy(max_retries=1, retry_delay=NO_DELAY)()
    state = flow.run(executor=processes)
    assert type(state.result[retried]) is Success


def test_segfault_fails_the_task_with_the_signal(processes: ProcessExecutor) -> None:
    with Flow("segfault") as flow:
        crash = segfault()
    state = flow.run(executor=processes)
    assert type(state.result[crash]) is Failed
    assert "SIGSEGV" in (state.result[crash].message or "")


def test_timed_out_worker_is_really_stopped(processes: ProcessExecutor, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    with Flow("hang") as flow:
        hung = pid_then_forever.copy(timeout=0.5)()
    started = time.perf_counter()
    with context(pid_file=str(pid_file)):
        state = flow.run(executor=processes)
    assert time.perf_counter() - started < 5
    timed_out = state.result[hung]
    assert type(timed_out) is TimedOut
    assert "stopped and replaced" in (timed_out.message or "")
    worker = int(pid_file.read_text())
    assert not _is_alive(worker)
    assert worker not in processes.pids
    assert len(processes.pids) == 4


def test_unpicklable_result_fails_the_task_by_name(processes: ProcessExecutor) -> None:
    with Flow("unpicklable") as flow:
        bad = unpicklable_result()
        after = inc(1)
    state = flow.run(executor=processes)
    failed = state.result[bad]
    assert type(failed) is Failed
    assert "'unpicklable_result-1' (_tasks.unpicklable_result)" in (failed.message or "")
    assert "cannot be pickled" in (failed.message or "")
    assert state.result[after].result == 2


def test_unpicklable_input_fails_the_task_by_name(processes: ProcessExecutor) -> None:
    with Flow("unpicklable-input") as flow:
        bad = identity(threading.Lock())
    state = flow.run(executor=processes)
    message = state.result[bad].message or ""
    assert type(state.result[bad]) is Failed
    assert "'identity-1'" in message
    assert "input 'value' (lock" in message


# -- cloudpickle: closures, lambdas, __main__ -------------------------------------------


def test_closures_and_lambdas_run_in_workers(processes: ProcessExecutor) -> None:
    offset = 100

    @task
    def shifted(x: int) -> int:
        return x + offset

    lambda_task = task(lambda x: x * 3)

    @task
    def make_adder(n: int) -> Any:
        return lambda x: x + n

    @task
    def apply(fn: Any, x: int) -> int:
        return int(fn(x))

    with Flow("closures") as flow:
        s = shifted.map([1, 2])
        tripled = lambda_task(5)
        applied = apply(make_adder(7), 1)
    state = flow.run(executor=processes)
    assert state.result[s].result == [101, 102]
    assert state.result[tripled].result == 15
    assert state.result[applied].result == 8


def test_without_cloudpickle_closures_fail_clearly_and_importable_tasks_run(
    processes: ProcessExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    import headwater.executors._pickling as pickling

    monkeypatch.setattr(pickling, "_cloudpickle", None)
    monkeypatch.setattr(pickling, "PICKLER", "pickle")
    offset = 1

    @task
    def local(x: int) -> int:
        return x + offset

    with Flow("plain-pickle") as flow:
        imported = inc.map([1, 2])
        closure = local(1)
    state = flow.run(executor=processes)
    assert state.result[imported].result == [2, 3]
    message = state.result[closure].message or ""
    assert type(state.result[closure]) is Failed
    assert "task 'local-1'" in message
    assert "cannot be pickled with pickle" in message
    assert "pip install 'headwater[processes]'" in message


def test_tasks_defined_in_main_script(tmp_path: Path) -> None:
    script = tmp_path / "flow_script.py"
    script.write_text(
        textwrap.dedent(
            """
            from headwater import Flow, task
            from headwater.executors import ProcessExecutor

            FACTOR = 3

            @task
            def triple(x):
                return x * FACTOR

            if __name__ == "__main__":
                with Flow("main") as flow:
                    t = triple.map([1, 2, 3])
                    last = task(lambda xs: sum(xs))(t)
                state = flow.run(executor=ProcessExecutor(2))
                print(state.result[t].result, state.result[last].result)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[3, 6, 9] 18"


def test_ctrl_c_stops_the_run_and_its_workers(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = tmp_path / "interrupted.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(Path(__file__).parent)!r})
            from _tasks import pid_then_forever
            from headwater import Flow, context
            from headwater.executors import ProcessExecutor

            if __name__ == "__main__":
                with Flow("interrupted") as flow:
                    pid_then_forever()
                try:
                    with context(pid_file={str(pid_file)!r}):
                        flow.run(executor=ProcessExecutor(1))
                except KeyboardInterrupt as interrupt:
                    print("interrupted", type(interrupt.flow_state).__name__)
            """
        )
    )
    process = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the task never started"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert out.strip() == "interrupted Failed", err
    worker = int(pid_file.read_text())
    assert not _is_alive(worker)


# -- lifecycle ------------------------------------------------------------------------


def test_start_and_shutdown_nest_and_release_the_workers() -> None:
    executor = ProcessExecutor(1, mp_context="spawn")
    with executor:
        first = list(executor.pids)
        with Flow("reuse") as flow:
            p = pid()
        assert flow.run(executor=executor).result[p].result == first[0]
        assert executor.pids == first  # the run's shutdown() did not stop the pool
    assert executor.pids == []
    assert all(not _is_alive(worker) for worker in first if worker is not None)


def test_a_run_without_context_manager_starts_and_stops_the_pool() -> None:
    executor = ProcessExecutor(1)
    with Flow("once") as flow:
        p = pid()
    state = flow.run(executor=executor)
    assert state.result[p].result != os.getpid()
    assert executor.pids == []


def test_cancelling_a_running_job_stops_its_worker() -> None:
    pool = ProcessPool(1, multiprocessing.get_context("forkserver"))
    try:
        before = pool.pids[0]
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        pool.submit(Job(future, dumps((time.sleep, (60,))), "sleep"))
        time.sleep(0.3)
        assert future.cancel()
        deadline = time.monotonic() + 5
        while pool.pids[0] == before and time.monotonic() < deadline:
            time.sleep(0.02)
        assert pool.pids[0] != before
        assert before is not None and not _is_alive(before)
    finally:
        pool.close(wait=False)


def test_workers_that_cannot_start_break_the_pool_instead_of_hanging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(procpool, "worker_main", die_at_start)
    pool = ProcessPool(1, multiprocessing.get_context("forkserver"))
    try:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        pool.submit(Job(future, b"", "nothing"))
        with pytest.raises(RuntimeError, match=r"died before .* ready \(last: exit code 7\)"):
            future.result(timeout=30)
        with pytest.raises(RuntimeError, match="the process pool broke"):
            pool.submit(Job(concurrent.futures.Future(), b"", "later"))
    finally:
        pool.close(wait=False)


def test_a_broken_pool_fails_tries_instead_of_raising(monkeypatch: pytest.MonkeyPatch) -> None:
    with Flow("broken") as flow:
        crash = exit_process()
        later = inc.copy(trigger=triggers.always_run)(1, upstream_tasks=[crash])
    with ProcessExecutor(1) as executor:
        monkeypatch.setattr(procpool, "worker_main", die_at_start)  # replacements die
        state = flow.run(executor=executor)
    assert type(state.result[crash]) is Failed
    assert "died while running it" in (state.result[crash].message or "")
    assert type(state.result[later]) is Failed
    assert "the process pool broke" in (state.result[later].message or "")


def test_submit_runs_plain_calls_and_reraises_their_errors(processes: ProcessExecutor) -> None:
    assert processes.submit(pow, 2, 10).result(timeout=10) == 1024
    with pytest.raises(ZeroDivisionError):
        processes.submit(divmod, 1, 0).result(timeout=10)


def test_not_started_executor_says_so() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        ProcessExecutor(1).submit(pow, 2, 2)


def test_invalid_worker_count() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ProcessExecutor(0)


def test_many_timeouts_in_a_row_keep_the_pool_whole(processes: ProcessExecutor) -> None:
    with Flow("timeouts") as flow:
        hung = [forever.copy(timeout=0.2)() for _ in range(6)]
        after = inc(1, upstream_tasks=[])
    state = flow.run(executor=processes)
    assert all(type(state.result[t]) is TimedOut for t in hung)
    assert state.result[after].result == 2
    assert len(processes.pids) == 4
