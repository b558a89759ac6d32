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
tries through callbacks rather than by asking (``_daskbatch`` keeps the tries
in flight; ``_daskremote`` holds what runs on the workers). The client sends
its messages every 2 ms instead of ``distributed``'s 10 ms, so that a chain of
tries does not wait for the next send.

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
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from headwater.executors._daskbatch import InFlight, gather_each, lost
from headwater.executors._daskremote import (
    RemoteResult,
    gathered,
    handles_in,
    length,
    listed,
    replace_handles,
    state_of,
)
from headwater.executors.base import Executor

if TYPE_CHECKING:
    from headwater._task import Task
    from headwater.states import State

__all__ = ["DaskExecutor", "RemoteResult"]

T = TypeVar("T")


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
        # The tries submitted and not settled yet: see _daskbatch.
        self._in_flight = InFlight()

    # -- lifecycle -----------------------------------------------------------

    def _open(self) -> None:
        distributed = _distributed()
        if self.address is None:
            self._cluster = distributed.LocalCluster(**self.cluster_kwargs)
            self.client = distributed.Client(self._cluster, set_as_default=False)
        else:
            self.client = distributed.Client(self.address, set_as_default=False)
        _send_sooner(self.client)
        self._in_flight.client = self.client
        self.max_workers = max(1, sum(self.client.nthreads().values()))

    def _close(self, wait: bool) -> None:
        client, cluster = self.client, self._cluster
        self.client = self._cluster = None
        self._in_flight.close()
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    # -- running -------------------------------------------------------------

    def submit(self, fn: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        """Run ``fn(*args)`` on the cluster; return a ``concurrent.futures`` future."""
        dask_future = self._running(self.client).submit(fn, *args, pure=False)
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
        self._running(self.client)
        return self._in_flight.submit(fn, task, inputs, context_values, timeout)

    def wait(
        self, futures: Collection[concurrent.futures.Future[Any]], timeout: float | None
    ) -> set[concurrent.futures.Future[Any]]:
        """Wait for the first tries to finish; settle every one that finished.

        A plain success is settled from the type Dask reported; the others
        that finished together are fetched in one round trip.
        """
        return self._in_flight.wait(futures, timeout)

    # -- results kept in the cluster ---------------------------------------------

    def as_list(self, value: Any) -> list[Any]:
        """Elements of an upstream result; a remote one's length is fetched, not its data."""
        if not isinstance(value, RemoteResult):
            return list(value)
        client = self._running(self.client)
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
        values = self._running(self.client).gather(list(handles))
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
        values = gather_each(self._running(self.client), list(handles))
        fetched = {
            future: lost("the result", value)
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
