"""headwater.stores: serializers, atomic local files, the store-backed cache."""

from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from headwater import cache_validators
from headwater.errors import StoreError
from headwater.states import Cached, Failed, Pending, Success
from headwater.stores import (
    JSONSerializer,
    LocalStore,
    MemoryStore,
    PickleSerializer,
    ResultStore,
    Serializer,
    StoreCacheStore,
    last_run_id,
    provenance,
    restored_from,
)


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ResultStore:
    return LocalStore(tmp_path / "store") if request.param == "local" else MemoryStore()


def test_both_stores_and_serializers_follow_the_protocols(tmp_path: Path) -> None:
    assert isinstance(LocalStore(tmp_path), ResultStore)
    assert isinstance(MemoryStore(), ResultStore)
    assert isinstance(PickleSerializer(), Serializer)
    assert isinstance(JSONSerializer(), Serializer)


def test_put_get_exists_delete(store: ResultStore) -> None:
    assert not store.exists("results/a")
    store.put("results/a", {"x": [1, 2]})
    assert store.exists("results/a")
    assert store.get("results/a") == {"x": [1, 2]}
    store.put("results/a", 3)  # overwrite
    assert store.get("results/a") == 3
    store.delete("results/a")
    store.delete("results/a")  # absent: no error
    assert not store.exists("results/a")
    with pytest.raises(KeyError):
        store.get("results/a")


def test_unserializable_values_raise_store_error_naming_key_and_serializer(
    store: ResultStore,
) -> None:
    with pytest.raises(StoreError, match=r"cannot serialize the value for 'k'.*Pickle"):
        store.put("k", threading.Lock())
    assert not store.exists("k")


def test_json_serializer_refuses_what_json_cannot_hold(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, JSONSerializer())
    store.put("ok", {"a": [1, "b", None]})
    assert store.get("ok") == {"a": [1, "b", None]}
    with pytest.raises(StoreError, match="JSONSerializer"):
        store.put("bad", {1, 2})


@pytest.mark.parametrize("key", ["", "a//b", "../x", "a/./b", "a/.hidden"])
def test_local_store_refuses_keys_outside_or_hidden(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="invalid store key"):
        LocalStore(tmp_path).put(key, 1)


def test_a_write_killed_before_replace_leaves_only_an_ignored_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStore(tmp_path)
    store.put("results/r", "old")

    def killed(source: Any, target: Any) -> None:
        # What a kill between write and replace leaves: a partial temp file.
        os.truncate(source, 5)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        store.put("results/r", "new value")
    monkeypatch.undo()
    assert store.get("results/r") == "old"  # the old value, whole
    # put() removes its temp file on the way out; a SIGKILL would not: make one.
    (tmp_path / "results" / ".r.abc123.tmp").write_bytes(b"HWR1\x00partial")
    assert store.get("results/r") == "old"
    assert store.cleanup() == 1
    assert not list((tmp_path / "results").glob(".*"))


@pytest.mark.parametrize("cut", [0, 3, 20, -1])
def test_truncated_or_corrupt_files_are_never_read_as_values(tmp_path: Path, cut: int) -> None:
    store = LocalStore(tmp_path)
    store.put("results/r", list(range(100)))
    path = tmp_path / "results" / "r"
    data = path.read_bytes()
    path.write_bytes(data[:cut] if cut >= 0 else data[:-1] + bytes([data[-1] ^ 1]))
    assert not store.exists("results/r")
    with pytest.raises(KeyError, match="incomplete or corrupt"):
        store.get("results/r")


def test_durable_writes_fsync_file_and_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append(fd) or real(fd))
    LocalStore(tmp_path).put("a/b", 1)
    assert len(calls) == 2
    calls.clear()
    LocalStore(tmp_path, durable=False).put("a/b", 1)
    assert calls == []


def test_last_run_id_restored_from_and_provenance() -> None:
    store = MemoryStore()
    assert last_run_id(store) is None
    store.put("runs/latest", "abc")
    assert last_run_id(store) == "abc"
    restored = Success("restored from checkpoint of run abc; was: done", 1)
    assert restored_from(restored) == "abc"
    assert restored_from(Success("ran")) is None
    assert [provenance(s) for s in (restored, Cached(), Success(), Failed(), Pending())] == [
        "restored",
        "cached",
        "ran",
        "ran",
        "not run",
    ]


def test_store_cache_keeps_entries_newest_first_with_fingerprints(tmp_path: Path) -> None:
    cache = StoreCacheStore(LocalStore(tmp_path), max_entries_per_key=2)
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    for value in (1, 2, 3):
        cache.put("flow/t-1/m.f", Cached("cached result", value, {"x": f"p{value}"}, {}, later))
    fresh = StoreCacheStore(LocalStore(tmp_path))  # another process, same directory
    entries = fresh.get("flow/t-1/m.f")
    assert [e.result for e in entries] == [3, 2]
    assert entries[0].cached_inputs == {"x": "p3"}
    assert entries[0].expiration == later
    assert fresh.get("flow/other/m.f") == []


def test_store_cache_drops_expired_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = StoreCacheStore(MemoryStore())
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    monkeypatch.setattr(cache_validators, "_now", lambda: now)
    cache.put("k", Cached("c", 1, {}, {}, now + timedelta(seconds=5)))
    assert len(cache.get("k")) == 1
    monkeypatch.setattr(cache_validators, "_now", lambda: now + timedelta(seconds=6))
    assert cache.get("k") == []


def test_store_cache_keys_depend_on_the_registered_source_hash() -> None:
    cache = StoreCacheStore(MemoryStore())
    cache.register("flow/t-1/m.f", "source-v1")
    cache.put("flow/t-1/m.f", Cached("c", 1))
    cache.put("flow/t-1/m.f[0]", Cached("c", 10))
    assert [e.result for e in cache.get("flow/t-1/m.f[0]")] == [10]
    cache.register("flow/t-1/m.f", "source-v2")
    assert cache.get("flow/t-1/m.f") == []
    assert cache.get("flow/t-1/m.f[0]") == []


def test_store_cache_does_not_raise_for_unserializable_results(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = StoreCacheStore(MemoryStore())
    cache.put("k", Cached("c", threading.Lock()))
    assert cache.get("k") == []
    assert "not stored" in caplog.text


def test_journals_keep_whole_records_and_ignore_a_torn_tail(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    journal = store.open_journal("runs/r/journal")
    for value in ({"a": 1}, [2], "three"):
        journal.append(value)
    journal.close()
    journal.close()  # twice: no error
    assert store.read_journal("runs/r/journal") == [{"a": 1}, [2], "three"]
    path = tmp_path / "runs" / "r" / "journal"
    path.write_bytes(path.read_bytes()[:-2])  # killed while writing the last record
    assert store.read_journal("runs/r/journal") == [{"a": 1}, [2]]
    assert store.read_journal("runs/none/journal") == []
    with pytest.raises(StoreError):
        store.open_journal("runs/r/other").append(threading.Lock())


def test_memory_journals() -> None:
    store = MemoryStore()
    journal = store.open_journal("j")
    journal.append(1)
    journal.close()
    assert store.read_journal("j") == [1] and store.read_journal("other") == []


class PlainStore:
    """A store with only the four protocol methods (no journals)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.data[key]

    def put(self, key: str, value: Any) -> None:
        self.data[key] = value

    def exists(self, key: str) -> bool:
        return key in self.data

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


def test_checkpoints_work_on_a_store_without_journals() -> None:
    from headwater import Flow, task

    ran: list[int] = []

    @task
    def one() -> int:
        ran.append(1)
        return 1

    with Flow("plain") as flow:
        out = one()
    store = PlainStore()
    assert isinstance(store, ResultStore)
    flow.run(store=store)
    state = flow.run(store=store, resume="latest")
    assert ran == [1] and state.result[out].result == 1
    assert provenance(state.result[out]) == "restored"
