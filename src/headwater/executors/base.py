"""The executor contract, after ``concurrent.futures.Executor``."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from typing_extensions import Self

__all__ = ["Executor"]

T = TypeVar("T")


class Executor:
    """Runs submitted calls and hands back futures.

    Subclasses implement :meth:`submit`; the runner calls :meth:`start` before
    a run (or uses the executor as a context manager) and :meth:`shutdown`
    after it.

    Attributes:
        max_workers: how many task tries may run at once.
        synchronous: ``True`` when ``submit`` runs the call before returning
            (the runner then skips futures altogether).
        stops_timed_out_work: ``True`` when the executor can really stop a
            task that exceeds its timeout (process and Dask executors); else
            the try runs in a helper thread that is abandoned at the deadline.
    """

    max_workers: int = 1
    synchronous: bool = False
    stops_timed_out_work: bool = False

    def start(self) -> None:
        """Acquire resources (pools, clusters). Idempotent."""

    def submit(self, fn: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        """Schedule ``fn(*args)``; return a future of its result."""
        raise NotImplementedError

    def wait(
        self, futures: Collection[concurrent.futures.Future[Any]], timeout: float | None
    ) -> set[concurrent.futures.Future[Any]]:
        """Block until at least one of ``futures`` is done or ``timeout`` passes.

        Returns:
            The futures that are done (possibly none, on timeout).
        """
        done, _ = concurrent.futures.wait(
            futures, timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED
        )
        return done

    def shutdown(self, wait: bool = True) -> None:
        """Release resources. Idempotent."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_workers={self.max_workers})"
