"""Checkpoints: a flow run's results and states written to a result store,
and the seeds that resume it in another process.

Layout in the store (slugs are percent-quoted; ``[i]`` marks mapped child
``i``)::

    runs/latest              -> the id of the latest run started
    runs/<run id>/manifest   -> flow name, parameters' fingerprints, and per
                                task slug: source hash, edges in, constants
    runs/<run id>/journal    -> one record per final task (or child) state:
                                {"name": slug[i], "class", "message", "run_id",
                                 "checkpointed", "result" (successes), "children"}

The runner calls :meth:`Checkpoint.task_finished` with each final state; its
record, result included, is appended to the run's journal in one framed write
(length and checksum), so a process killed mid-write leaves a torn last record
that readers ignore. One append per task, instead of one file per task, is
what keeps the overhead per task small (see ``benchmarks/checkpoint.py``).
A store without journals gets one key per record (``<journal>/<i>``).
:func:`open_checkpoint` loads a checkpointed run's records and turns the
successful ones into ``task_states=`` seeds (failed, waiting and never-run
tasks run again); it refuses when a task that had finished has changed.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from headwater._cache import CacheStore, task_cache_key
from headwater._fingerprint import fingerprint, fingerprint_mapping
from headwater._taskrun import describe_exception
from headwater.errors import ResumeError, StoreError
from headwater.states import Cached, Mapped, Pending, Skipped, State, Success, _rebuild
from headwater.stores import (
    LATEST_KEY,
    RESTORED_PREFIX,
    Journal,
    JournalStore,
    ResultStore,
    StoreCacheStore,
    last_run_id,
)

if TYPE_CHECKING:
    from headwater._graph import FrozenGraph
    from headwater._task import Task

__all__ = ["Checkpoint", "open_checkpoint", "source_hash"]

_RESTORABLE: dict[str, type[State]] = {"Success": Success, "Cached": Cached, "Skipped": Skipped}
_WAS = "; was: "
_sources: weakref.WeakKeyDictionary[Callable[..., Any], str] = weakref.WeakKeyDictionary()


def source_hash(task: Task[Any]) -> str:
    """A stable hash of the task's code: its function's (or ``run``'s) source.

    Falls back to ``module.qualname`` when the source is not available.
    """
    function: Callable[..., Any] = getattr(task, "__wrapped__", None) or type(task).run
    known = _sources.get(function)
    if known is not None:
        return known
    try:
        text = inspect.getsource(function)
    except (OSError, TypeError):
        text = f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', '?')}"
    digest = fingerprint(text) or ""
    _sources[function] = digest
    return digest


def structure(graph: FrozenGraph) -> dict[str, dict[str, Any]]:
    """Per task slug: its source hash, its edges in and its constants' fingerprint."""
    tasks = graph.tasks
    return {
        str(task.slug): {
            "source": source_hash(task),
            "upstream": sorted(
                [str(tasks[up].slug), edge.key or "", bool(edge.mapped)]
                for up, edge in graph.upstream[index]
            ),
            "constants": fingerprint(dict(graph.constants[index])),
        }
        for index, task in enumerate(tasks)
    }


def _name(task: Task[Any], map_index: int) -> str:
    name = quote(str(task.slug), safe="")
    if name.startswith("."):
        name = "%2E" + name[1:]
    return name if map_index < 0 else f"{name}[{map_index}]"


class Checkpoint:
    """Writes one run's final states (with their results) to ``store`` as they come."""

    def __init__(self, store: ResultStore, graph: FrozenGraph, manifest: dict[str, Any]) -> None:
        self.store = store
        self.graph = graph
        self.manifest = manifest
        self.run_id = ""
        self.journal: Journal | None = None
        self.fetch: Callable[[Any], Any] = _identity
        self._written: set[str] = set()

    def start(self, run_id: str, fetch: Callable[[Any], Any] | None = None) -> Checkpoint:
        """Write the manifest of run ``run_id``, make it the latest run, open its journal.

        Args:
            run_id: the flow run's id.
            fetch: brings a result the executor keeps elsewhere (Dask) here.
        """
        self.run_id = run_id
        if fetch is not None:
            self.fetch = fetch
        self.store.put(f"runs/{run_id}/manifest", {**self.manifest, "run_id": run_id})
        self.store.put(LATEST_KEY, run_id)
        self.journal = open_journal(self.store, f"runs/{run_id}/journal")
        return self

    def close(self) -> None:
        """Finish the journal (a durable store syncs it)."""
        if self.journal is not None:
            self.journal.close()
            self.journal = None

    def task_finished(self, task: Task[Any], map_index: int, state: State) -> State:
        """Checkpoint a final state; the state to keep (noting a result not stored)."""
        if isinstance(state, Mapped) and map_index < 0:
            for child_index, child in enumerate(state.map_states):
                if _name(task, child_index) not in self._written:
                    self._write(task, _name(task, child_index), child)
        return self._write(task, _name(task, map_index), state)

    def _write(self, task: Task[Any], name: str, state: State) -> State:
        assert self.journal is not None, "start() the checkpoint first"
        record: dict[str, Any] = {
            "name": name,
            "class": type(state).__name__,
            "message": state.message,
            "run_id": self.run_id,
            "checkpointed": True,
        }
        if isinstance(state, Mapped):
            record["children"] = len(state.map_states)
        elif type(state) in _RESTORABLE.values() and state.result is not None:
            try:
                self.journal.append({**record, "result": self.fetch(state.result)})
                self._written.add(name)
                return state
            except StoreError as error:
                cached = " or cached" if task.cache_for is not None else ""
                cause = describe_exception(error.__cause__ or error)
                serializer = getattr(self.store, "serializer", "its serializer")
                note = f"result not checkpointed{cached}: {serializer!r} failed with {cause}"
                message = note if state.message is None else f"{state.message}; {note}"
                state = _rebuild(type(state), {**state._fields(), "message": message})
                record.update(message=message, checkpointed=False)
        self.journal.append(record)
        self._written.add(name)
        return state


def _identity(value: Any) -> Any:
    return value


def open_journal(store: ResultStore, key: str) -> Journal:
    """The store's own journal when it keeps journals, else one key per record."""
    if isinstance(store, JournalStore):
        return store.open_journal(key)
    return _KeyedJournal(store, key)


def read_journal(store: ResultStore, key: str) -> list[Any]:
    """The records :func:`open_journal` wrote under ``key``."""
    if isinstance(store, JournalStore):
        return store.read_journal(key)
    records: list[Any] = []
    while True:
        try:
            records.append(store.get(f"{key}/{len(records):08d}"))
        except KeyError:
            return records


class _KeyedJournal:
    """A journal over a plain result store: record ``i`` under ``<key>/<i>``."""

    def __init__(self, store: ResultStore, key: str) -> None:
        self._store, self._key, self._count = store, key, 0

    def append(self, value: Any) -> None:
        self._store.put(f"{self._key}/{self._count:08d}", value)
        self._count += 1

    def close(self) -> None:
        pass


def open_checkpoint(
    store: ResultStore,
    graph: FrozenGraph,
    parameters: Mapping[str, Any],
    resume: str | None,
    task_states: Mapping[Task[Any], State] | None,
    cache_store: CacheStore | None,
) -> tuple[Checkpoint, dict[Task[Any], State], CacheStore]:
    """Prepare checkpointing ``graph``'s run to ``store``, resuming ``resume``.

    Returns:
        ``(checkpoint, seeds, cache store)``: the seeds are the restored
        states, overridden by ``task_states``; the cache store is
        ``cache_store`` or one over ``store``.

    Raises:
        ResumeError: the run is unknown, its parameters differ, or a task it
            finished has changed since.
    """
    manifest: dict[str, Any] = {
        "format": "headwater.run/1",
        "flow": graph.flow_name,
        "started": datetime.now(timezone.utc).isoformat(),
        "parameters": fingerprint_mapping(parameters),
        "tasks": structure(graph),
        "resumed_from": None,
    }
    checkpoint = Checkpoint(store, graph, manifest)
    seeds: dict[Task[Any], State] = {}
    if resume is not None:
        run_id = _resolve_run_id(store, resume)
        manifest["resumed_from"] = run_id
        cleanup = getattr(store, "cleanup", None)
        if cleanup is not None:
            cleanup()
        seeds = _restore(checkpoint, run_id)
    seeds.update(task_states or {})
    cache = cache_store if cache_store is not None else StoreCacheStore(store)
    if isinstance(cache, StoreCacheStore):
        for task in graph.tasks:
            if task.cache_for is not None:
                cache.register(task_cache_key(graph.flow_name, task), source_hash(task))
    return checkpoint, seeds, cache


def _resolve_run_id(store: ResultStore, resume: str) -> str:
    run_id = last_run_id(store) if resume == "latest" else resume
    if run_id is None:
        raise ResumeError(f"cannot resume 'latest': no run was checkpointed in {store!r}")
    if not store.exists(f"runs/{run_id}/manifest"):
        raise ResumeError(f"cannot resume run {run_id!r}: {store!r} holds no checkpoint of it")
    return run_id


def _restore(checkpoint: Checkpoint, run_id: str) -> dict[Task[Any], State]:
    """The restorable states of run ``run_id`` as seeds; check the structure first."""
    store, graph = checkpoint.store, checkpoint.graph
    old = store.get(f"runs/{run_id}/manifest")
    new = checkpoint.manifest
    if old.get("flow") != graph.flow_name:
        raise ResumeError(
            f"cannot resume run {run_id!r}: it ran flow {old.get('flow')!r}, "
            f"not {graph.flow_name!r}"
        )
    changed_parameters = sorted(
        name for name in set(old["parameters"]) | set(new["parameters"])
        if old["parameters"].get(name, "?") != new["parameters"].get(name, "?")
    )  # fmt: skip
    if changed_parameters:
        raise ResumeError(
            f"cannot resume run {run_id!r}: parameters {', '.join(changed_parameters)} differ "
            "from that run's; start a new run instead",
            changed_parameters,
        )
    records = {record["name"]: record for record in read_journal(store, f"runs/{run_id}/journal")}
    seeds: dict[Task[Any], State] = {}
    changed: list[str] = []
    for task in graph.tasks:
        slug = str(task.slug)
        seed = _restore_task(run_id, task, records)
        if old["tasks"].get(slug) != new["tasks"][slug]:
            if seed is not None:
                changed.append(slug)
            continue
        if seed is not None:
            seeds[task] = seed
    if changed:
        raise ResumeError(
            f"cannot resume run {run_id!r}: tasks {', '.join(changed)} finished in that run "
            "but changed since (function source, inputs or edges); start a new run instead",
            changed,
        )
    return seeds


def _restore_task(run_id: str, task: Task[Any], records: dict[str, dict[str, Any]]) -> State | None:
    record = records.get(_name(task, -1))
    if task.mapped and (record is None or record["class"] == "Mapped"):
        return _restore_map(run_id, task, record, records)
    return None if record is None else _restore_record(run_id, record)


def _restore_map(
    run_id: str,
    task: Task[Any],
    record: dict[str, Any] | None,
    records: dict[str, dict[str, Any]],
) -> State | None:
    if record is not None:
        count: int = record["children"]
    else:  # the map did not finish: its children that did have records
        prefix = _name(task, -1) + "["
        found = [int(n[len(prefix) : -1]) for n in records if n.startswith(prefix)]
        count = max(found, default=-1) + 1
    restored = [_restore_record(run_id, records.get(_name(task, i))) for i in range(count)]
    if not any(restored):
        return None
    pending = Pending(f"not finished in run {run_id}: runs again")
    children = [child or pending for child in restored]
    if record is None:  # the map did not finish: a pending child makes it run again
        children.append(pending)
    message = record["message"] if record is not None else None
    return Mapped(
        _restored_message(run_id, message), [child.result for child in children], children
    )


def _restore_record(run_id: str, record: dict[str, Any] | None) -> State | None:
    if record is None or not record["checkpointed"]:
        return None
    kind = _RESTORABLE.get(record["class"])
    if kind is None:
        return None
    return kind(_restored_message(run_id, record["message"]), record.get("result"))


def _restored_message(run_id: str, message: str | None) -> str:
    if message and message.startswith(RESTORED_PREFIX):  # keep the original message only
        message = message.split(_WAS, 1)[1] if _WAS in message else None
    return f"{RESTORED_PREFIX}{run_id}" + (f"{_WAS}{message}" if message else "")
