"""Where cached task results live: a small get/put interface and the
in-memory store used by default (one per process).

A store maps a *cache key* (the task's identity, see :func:`task_cache_key`)
to candidate ``Cached`` states, newest first; the task's cache validator picks
one. A persistent store only has to implement :class:`CacheStore`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from headwater import cache_validators

if TYPE_CHECKING:
    from headwater._task import Task
    from headwater.states import Cached

__all__ = [
    "CacheStore",
    "MemoryCacheStore",
    "clear_cache",
    "default_cache_store",
    "task_cache_key",
]


@runtime_checkable
class CacheStore(Protocol):
    """The interface of a cache store."""

    def get(self, key: str) -> Sequence[Cached]:
        """The candidate entries stored under ``key``, newest first."""
        ...

    def put(self, key: str, state: Cached) -> None:
        """Store ``state`` under ``key``."""
        ...


class MemoryCacheStore:
    """Cache entries in this process's memory; thread-safe.

    Args:
        max_entries_per_key: how many entries (e.g. for different inputs) are
            kept per task; the oldest are dropped first.
    """

    def __init__(self, max_entries_per_key: int = 32) -> None:
        self._entries: dict[str, list[Cached]] = {}
        self._lock = threading.Lock()
        self.max_entries_per_key = max_entries_per_key

    def get(self, key: str) -> Sequence[Cached]:
        """The unexpired entries under ``key``, newest first."""
        now = cache_validators._now()
        with self._lock:
            entries = self._entries.get(key, [])
            alive = [e for e in entries if e.expiration is None or e.expiration > now]
            if len(alive) != len(entries):
                self._entries[key] = alive
            return list(alive)

    def put(self, key: str, state: Cached) -> None:
        """Store ``state`` as the newest entry under ``key``."""
        with self._lock:
            entries = self._entries.setdefault(key, [])
            entries.insert(0, state)
            del entries[self.max_entries_per_key :]

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return sum(len(entries) for entries in self._entries.values())


default_cache_store = MemoryCacheStore()
"""The per-process store used when a run names none."""


def clear_cache() -> None:
    """Forget every result cached in this process's default cache store.

    Runs given their own ``cache_store=`` (or a ``store=``, which keeps cached
    results with the run's results) are not affected. Useful between tests.

    Example:
        >>> from datetime import timedelta
        >>> from headwater import Flow, clear_cache, task
        >>> @task(cache_for=timedelta(hours=1))
        ... def load() -> int:
        ...     return 1
        >>> with Flow("cached") as flow:
        ...     loaded = load()
        >>> type(flow.run().result[loaded]).__name__
        'Success'
        >>> type(flow.run().result[loaded]).__name__
        'Cached'
        >>> clear_cache()
        >>> type(flow.run().result[loaded]).__name__
        'Success'
    """
    default_cache_store.clear()


def task_cache_key(flow_name: str, task: Task[Any]) -> str:
    """The identity a task's results are cached under.

    ``task.cache_key`` when set (tasks sharing it share entries, also across
    flows); else the flow's name, the task's slug and its function.
    """
    explicit: str | None = getattr(task, "cache_key", None)
    if explicit:
        return explicit
    function = getattr(task, "__wrapped__", None) or type(task)
    qualname = f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', '?')}"
    return f"{flow_name}/{task.slug}/{qualname}"
