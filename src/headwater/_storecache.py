"""The cache over a result store (``headwater.stores.StoreCacheStore``)."""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

from headwater import cache_validators
from headwater.errors import StoreError
from headwater.states import Cached

if TYPE_CHECKING:
    from headwater.stores import ResultStore

__all__ = ["StoreCacheStore"]

logger = logging.getLogger("headwater.stores")


class StoreCacheStore:
    """The cache (``CacheStore``) over a result store: entries survive processes.

    Entries are kept under ``cache/<hash>``, where the hash covers the
    runner's cache key (flow, slug, function) and, once a run registered it
    (``flow.run(store=...)`` does), a hash of the task's function source: an
    edited function does not reuse its old entries. Each entry keeps the
    result, the stable input and parameter fingerprints and the expiration.
    An entry that cannot be serialized is not cached (the checkpoint note on
    the task's state says why); the run goes on.

    Args:
        store: where the entries live.
        max_entries_per_key: entries kept per task (newest first).

    Example:
        >>> from headwater.states import Cached
        >>> from headwater.stores import MemoryStore
        >>> cache = StoreCacheStore(MemoryStore())
        >>> cache.put("flow/t/m.f", Cached("cached result", 7, {"x": "ab"}))
        >>> [entry.result for entry in cache.get("flow/t/m.f")]
        [7]
    """

    def __init__(self, store: ResultStore, max_entries_per_key: int = 32) -> None:
        self.store = store
        self.max_entries_per_key = max_entries_per_key
        self.sources: dict[str, str] = {}
        self._lock = threading.Lock()

    def register(self, key: str, source_hash: str) -> None:
        """Tie the entries under runner key ``key`` to a function source hash."""
        self.sources[key] = source_hash

    def _key(self, key: str) -> str:
        base = key
        if key.endswith("]") and "[" in key:
            head, _, index = key[:-1].rpartition("[")
            base = head if index.isdigit() else key
        identity = f"{key}\0{self.sources.get(base, '')}"
        return "cache/" + hashlib.sha256(identity.encode()).hexdigest()[:40]

    def get(self, key: str) -> list[Cached]:
        """The unexpired entries under ``key``, newest first."""
        try:
            records: list[dict[str, Any]] = self.store.get(self._key(key))
        except KeyError:
            return []
        now = cache_validators._now()
        entries = [_cached(record) for record in records]
        return [e for e in entries if e.expiration is None or e.expiration > now]

    def put(self, key: str, state: Cached) -> None:
        """Store ``state`` as the newest entry under ``key`` (not if unserializable)."""
        record = {
            "message": state.message,
            "result": state.result,
            "inputs": dict(state.cached_inputs) if state.cached_inputs is not None else None,
            "parameters": (
                dict(state.cached_parameters) if state.cached_parameters is not None else None
            ),
            "expiration": state.expiration.isoformat() if state.expiration else None,
        }
        stored_key = self._key(key)
        with self._lock:
            try:
                records = list(self.store.get(stored_key))
            except KeyError:
                records = []
            records.insert(0, record)
            try:
                self.store.put(stored_key, records[: self.max_entries_per_key])
            except StoreError as error:
                logger.warning("cache entry for %r not stored: %s", key, error)


def _cached(record: dict[str, Any]) -> Cached:
    expiration = record["expiration"]
    return Cached(
        record["message"],
        record["result"],
        record["inputs"],
        record["parameters"],
        datetime.fromisoformat(expiration) if expiration else None,
    )
