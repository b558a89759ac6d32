"""DaskExecutor: run a flow's tasks on a Dask cluster (``headwater[dask]``).

``distributed`` is imported only when the executor starts. Without an
``address`` the executor starts a ``distributed.LocalCluster`` (the keyword
arguments go to it) and closes it after the run; with one it connects to a
running scheduler and leaves the cluster alone.

**Results stay in the cluster.** A try runs on a worker as one Dask task whose
value is the try's full state. The client learns a plain success from the
type of that value, which Dask reports with the news that the task finished:
no fetch. It fetches the states that keep no result (failures, retries,
skips: small), several in one round trip, and asks a second Dask task for the
rest of a success that says more than its result (a signal's message).
Downstream tries are given the upstream *futures* as arguments, so Dask moves
results worker to worker; the client fetches a result only to split it for
``.map()`` (it fetches the length), to cache it (``cache_for``), and at the
end of the run, when every ``state.result[task].result`` is gathered into a
real value. While the run goes on, state handlers see :class:`RemoteResult`
placeholders as results.

**Overhead per try.** The tries the runner starts together go to Dask in one
message (:meth:`DaskExecutor.wait` sends them), up to ``submit_ahead`` per
worker thread are queued on the scheduler, and the client hears of finished
tries through callbacks rather than by asking. The client sends its messages
every 2 ms instead of ``distributed``'s 10 ms, so that a chain of tries does
not wait for the next send.

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

import concurrent.futures
import importlib
import itertools
import queue
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from headwater._taskrun import describe_task
from headwater.executors._daskremote import (
    Kept,
    RemoteResult,
    gathered,
    handles_in,
    length,
    listed,
    replace_handles,
    run_try,
    settled,
    state_of,
    summarize,
    to_futures,
    with_result,
)
from headwater.executors._pickling import for_worker, unpicklable_call_message
from headwater.executors.base import Executor
from headwater.states import Failed, State, Success, TimedOut

if TYPE_CHECKING:
    from headwater._task import Task

__all__ = ["DaskExecutor", "RemoteResult"]

T = TypeVar("T")


@dataclass(eq=False)
class _Try:
    proxy: concurrent.futures.Future[State]  # what the runner waits on
    key: str  # the Dask key of the try
    label: str
    deadline: float | None  # when the client gives up waiting (see _patience)
    timeout: float | None
    call: tuple[Any, ...]  # run_try's arguments, until the try is sent
    source: tuple[Any, Any]  # the task and its inputs, until sent (for messages)
    future: Any = None  # distributed.Future of what the try left in the cluster (``packed``)
    summary: Any = None  # distributed.Future of the state without its result (a Kept)


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
            once (default 16). Dask queues the extra ones on its scheduler,
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

    submit_ahead: int = 16

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
        # Tries submitted since the last wait(): sent to Dask together, in one message.
        self._unsent: list[_Try] = []
        # The Dask futures the client waits on (a try's, or its summary's), by key.
        self._waiting: dict[Any, _Try] = {}
        # Dask futures that finished, put by Dask's callback thread; read by wait().
        self._arrivals: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # Keys are unique without tokenizing or a uuid per try: one random
        # prefix per executor (several clients may share a scheduler) and a count.
        self._key_prefix = uuid.uuid4().hex[:16]
        self._key_count = itertools.count()

    # -- lifecycle -----------------------------------------------------------

    def _open(self) -> None:
        distributed = _distributed()
        if self.address is None:
            self._cluster = distributed.LocalCluster(**self.cluster_kwargs)
            self.client = distributed.Client(self._cluster, set_as_default=False)
        else:
            self.client = distributed.Client(self.address, set_as_default=False)
        _send_sooner(self.client)
        self.max_workers = max(1, sum(self.client.nthreads().values()))

    def _close(self, wait: bool) -> None:
        client, cluster = self.client, self._cluster
        self.client = self._cluster = None
        for tried in self._tries.values():
            _cancel(tried)
        self._tries.clear()
        self._unsent.clear()
        self._waiting.clear()
        self._arrivals = queue.SimpleQueue()
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
        """Submit one try, one Dask task; its upstream results go in as Dask futures.

        The try is sent to Dask by the next :meth:`wait`, together with the
        others submitted before it; the returned future completes in :meth:`wait`.
        """
        self._running_client()
        proxy: concurrent.futures.Future[State] = concurrent.futures.Future()
        arguments, paths = to_futures(inputs)
        # An explicit key: Dask neither tokenizes the arguments nor makes a uuid.
        key = f"{task.slug}-{self._key_prefix}-{next(self._key_count)}"
        deadline = None if timeout is None else time.monotonic() + _patience(timeout)
        call = (fn, for_worker(task), arguments, paths, context_values, timeout)
        tried = _Try(proxy, key, describe_task(task), deadline, timeout, call, (task, inputs))
        self._tries[proxy] = tried
        self._unsent.append(tried)
        proxy.add_done_callback(self._forget_cancelled)
        return proxy

    def _send(self) -> None:
        """Hand the tries submitted since the last call to Dask, in one message.

        The runner submits every try it can start, then waits: one message
        instead of one per try spares the client and the scheduler a graph
        update each.
        """
        unsent = [tried for tried in self._unsent if not tried.proxy.done()]
        self._unsent = []
        if not unsent:
            return
        client = self.client
        sent: list[Any]
        try:
            if len(unsent) == 1:
                sent = [client.submit(run_try, *unsent[0].call, key=unsent[0].key)]
            else:
                columns = zip(*(tried.call for tried in unsent), strict=True)
                keys = [tried.key for tried in unsent]
                sent = client.map(run_try, *columns, key=keys, pure=False)
        except Exception:
            # Something cannot be pickled: send the tries one by one to name it.
            # Under new keys: the client made futures of the old ones before it
            # failed, and would take a submit under such a key as already sent.
            sent = []
            for tried in unsent:
                tried.key = f"{tried.key}-{next(self._key_count)}"
                try:
                    sent.append(client.submit(run_try, *tried.call, key=tried.key))
                except Exception as exc:
                    sent.append(exc)
        for tried, future in zip(unsent, sent, strict=True):
            task, inputs = tried.source
            tried.call, tried.source = (), (None, None)  # not kept alive by the try
            if isinstance(future, Exception):
                message = unpicklable_call_message(tried.label, task, inputs, future)
                self._settle(tried, Failed(message, future))
            else:
                tried.future = future
                self._wait_on(future, tried)

    def _wait_on(self, future: Any, tried: _Try) -> None:
        # Dask calls back in its own thread when the future finishes, errs or
        # is cancelled; wait() takes what arrived, so no round trip asks.
        self._waiting[future.key] = tried
        future.add_done_callback(self._arrivals.put)

    def _forget_cancelled(self, proxy: concurrent.futures.Future[State]) -> None:
        # The runner cancels the tries in flight when a run is interrupted.
        tried = self._tries.pop(proxy, None) if proxy.cancelled() else None
        if tried is not None:
            self._stop_waiting(tried)
            _cancel(tried)

    def _stop_waiting(self, tried: _Try) -> None:
        for future in (tried.future, tried.summary):
            if future is not None:
                self._waiting.pop(future.key, None)

    def wait(
        self, futures: Collection[concurrent.futures.Future[Any]], timeout: float | None
    ) -> set[concurrent.futures.Future[Any]]:
        """Wait for the first tries to finish; settle every one that finished.

        A plain success is settled from the type Dask reported; the others
        that finished together are fetched in one round trip.
        """
        self._send()
        done = {future for future in futures if future.done()}
        if done:
            return done
        tries = self._tries
        deadlines = [tries[f].deadline for f in futures if f in tries]
        limit = min((d for d in deadlines if d is not None), default=None)
        if limit is not None:
            to_limit = max(0.0, limit - time.monotonic())
            timeout = to_limit if timeout is None else min(timeout, to_limit)
        ends = None if timeout is None else time.monotonic() + timeout
        # A Dask future that arrives may settle nothing (a kept success's
        # summary is still on its way, a cancelled try): then wait on.
        while True:
            self._complete(self._arrived(ends))
            done = {future for future in futures if future.done()}
            if done or (ends is not None and time.monotonic() >= ends):
                break
        if limit is not None:
            self._expire([f for f in futures if f in tries])
            done = {future for future in futures if future.done()}
        return done

    def _arrived(self, ends: float | None) -> list[Any]:
        """The Dask futures that finished: at least one, unless ``ends`` passes first."""
        arrivals = self._arrivals
        try:
            if ends is None:
                # In slices, so that Ctrl-C is seen on every platform.
                while True:
                    try:
                        first = arrivals.get(timeout=0.5)
                        break
                    except queue.Empty:
                        continue
            else:
                first = arrivals.get(timeout=max(0.0, ends - time.monotonic()))
        except queue.Empty:
            return []
        batch = [first]
        while True:
            try:
                batch.append(arrivals.get_nowait())
            except queue.Empty:
                return batch

    def _complete(self, arrived: list[Any]) -> None:
        """Settle the tries whose Dask futures arrived; fetch only what must be."""
        to_fetch: list[tuple[Any, _Try]] = []
        for future in arrived:
            tried = self._waiting.pop(future.key, None)
            if tried is None or tried.proxy.done():
                continue  # cancelled, expired or already settled
            if future.status != "finished":
                self._settle(tried, _cluster_failure(tried.label, future))
            elif future is tried.summary or future.type not in (Success, Kept):
                to_fetch.append((future, tried))  # a Whole (or a type Dask did not tell)
            elif future.type is Success:
                self._settle(tried, Success(result=RemoteResult(future)))
            else:  # a Kept: its state without the result, in a second Dask task
                tried.summary = self.client.submit(summarize, future, key=f"summary-{future.key}")
                self._wait_on(tried.summary, tried)
        values = _gather_each(self.client, [future for future, _ in to_fetch])
        for (future, tried), value in zip(to_fetch, values, strict=True):
            if isinstance(value, BaseException):
                self._settle(tried, _lost(f"the state of task {tried.label}", value))
            elif future is tried.summary:
                self._settle(tried, with_result(value, RemoteResult(tried.future)))
            else:
                self._settle(tried, settled(value, future))

    def _settle(self, tried: _Try, state: State) -> None:
        del self._tries[tried.proxy]
        self._stop_waiting(tried)
        tried.proxy.set_result(state)

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
            if tried.key not in started and tried.future.status == "pending":
                tried.deadline = now + _patience(tried.timeout or 0.0)
                continue
            _cancel(tried)
            self._settle(
                tried,
                TimedOut(
                    f"task {tried.label} exceeded its timeout and did not answer; its Dask "
                    "futures were cancelled (Dask cannot interrupt running Python code, "
                    "so it may go on in its worker)"
                ),
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
        values = self._running_client().gather(list(handles))
        states = {handle: state_of(left) for handle, left in zip(handles, values, strict=True)}
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
            future: _lost("the result", value)
            if isinstance(value, BaseException)
            else state_of(value)
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


# How long the client batches its messages to the scheduler (seconds).
_SEND_INTERVAL = 0.002


def _send_sooner(client: Any) -> None:
    """Let the client send its messages to the scheduler every 2 ms, not every 10 ms.

    A client batches what it sends the scheduler and sends at most one batch
    per interval, fixed at 10 ms in ``distributed``. A flow run submits a try
    when the one before it finished, so in a chain every try waited up to
    10 ms for its submission to leave: longer than the try's round trip
    through the cluster. 2 ms is what the scheduler itself uses to send to
    clients. The stream is an attribute of the client; if a version of
    ``distributed`` has none, or the client reconnects (a new stream), runs
    are only slower.
    """
    stream = getattr(client, "scheduler_comm", None)
    if stream is not None and isinstance(getattr(stream, "interval", None), float):
        stream.interval = min(stream.interval, _SEND_INTERVAL)


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


def _cancel(tried: _Try) -> None:
    for future in (tried.future, tried.summary):
        if future is not None:
            future.cancel()


def _cluster_failure(label: str, future: Any) -> State:
    try:
        error = future.exception()
    except Exception as exc:  # cancelled or lost
        error = exc
    return Failed(
        f"task {label} could not run on the Dask cluster ({future.status}): "
        f"{type(error).__name__}: {error}",
        result=error,
    )
