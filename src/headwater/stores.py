"""Result stores: where task results and run checkpoints outlive the process.

A :class:`ResultStore` maps string keys (``/``-separated paths such as
``results/<run id>/load-1``) to values, through a pluggable
:class:`Serializer`. Give one to ``flow.run(store=...)`` and every successful
task result is checkpointed as it is produced, every task's final state is
recorded, and ``cache_for`` entries persist across processes; a later
``flow.run(store=..., resume=RUN_ID)`` (``"latest"`` works) reruns only what
did not finish. See ``docs/how-to/persistence.md``.

:class:`LocalStore` writes each value atomically (a temporary file in the same
directory, written, flushed and ``fsync``-ed, then ``os.replace``-d onto its
name), and frames it with its length and a checksum: a process killed at any
moment leaves either the old value, the new one, or an ignored temporary
file, never a partial file read as a result.

Example:
    >>> import tempfile
    >>> store = LocalStore(tempfile.mkdtemp())
    >>> store.put("results/x", {"answer": 42})
    >>> store.get("results/x"), store.exists("results/x"), store.exists("nope")
    ({'answer': 42}, True, False)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import struct
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from headwater import cache_validators
from headwater.errors import StoreError
from headwater.states import Cached, State

logger = logging.getLogger("headwater.stores")

__all__ = [
    "JSONSerializer",
    "LocalStore",
    "MemoryStore",
    "PickleSerializer",
    "ResultStore",
    "Serializer",
    "StoreCacheStore",
    "last_run_id",
    "provenance",
    "restored_from",
]

RESTORED_PREFIX = "restored from checkpoint of run "
LATEST_KEY = "runs/latest"


@runtime_checkable
class Serializer(Protocol):
    """Turns values into bytes and back."""

    def dumps(self, value: Any) -> bytes:
        """The bytes of ``value``; raises when it cannot be serialized."""
        ...

    def loads(self, data: bytes) -> Any:
        """The value ``data`` holds."""
        ...


class PickleSerializer:
    """Pickle (``cloudpickle`` when installed, so lambdas and local classes work).

    Example:
        >>> PickleSerializer().loads(PickleSerializer().dumps([1, 2]))
        [1, 2]
    """

    def __init__(self, protocol: int = pickle.HIGHEST_PROTOCOL) -> None:
        self.protocol = protocol
        try:
            import cloudpickle  # type: ignore[import-not-found,import-untyped,unused-ignore]

            self._dumps: Any = cloudpickle.dumps
        except ImportError:
            self._dumps = pickle.dumps

    def dumps(self, value: Any) -> bytes:
        """Pickle ``value``."""
        data: bytes = self._dumps(value, protocol=self.protocol)
        return data

    def loads(self, data: bytes) -> Any:
        """Unpickle ``data`` (only read stores you trust)."""
        return pickle.loads(data)

    def __repr__(self) -> str:
        return "PickleSerializer()"


class JSONSerializer:
    """JSON (UTF-8): portable and readable, for JSON-compatible results only.

    Example:
        >>> JSONSerializer().dumps({"a": [1, 2]})
        b'{"a":[1,2]}'
    """

    def dumps(self, value: Any) -> bytes:
        """``value`` as compact JSON; ``TypeError`` for what JSON cannot hold."""
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()

    def loads(self, data: bytes) -> Any:
        """The value the JSON ``data`` holds."""
        return json.loads(data)

    def __repr__(self) -> str:
        return "JSONSerializer()"


@runtime_checkable
class ResultStore(Protocol):
    """The interface of a result store. ``get`` raises ``KeyError`` when absent."""

    def get(self, key: str) -> Any:
        """The value stored under ``key``, decoded."""
        ...

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``; ``StoreError`` if it cannot be serialized."""
        ...

    def exists(self, key: str) -> bool:
        """True when a value is stored under ``key``."""
        ...

    def delete(self, key: str) -> None:
        """Forget ``key`` (no error when absent)."""
        ...


def _encode(serializer: Serializer, key: str, value: Any) -> bytes:
    try:
        return serializer.dumps(value)
    except Exception as exc:
        raise StoreError(
            f"cannot serialize the value for {key!r} with {serializer!r}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


class MemoryStore:
    """A store in this process's memory (values still go through the serializer,
    so unserializable results are reported as with a disk store).

    Example:
        >>> store = MemoryStore()
        >>> store.put("k", 1); store.get("k")
        1
    """

    def __init__(self, serializer: Serializer | None = None) -> None:
        self.serializer = serializer if serializer is not None else PickleSerializer()
        self._data: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        """The value under ``key``; ``KeyError`` when absent."""
        with self._lock:
            data = self._data[key]
        return self.serializer.loads(data)

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``."""
        data = _encode(self.serializer, key, value)
        with self._lock:
            self._data[key] = data

    def exists(self, key: str) -> bool:
        """True when ``key`` holds a value."""
        return key in self._data

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        with self._lock:
            self._data.pop(key, None)


_MAGIC = b"HWR1"
_HEADER = struct.Struct(">4sQ16s")  # magic, payload length, blake2b-128 of the payload
_TEMP_SUFFIX = ".tmp"


class LocalStore:
    """Values as files under ``path``, each written atomically.

    Args:
        path: the store's root directory (created when missing).
        serializer: how values become bytes (default :class:`PickleSerializer`).
        durable: ``fsync`` each file and its directory, so values also survive
            a power loss or OS crash (a killed process never leaves a partial
            value either way).

    A file whose frame (magic, length, checksum) does not match is treated as
    absent: ``get`` raises ``KeyError`` and ``exists`` is false.
    """

    def __init__(
        self, path: str | os.PathLike[str], serializer: Serializer | None = None, *,
        durable: bool = True,
    ) -> None:  # fmt: skip
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.serializer = serializer if serializer is not None else PickleSerializer()
        self.durable = durable
        self._made: set[Path] = {self.path}

    def __repr__(self) -> str:
        return f"LocalStore({str(self.path)!r}, {self.serializer!r})"

    def _file(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(part in ("", ".", "..") or part.startswith(".") for part in parts):
            raise ValueError(f"invalid store key {key!r}: use non-empty '/'-separated names")
        return self.path.joinpath(*parts)

    def get(self, key: str) -> Any:
        """The value under ``key``; ``KeyError`` when absent or not whole."""
        try:
            data = self._file(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise KeyError(key) from None
        payload = _unframe(data)
        if payload is None:
            raise KeyError(f"{key} (the stored file is incomplete or corrupt; ignored)")
        return self.serializer.loads(payload)

    def exists(self, key: str) -> bool:
        """True when ``key`` holds a whole value."""
        try:
            return _unframe(self._file(key).read_bytes()) is not None
        except OSError:
            return False

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        with contextlib.suppress(FileNotFoundError):
            self._file(key).unlink()

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``: temp file, write, fsync, replace, fsync dir."""
        target = self._file(key)
        payload = _encode(self.serializer, key, value)
        directory = target.parent
        if directory not in self._made:
            directory.mkdir(parents=True, exist_ok=True)
            self._made.add(directory)
        handle, temp = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=_TEMP_SUFFIX, dir=directory
        )
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(_HEADER.pack(_MAGIC, len(payload), _digest(payload)))
                file.write(payload)
                file.flush()
                if self.durable:
                    os.fsync(file.fileno())
            os.replace(temp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise
        if self.durable:
            _fsync_directory(directory)

    def cleanup(self) -> int:
        """Remove temporary files left by killed writers; return how many."""
        removed = 0
        for temp in self.path.rglob(f".*{_TEMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                temp.unlink()
                removed += 1
        return removed


def _digest(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=16).digest()


def _unframe(data: bytes) -> bytes | None:
    if len(data) < _HEADER.size:
        return None
    magic, length, digest = _HEADER.unpack_from(data)
    payload = data[_HEADER.size :]
    if magic != _MAGIC or length != len(payload) or _digest(payload) != digest:
        return None
    return payload


class _suppress_os_error:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> bool:
        return kind is not None and issubclass(kind, OSError)


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not possible on this platform (Windows)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def last_run_id(store: ResultStore) -> str | None:
    """The id of the latest run checkpointed to ``store`` (``None`` if none).

    Example:
        >>> last_run_id(MemoryStore()) is None
        True
    """
    try:
        run_id: str = store.get(LATEST_KEY)
    except KeyError:
        return None
    return run_id


def restored_from(state: State) -> str | None:
    """The run id ``state`` was restored from by a resume, else ``None``.

    Example:
        >>> from headwater.states import Success
        >>> restored_from(Success("restored from checkpoint of run 3fa2; ran"))
        '3fa2'
        >>> restored_from(Success()) is None
        True
    """
    message = state.message
    if not message or not message.startswith(RESTORED_PREFIX):
        return None
    rest = message[len(RESTORED_PREFIX) :]
    return rest.split(";", 1)[0].split(" ", 1)[0]


def provenance(state: State) -> Literal["restored", "cached", "ran", "not run"]:
    """How a task's state came about in a run.

    ``"restored"``: loaded from a checkpoint by ``resume=``; ``"cached"``: a
    cache entry was reused (``Cached``); ``"ran"``: finished in this run;
    ``"not run"``: did not finish.

    Example:
        >>> from headwater.states import Cached, Pending, Success
        >>> [provenance(s) for s in (Success(), Cached(), Pending())]
        ['ran', 'cached', 'not run']
    """
    if restored_from(state) is not None:
        return "restored"
    if state.is_cached():
        return "cached"
    return "ran" if state.is_finished() else "not run"


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
