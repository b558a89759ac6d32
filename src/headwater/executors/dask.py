"""DaskExecutor: run a flow's tasks on a Dask cluster (``headwater[dask]``).

``distributed`` is imported only when the executor starts. Without an
``address`` the executor starts a ``distributed.LocalCluster`` (the keyword
arguments go to it) and closes it after the run; with one it connects to a
running scheduler and leaves the cluster alone.

**Results stay in the cluster.** A try runs on a worker as one Dask task whose
value is the try's full state; the client receives only a summary (the state
class and message, without the result). Downstream tries are given the
upstream *futures* as arguments, so Dask moves results worker to worker; the
client fetches a result only to split it for ``.map()`` (it fetches the
length), to cache it (``cache_for``), and at the end of the run, when every
``state.result[task].result`` is gathered into a real value. While the run
goes on, state handlers see :class:`RemoteResult` placeholders as results.

**Timeouts.** Dask cannot interrupt a Python function running in a worker
thread. A try with a ``timeout`` runs in a helper thread on the worker, which
ends the try ``TimedOut`` at the deadline and frees the worker's slot, but the
abandoned call may go on in the background of that worker process until it
returns. As a fallback the client cancels the try's Dask futures when no
answer came ``timeout + max(1 s, timeout)`` after submitting it (also
``TimedOut``); cancelling drops a task that has not started and its result,
nothing more. To stop runaway code for real, restart the workers
(``client.restart()``) or use ``ProcessExecutor``.

**A multi-machine cluster.** On one host start the scheduler, on the others
the workers, then point the executor at the scheduler::

    $ dask scheduler                      # on host "head": listens on :8786
    $ dask worker tcp://head:8786         # on every worker host

    flow.run(executor=DaskExecutor(address="tcp://head:8786"))

The workers must be able to import headwater, the modules your tasks use and
the tasks themselves: install the same environment on every host (tasks
defined in ``__main__`` or as closures are pickled by value by cloudpickle;
tasks in your own modules are imported by name, so ship those modules, e.g.
as an installed package or with ``client.upload_file``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from headwater._taskrun import describe_task
from headwater.executors._daskremote import (
    RemoteResult,
    gathered,
    handles_in,
    length,
    listed,
    replace_handles,
    run_try,
    summarize,
    to_futures,
    with_result,
)
from headwater.executors._pickling import for_worker, unpicklable_call_message
from headwater.executors.base import Executor
from headwater.states import Failed, State, TimedOut

if TYPE_CHECKING:
    from headwater._task import Task

__all__ = ["DaskExecutor", "RemoteResult"]

T = TypeVar("T")


@dataclass(eq=False)
class _Try:
    summary: Any  # distributed.Future of (state without its result, has_result)
    full: Any  # distributed.Future of the full state
    label: str
    deadline: float | None  # when the client gives up waiting (see _patience)
    timeout: float | None


class DaskExecutor(Executor):
    """Run task tries on a Dask cluster, results kept on the workers.

    Args:
        address: a running scheduler (``"tcp://host:8786"``); default: start
            a ``LocalCluster`` for the run.
        **cluster_kwargs: passed to ``distributed.LocalCluster`` (e.g.
            ``n_workers=2, threads_per_worker=1, processes=True``).

    Attributes:
        max_workers: the cluster's worker threads (known once started).
        submit_ahead: how many tries per worker thread are handed to Dask at
            once (default 4). Dask queues the extra ones on its scheduler,
            which hides the round trip between one try ending and the next
            starting; at most one try per worker thread runs at a time.

    Use it as a context manager to keep one cluster across several runs.

    Example:
        >>> from headwater import Flow, executors, task
        >>> @task
        ... def inc(x: int) -> int:
        ...     return x + 1
        >>> with Flow("dask") as flow:
        ...     result = inc.map([1, 2, 3])
        >>> executor = executors.DaskExecutor(n_workers=2, processes=False)
        >>> flow.run(executor=executor).result[result].result  # doctest: +SKIP
        [2, 3, 4]
    """

    submit_ahead: int = 4

    def __init__(self, address: str | None = None, **cluster_kwargs: Any) -> None:
        if address is not None and cluster_kwargs:
            raise ValueError(
                "DaskExecutor: give either address= (a running scheduler) or LocalCluster "
                f"options, not both (got {sorted(cluster_kwargs)})"
            )
        self.address = address
        self.cluster_kwargs = cluster_kwargs
        self.client: Any = None
        self._cluster: Any = None
        self._tries: dict[concurrent.futures.Future[State], _Try] = {}

    # -- lifecycle -----------------------------------------------------------

    def _open(self) -> None:
        distributed = _distributed()
        if self.address is None:
            self._cluster = distributed.LocalCluster(**self.cluster_kwargs)
            self.client = distributed.Client(self._cluster, set_as_default=False)
        else:
            self.client = distributed.Client(self.address, set_as_default=False)
        self.max_workers = max(1, sum(self.client.nthreads().values()))

    def _close(self, wait: bool) -> None:
        client, cluster = self.client, self._cluster
        self.client = self._cluster = None
        for tried in self._tries.values():
            tried.summary.cancel()
            tried.full.cancel()
        self._tries.clear()
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    def _running_client(self) -> Any:
        if self.client is None:
            raise RuntimeError(
                "DaskExecutor is not started: use it as a context manager or call start()"
            )
        return self.client

    # -- running -------------------------------------------------------------

    def submit(self, fn: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        """Run ``fn(*args)`` on the cluster; return a ``concurrent.futures`` future."""
        dask_future = self._running_client().submit(fn, *args, pure=False)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def copy_outcome(done: Any) -> None:
            try:
                future.set_result(done.result())
            except BaseException as exc:
                future.set_exception(exc)

        dask_future.add_done_callback(copy_outcome)
        return future

    def submit_try(
        self,
        fn: Callable[..., State],
        task: Task[Any],
        inputs: Mapping[str, Any],
        context_values: Mapping[str, Any],
        timeout: float | None,
    ) -> concurrent.futures.Future[State]:
        """Submit one try; its upstream results go in as Dask futures.

        The returned future completes in :meth:`wait`.
        """
        client = self._running_client()
        proxy: concurrent.futures.Future[State] = concurrent.futures.Future()
        label = describe_task(task)
        arguments, paths = to_futures(inputs)
        key = f"{task.slug}-{uuid.uuid4().hex[:16]}"
        try:
            full = client.submit(
                run_try, fn, for_worker(task), arguments, paths, context_values, timeout, key=key
            )
        except Exception as exc:
            proxy.set_result(Failed(unpicklable_call_message(label, task, inputs, exc), exc))
            return proxy
        summary = client.submit(summarize, full, key=f"summary-{key}")
        deadline = None if timeout is None else time.monotonic() + _patience(timeout)
        self._tries[proxy] = _Try(summary, full, label, deadline, timeout)
        proxy.add_done_callback(self._forget_cancelled)
        return proxy

    def _forget_cancelled(self, proxy: concurrent.futures.Future[State]) -> None:
        # The runner cancels the tries in flight when a run is interrupted.
        tried = self._tries.pop(proxy, None) if proxy.cancelled() else None
        if tried is not None:
            tried.summary.cancel()
            tried.full.cancel()

    def wait(
        self, futures: Collection[concurrent.futures.Future[Any]], timeout: float | None
    ) -> set[concurrent.futures.Future[Any]]:
        """Wait for the first tries to finish; fetch their summaries in one go."""
        done = {future for future in futures if future.done()}
        if done:
            return done
        waiting = {self._tries[f].summary: f for f in futures if f in self._tries}
        deadlines = [self._tries[f].deadline for f in waiting.values()]
        limit = min((d for d in deadlines if d is not None), default=None)
        if limit is not None:
            to_limit = max(0.0, limit - time.monotonic())
            timeout = to_limit if timeout is None else min(timeout, to_limit)
        try:
            with self.client.as_current():
                _distributed().wait(list(waiting), timeout=timeout, return_when="FIRST_COMPLETED")
        except (TimeoutError, asyncio.TimeoutError):
            pass
        self._complete([(s, p) for s, p in waiting.items() if s.done()])
        self._expire(list(waiting.values()))
        return {future for future in futures if future.done()}

    def _complete(self, finished: list[tuple[Any, concurrent.futures.Future[State]]]) -> None:
        good = [(summary, proxy) for summary, proxy in finished if summary.status == "finished"]
        values = _gather_each(self.client, [summary for summary, _ in good])
        for (_, proxy), value in zip(good, values, strict=True):
            if isinstance(value, BaseException):
                tried = self._tries.pop(proxy)
                proxy.set_result(_lost(f"the state of task {tried.label}", value))
                continue
            summary_state, kept = value
            tried = self._tries.pop(proxy)
            if kept:
                proxy.set_result(with_result(summary_state, RemoteResult(tried.full)))
            else:
                proxy.set_result(summary_state)
        for summary, proxy in finished:
            if summary.status != "finished":
                tried = self._tries.pop(proxy)
                proxy.set_result(_cluster_failure(tried.label, summary))

    def _expire(self, proxies: list[concurrent.futures.Future[State]]) -> None:
        """Give up on tries that got no answer long past their timeout.

        A try Dask has not started yet (queued) gets a new deadline instead.
        """
        now = time.monotonic()
        expired = [
            proxy
            for proxy in proxies
            if proxy in self._tries and (self._tries[proxy].deadline or now + 1) <= now
        ]
        if not expired:
            return
        started = {key for keys in self.client.processing().values() for key in keys}
        for proxy in expired:
            tried = self._tries[proxy]
            if tried.full.key not in started and tried.full.status == "pending":
                tried.deadline = now + _patience(tried.timeout or 0.0)
                continue
            del self._tries[proxy]
            tried.summary.cancel()
            tried.full.cancel()
            proxy.set_result(
                TimedOut(
                    f"task {tried.label} exceeded its timeout and did not answer; its Dask "
                    "futures were cancelled (Dask cannot interrupt running Python code, "
                    "so it may go on in its worker)"
                )
            )

    # -- results kept in the cluster ---------------------------------------------

    def as_list(self, value: Any) -> list[Any]:
        """Elements of an upstream result; a remote one's length is fetched, not its data."""
        if not isinstance(value, RemoteResult):
            return list(value)
        client = self._running_client()
        elements = client.submit(listed, value.future, value.index, pure=False)
        count = client.submit(length, elements, pure=False).result()
        if isinstance(count, str):
            error = TypeError(f"{count!r} object is not iterable")
            error.type_name = count  # type: ignore[attr-defined]
            raise error
        return [RemoteResult(elements, position) for position in range(count)]

    def fetch(self, value: Any) -> Any:
        """``value`` (or a dict or list of values) with remote results fetched."""
        handles = handles_in(value)
        if not handles:
            return value
        states = dict(zip(handles, self._running_client().gather(list(handles)), strict=True))
        return replace_handles(value, states)

    def gather(self, states: Sequence[State]) -> list[State]:
        """``states`` with every remote result (also of mapped children) fetched."""
        handles: dict[Any, None] = {}
        for state in states:
            for candidate in (state, *getattr(state, "map_states", ())):
                if isinstance(candidate.result, RemoteResult):
                    handles[candidate.result.future] = None
        if not handles:
            return list(states)
        values = _gather_each(self._running_client(), list(handles))
        fetched = {
            future: _lost("the result", value) if isinstance(value, BaseException) else value
            for future, value in zip(handles, values, strict=True)
        }
        return [gathered(state, fetched) for state in states]

    def __repr__(self) -> str:
        where = self.address or f"LocalCluster({self.cluster_kwargs or ''})"
        return f"DaskExecutor({where}, max_workers={self.max_workers})"


# -- client-side helpers ---------------------------------------------------------


def _distributed() -> Any:
    """The ``distributed`` module, imported on first use."""
    try:
        return importlib.import_module("distributed")
    except ImportError as error:
        raise ImportError(
            f"DaskExecutor needs distributed ({error}): pip install 'headwater[dask]'",
            name=error.name,
        ) from error


def _gather_each(client: Any, futures: list[Any]) -> list[Any]:
    """The futures' values in one round trip; the error for any that failed."""
    if not futures:
        return []
    try:
        return list(client.gather(futures))
    except Exception:
        values: list[Any] = []
        for future in futures:
            try:
                values.append(client.gather(future))
            except Exception as exc:
                values.append(exc)
        return values


def _lost(what: str, error: BaseException) -> Failed:
    return Failed(
        f"{what} could not be fetched from the Dask cluster "
        f"({type(error).__name__}: {error}); a worker holding it may have died",
        result=error,
    )


def _patience(timeout: float) -> float:
    """How long the client waits for a timed try before it cancels it."""
    return timeout + max(1.0, timeout)


def _cluster_failure(label: str, summary: Any) -> State:
    try:
        error = summary.exception()
    except Exception as exc:  # cancelled or lost
        error = exc
    return Failed(
        f"task {label} could not run on the Dask cluster ({summary.status}): "
        f"{type(error).__name__}: {error}",
        result=error,
    )
