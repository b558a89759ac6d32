"""The client side of the Dask executor's tries: sent in batches, heard of by callbacks.

:class:`InFlight` holds the tries a ``DaskExecutor`` has submitted and not yet
settled. Each try is a :class:`Try`, known by the proxy future the runner
waits on, and goes through these steps:

1. **submitted** (:meth:`InFlight.submit`): a proxy future is made and the
   try is queued in ``unsent``; nothing is sent to Dask yet;
2. **sent** (:meth:`InFlight.send`, called by each :meth:`InFlight.wait`):
   every try queued since the last wait goes to Dask in one message, and the
   client waits on its Dask future (``waiting``, by Dask key);
3. **arrived**: Dask calls back in its own thread when the future finishes,
   errs or is cancelled, and puts it in ``arrivals``; ``wait`` takes what
   arrived, so no round trip asks;
4. **settled** (:meth:`InFlight._complete`): the proxy gets the try's state.
   A plain success is made from the type Dask reported; a success that says
   more than its result (a ``Kept``) waits for a second, small Dask task that
   sums it up; the other states are fetched, several in one round trip.

A try whose proxy the runner cancels is dropped and its Dask futures
cancelled. A try with a timeout that gets no answer long after it
(:func:`_patience`) is cancelled and settled ``TimedOut``, unless Dask has not
started it yet (queued on the scheduler): then it is given more time.

Between calls, every try of ``tries`` is in ``unsent`` or waited on through
``waiting`` (by its own Dask future or by its summary's). A settled try is in
none of them; a cancelled one stays in ``unsent`` only until ``send`` skips it.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import queue
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headwater._taskrun import describe_task
from headwater.executors._daskremote import (
    Kept,
    RemoteResult,
    run_try,
    settled,
    summarize,
    to_futures,
    with_result,
)
from headwater.executors._pickling import for_worker, unpicklable_call_message
from headwater.states import Failed, State, Success, TimedOut

if TYPE_CHECKING:
    from headwater._task import Task

__all__ = ["InFlight", "Try", "gather_each", "lost"]


@dataclass(eq=False)
class Try:
    proxy: concurrent.futures.Future[State]  # what the runner waits on
    key: str  # the Dask key of the try
    label: str
    deadline: float | None  # when the client gives up waiting (see _patience)
    timeout: float | None
    call: tuple[Any, ...]  # run_try's arguments, until the try is sent
    source: tuple[Any, Any]  # the task and its inputs, until sent (for messages)
    future: Any = None  # distributed.Future of what the try left in the cluster (``packed``)
    summary: Any = None  # distributed.Future of the state without its result (a Kept)


class InFlight:
    """The tries submitted to one Dask client and not settled yet (see the module docs).

    Attributes:
        client: the ``distributed.Client`` the tries go to (``None`` when the
            executor is stopped).
    """

    def __init__(self) -> None:
        self.client: Any = None
        self._tries: dict[concurrent.futures.Future[State], Try] = {}
        # Tries submitted since the last wait(): sent to Dask together, in one message.
        self._unsent: list[Try] = []
        # The Dask futures the client waits on (a try's, or its summary's), by key.
        self._waiting: dict[Any, Try] = {}
        # Dask futures that finished, put by Dask's callback thread; read by wait().
        self._arrivals: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # Keys are unique without tokenizing or a uuid per try: one random
        # prefix per executor (several clients may share a scheduler) and a count.
        self._key_prefix = uuid.uuid4().hex[:16]
        self._key_count = itertools.count()

    def close(self) -> None:
        """Cancel every try in flight and forget them (the executor shuts down)."""
        self.client = None
        for tried in self._tries.values():
            _cancel(tried)
        self._tries.clear()
        self._unsent.clear()
        self._waiting.clear()
        self._arrivals = queue.SimpleQueue()

    def submit(
        self,
        fn: Callable[..., State],
        task: Task[Any],
        inputs: Mapping[str, Any],
        context_values: Mapping[str, Any],
        timeout: float | None,
    ) -> concurrent.futures.Future[State]:
        """Queue one try for the next :meth:`send`; return the future of its state."""
        proxy: concurrent.futures.Future[State] = concurrent.futures.Future()
        arguments, paths = to_futures(inputs)
        # An explicit key: Dask neither tokenizes the arguments nor makes a uuid.
        key = f"{task.slug}-{self._key_prefix}-{next(self._key_count)}"
        deadline = None if timeout is None else time.monotonic() + _patience(timeout)
        call = (fn, for_worker(task), arguments, paths, context_values, timeout)
        tried = Try(proxy, key, describe_task(task), deadline, timeout, call, (task, inputs))
        self._tries[proxy] = tried
        self._unsent.append(tried)
        proxy.add_done_callback(self._forget_cancelled)
        return proxy

    def send(self) -> None:
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

    def _wait_on(self, future: Any, tried: Try) -> None:
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

    def _stop_waiting(self, tried: Try) -> None:
        for future in (tried.future, tried.summary):
            if future is not None:
                self._waiting.pop(future.key, None)

    def wait(
        self, futures: Collection[concurrent.futures.Future[Any]], timeout: float | None
    ) -> set[concurrent.futures.Future[Any]]:
        """Send what is unsent, then wait for the first of ``futures`` to finish;
        settle every try that finished meanwhile (``DaskExecutor.wait``)."""
        self.send()
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
        to_fetch: list[tuple[Any, Try]] = []
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
        values = gather_each(self.client, [future for future, _ in to_fetch])
        for (future, tried), value in zip(to_fetch, values, strict=True):
            if isinstance(value, BaseException):
                self._settle(tried, lost(f"the state of task {tried.label}", value))
            elif future is tried.summary:
                self._settle(tried, with_result(value, RemoteResult(tried.future)))
            else:
                self._settle(tried, settled(value, future))

    def _settle(self, tried: Try, state: State) -> None:
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


def gather_each(client: Any, futures: list[Any]) -> list[Any]:
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


def lost(what: str, error: BaseException) -> Failed:
    """The state of something that could not be fetched from the cluster."""
    return Failed(
        f"{what} could not be fetched from the Dask cluster "
        f"({type(error).__name__}: {error}); a worker holding it may have died",
        result=error,
    )


def _patience(timeout: float) -> float:
    """How long the client waits for a timed try before it cancels it."""
    return timeout + max(1.0, timeout)


def _cancel(tried: Try) -> None:
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
