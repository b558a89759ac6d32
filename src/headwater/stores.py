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
import os
import struct
import tempfile
import threading
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from headwater._serializers import JSONSerializer, PickleSerializer, Serializer
from headwater._storecache import StoreCacheStore
from headwater.errors import StoreError
from headwater.states import State

__all__ = [
    "JSONSerializer",
    "Journal",
    "JournalStore",
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


class Journal(Protocol):
    """An append-only sequence of values (one run's checkpoint records)."""

    def append(self, value: Any) -> None:
        """Add ``value`` at the end; ``StoreError`` if it cannot be serialized."""
        ...

    def close(self) -> None:
        """Finish writing (a durable store syncs the journal to disk here)."""
        ...


@runtime_checkable
class JournalStore(Protocol):
    """A result store that also keeps journals: one cheap append per record.

    Checkpoints use journals when the store has them (``LocalStore`` and
    ``MemoryStore`` do), else one ``put`` per record.
    """

    def open_journal(self, key: str) -> Journal:
        """A new journal under ``key`` to append to."""
        ...

    def read_journal(self, key: str) -> list[Any]:
        """The whole records of the journal under ``key`` (``[]`` when absent)."""
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
        self._journals: dict[str, list[bytes]] = {}
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

    def open_journal(self, key: str) -> Journal:
        """A journal kept in memory under ``key``."""
        return _MemoryJournal(self, key)

    def read_journal(self, key: str) -> list[Any]:
        """The journal's records."""
        return [self.serializer.loads(data) for data in self._journals.get(key, [])]

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        with self._lock:
            self._data.pop(key, None)


class _MemoryJournal:
    def __init__(self, store: MemoryStore, key: str) -> None:
        self._store, self._key = store, key
        self._records = store._journals.setdefault(key, [])

    def append(self, value: Any) -> None:
        self._records.append(_encode(self._store.serializer, self._key, value))

    def close(self) -> None:
        pass


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

    def open_journal(self, key: str) -> Journal:
        """A journal file under ``key``: each record is one framed ``write``.

        A record reaches the OS as it is appended, so a killed process loses
        nothing; with ``durable=True`` the file is ``fsync``-ed on ``close``.
        """
        path = self._file(key)
        if path.parent not in self._made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(path.parent)
        return _FileJournal(path, key, self.serializer, self.durable)

    def read_journal(self, key: str) -> list[Any]:
        """The whole records of the journal; a torn or corrupt tail is ignored."""
        try:
            data = self._file(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return []
        records, offset, size = [], 0, _HEADER.size
        while offset + size <= len(data):
            magic, length, digest = _HEADER.unpack_from(data, offset)
            payload = data[offset + size : offset + size + length]
            if magic != _MAGIC or len(payload) != length or _digest(payload) != digest:
                break  # the rest was never completely written
            records.append(self.serializer.loads(payload))
            offset += size + length
        return records

    def cleanup(self) -> int:
        """Remove temporary files left by killed writers; return how many."""
        removed = 0
        for temp in self.path.rglob(f".*{_TEMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                temp.unlink()
                removed += 1
        return removed


class _FileJournal:
    def __init__(self, path: Path, key: str, serializer: Serializer, durable: bool) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._key, self._serializer, self._durable = key, serializer, durable
        self._lock = threading.Lock()

    def append(self, value: Any) -> None:
        payload = _encode(self._serializer, self._key, value)
        record = memoryview(_HEADER.pack(_MAGIC, len(payload), _digest(payload)) + payload)
        with self._lock:
            while record:
                record = record[os.write(self._fd, record) :]

    def close(self) -> None:
        with self._lock:
            if self._fd < 0:
                return
            if self._durable:
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1


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
