"""ThreadExecutor's own pool and futures: they behave as ``concurrent.futures``
ones do (results, exceptions, cancelling, waiting, callbacks, shutting down),
and ``wait`` returns every finished future and sleeps until one is."""

from __future__ import annotations

import concurrent.futures
import gc
import threading
import time
import weakref
from typing import Any

import pytest

from headwater.executors import ThreadExecutor


def blocked_worker(executor: ThreadExecutor) -> tuple[threading.Event, Any]:
    """Occupy one worker until the returned event is set."""
    release = threading.Event()
    future = executor.submit(release.wait, 10)
    return release, future


def test_futures_are_concurrent_futures() -> None:
    with ThreadExecutor(2) as executor:
        future = executor.submit(pow, 2, 10)
        assert isinstance(future, concurrent.futures.Future)
        assert future.result(timeout=5) == 1024
        assert future.done() and not future.running() and not future.cancelled()
        assert future.exception() is None


def test_an_exception_reaches_the_caller_and_the_worker_goes_on() -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt  # BaseException too, as ThreadPoolExecutor

    with ThreadExecutor(1) as executor:
        failing = executor.submit(int, "x")
        with pytest.raises(ValueError, match="invalid literal"):
            failing.result(timeout=5)
        assert isinstance(failing.exception(), ValueError)
        with pytest.raises(KeyboardInterrupt):
            executor.submit(interrupt).result(timeout=5)
        assert executor.submit(pow, 3, 2).result(timeout=5) == 9


def test_result_times_out_then_arrives() -> None:
    with ThreadExecutor(1) as executor:
        release, future = blocked_worker(executor)
        assert future.running() or not future.done()
        with pytest.raises(TimeoutError):
            future.result(timeout=0.05)
        with pytest.raises(TimeoutError):
            future.exception(timeout=0)
        release.set()
        assert future.result(timeout=5) is True


def test_a_queued_call_can_be_cancelled_a_running_one_cannot() -> None:
    ran: list[int] = []
    with ThreadExecutor(1) as executor:
        release, running = blocked_worker(executor)
        queued = executor.submit(ran.append, 1)
        assert queued.cancel() and queued.cancel()
        assert queued.cancelled() and queued.done()
        with pytest.raises(concurrent.futures.CancelledError):
            queued.result()
        time.sleep(0.05)
        assert not running.cancel()
        release.set()
        done, _ = concurrent.futures.wait([running, queued], timeout=5)
        assert done == {running, queued}
    assert ran == []


def test_cancel_wakes_a_thread_blocked_in_result() -> None:
    with ThreadExecutor(1) as executor:
        release, _ = blocked_worker(executor)
        queued = executor.submit(pow, 2, 2)
        outcome: list[BaseException] = []

        def get() -> None:
            try:
                queued.result(timeout=5)
            except BaseException as exc:
                outcome.append(exc)

        getter = threading.Thread(target=get)
        getter.start()
        time.sleep(0.05)
        queued.cancel()
        getter.join(timeout=5)
        release.set()
    assert [type(exc) for exc in outcome] == [concurrent.futures.CancelledError]


def test_done_callbacks_run_once_before_or_after_completion() -> None:
    seen: list[tuple[str, int]] = []
    with ThreadExecutor(1) as executor:
        release, _ = blocked_worker(executor)
        future = executor.submit(pow, 2, 5)
        future.add_done_callback(lambda f: seen.append(("before", f.result())))
        release.set()
        future.result(timeout=5)
        future.add_done_callback(lambda f: seen.append(("after", f.result())))
    assert seen == [("before", 32), ("after", 32)]


def test_concurrent_futures_wait_and_as_completed_work_on_them() -> None:
    with ThreadExecutor(2) as executor:
        release, slow = blocked_worker(executor)
        quick = executor.submit(pow, 2, 3)
        done, not_done = concurrent.futures.wait(
            [slow, quick], timeout=5, return_when=concurrent.futures.FIRST_COMPLETED
        )
        assert done == {quick} and not_done == {slow}
        release.set()
        finished = list(concurrent.futures.as_completed([slow, quick], timeout=5))
        assert set(finished) == {slow, quick}


def test_wait_returns_every_finished_future() -> None:
    with ThreadExecutor(2) as executor:
        futures = [executor.submit(pow, 2, i) for i in range(2)]
        for future in futures:
            future.result(timeout=5)
        assert executor.wait(futures, None) == set(futures)


def test_wait_sleeps_until_one_finishes_or_the_timeout() -> None:
    with ThreadExecutor(2) as executor:
        release, slow = blocked_worker(executor)
        started = time.perf_counter()
        assert executor.wait([slow], 0.1) == set()
        assert time.perf_counter() - started >= 0.09
        assert executor.wait([slow], 0) == set()
        threading.Timer(0.05, release.set).start()
        assert executor.wait([slow], 5) == {slow}


def test_wait_wakes_every_waiting_thread() -> None:
    """Two runs sharing one executor each wait for their own futures."""
    with ThreadExecutor(2) as executor:
        releases = [threading.Event(), threading.Event()]
        futures = [executor.submit(event.wait, 10) for event in releases]
        results: dict[int, set[Any]] = {}

        def waiter(index: int) -> None:
            results[index] = executor.wait([futures[index]], 5)

        threads = [threading.Thread(target=waiter, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        time.sleep(0.05)
        for event in releases:
            event.set()
        for thread in threads:
            thread.join(timeout=5)
    assert results == {0: {futures[0]}, 1: {futures[1]}}


def test_wait_accepts_futures_from_elsewhere() -> None:
    foreign: concurrent.futures.Future[int] = concurrent.futures.Future()
    threading.Timer(0.05, foreign.set_result, args=(1,)).start()
    with ThreadExecutor(1) as executor:
        assert executor.wait([foreign], 5) == {foreign}


def test_threads_start_lazily_and_are_reused() -> None:
    with ThreadExecutor(4) as executor:
        for i in range(20):
            assert executor.submit(pow, i, 2).result(timeout=5) == i * i
        names = {executor.submit(lambda: threading.current_thread().name).result(timeout=5)}
        assert names == {"headwater-task_0"}  # one call at a time: one thread
        releases = [blocked_worker(executor) for _ in range(6)]
        time.sleep(0.1)
        assert executor._pool is not None
        assert len(executor._pool.threads) == 4  # max_workers, though 6 calls wait
        assert sum(future.running() for _, future in releases) == 4
        for release, _ in releases:
            release.set()
        for _, future in releases:
            assert future.result(timeout=5) is True


def test_at_most_max_workers_calls_run_at_once() -> None:
    lock = threading.Lock()
    running = [0, 0]  # now, most

    def step() -> None:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1

    with ThreadExecutor(3) as executor:
        futures = [executor.submit(step) for _ in range(12)]
        concurrent.futures.wait(futures, timeout=5)
    assert running[1] == 3


def test_shutdown_without_waiting_cancels_queued_calls() -> None:
    executor = ThreadExecutor(1)
    executor.start()
    release, running = blocked_worker(executor)
    queued = executor.submit(pow, 2, 2)
    started = time.perf_counter()
    executor.shutdown(wait=False)
    assert time.perf_counter() - started < 0.5
    assert queued.cancelled()
    with pytest.raises(RuntimeError, match="not started"):
        executor.submit(pow, 2, 2)
    release.set()
    assert running.result(timeout=5) is True


def test_shutdown_waits_for_running_calls() -> None:
    executor = ThreadExecutor(2)
    executor.start()
    future = executor.submit(time.sleep, 0.1)
    executor.shutdown()
    assert future.done()


def test_a_dropped_executor_lets_its_threads_end() -> None:
    executor = ThreadExecutor(1)
    executor.start()
    thread_of = executor.submit(threading.current_thread).result(timeout=5)
    reference = weakref.ref(executor)
    del executor
    gc.collect()
    assert reference() is None
    thread_of.join(timeout=5)
    assert not thread_of.is_alive()
