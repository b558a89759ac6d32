"""Checkpoints: a flow run's results and states written to a result store,
and the seeds that resume it in another process.

Layout in the store (slugs are percent-quoted; ``[i]`` marks mapped child
``i``)::

    runs/latest                       -> the id of the latest run started
    runs/<run id>/manifest            -> flow name, parameters' fingerprints,
                                         per task: source hash, edges, constants
    runs/<run id>/states/<slug>[i]    -> {"class", "message", "run_id",
                                         "result": key | None, "checkpointed"}
    results/<run id>/<slug>[i]        -> the task's result

The runner calls :meth:`Checkpoint.task_finished` with each final task (and
child) state, which writes the result, then the state record: a record is
only ever written after its result, so a record never names a missing result.
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
from headwater.errors import ResumeError, StoreError
from headwater.states import Cached, Mapped, Pending, Skipped, State, Success, _rebuild
from headwater.stores import LATEST_KEY, RESTORED_PREFIX, ResultStore, StoreCacheStore, last_run_id

if TYPE_CHECKING:
    from headwater._graph import FrozenGraph
    from headwater._task import Task

__all__ = ["Checkpoint", "open_checkpoint", "source_hash"]

_RESTORABLE: dict[str, type[State]] = {"Success": Success, "Cached": Cached, "Skipped": Skipped}
_WAS = "; was: "
_MAX_CHILD_GAP = 8  # consecutive missing child records that end the search
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
    """Writes one run's results and final states to ``store`` as they come."""

    def __init__(self, store: ResultStore, graph: FrozenGraph, manifest: dict[str, Any]) -> None:
        self.store = store
        self.graph = graph
        self.manifest = manifest
        self.run_id = ""
        # id(seed state) -> (the seed, its result key, the run it came from)
        self.restored: dict[int, tuple[State, str | None, str]] = {}
        self._written: set[str] = set()

    def start(self, run_id: str) -> Checkpoint:
        """Write the manifest of run ``run_id`` and make it the latest run."""
        self.run_id = run_id
        self.store.put(f"runs/{run_id}/manifest", {**self.manifest, "run_id": run_id})
        self.store.put(LATEST_KEY, run_id)
        return self

    def task_finished(self, task: Task[Any], map_index: int, state: State) -> State:
        """Checkpoint a final state; the state to keep (noting a result not stored)."""
        name = _name(task, map_index)
        if isinstance(state, Mapped) and map_index < 0:
            for child_index, child in enumerate(state.map_states):
                if _name(task, child_index) not in self._written:
                    self._write(task, _name(task, child_index), child)
        return self._write(task, name, state)

    def _write(self, task: Task[Any], name: str, state: State) -> State:
        record: dict[str, Any] = {
            "class": type(state).__name__,
            "message": state.message,
            "run_id": self.run_id,
            "result": None,
            "checkpointed": True,
        }
        origin = self.restored.get(id(state))
        if origin is not None:
            record["result"], record["restored_from"] = origin[1], origin[2]
        elif isinstance(state, Mapped):
            record["children"] = len(state.map_states)
        elif type(state) in _RESTORABLE.values() and state.result is not None:
            key = f"results/{self.run_id}/{name}"
            try:
                self.store.put(key, state.result)
                record["result"] = key
            except StoreError as error:
                record["checkpointed"] = False
                cached = " or cached" if task.cache_for is not None else ""
                note = f"result not checkpointed{cached}: {error}"
                message = note if state.message is None else f"{state.message}; {note}"
                state = _rebuild(type(state), {**state._fields(), "message": message})
                record["message"] = message
        self.store.put(f"runs/{self.run_id}/states/{name}", record)
        self._written.add(name)
        return state


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
    seeds: dict[Task[Any], State] = {}
    changed: list[str] = []
    for task in graph.tasks:
        slug = str(task.slug)
        seed = _restore_task(checkpoint, run_id, task)
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


def _restore_task(checkpoint: Checkpoint, run_id: str, task: Task[Any]) -> State | None:
    record = _record(checkpoint.store, run_id, _name(task, -1))
    if task.mapped and (record is None or record["class"] == "Mapped"):
        return _restore_map(checkpoint, run_id, task, record)
    return None if record is None else _restore_record(checkpoint, run_id, record)


def _restore_map(
    checkpoint: Checkpoint, run_id: str, task: Task[Any], record: dict[str, Any] | None
) -> State | None:
    children: list[State] = []
    index, gap = 0, 0
    count = record["children"] if record is not None else None
    while (index < count) if count is not None else gap < _MAX_CHILD_GAP:
        child_record = _record(checkpoint.store, run_id, _name(task, index))
        child = None if child_record is None else _restore_record(checkpoint, run_id, child_record)
        gap = 0 if child_record is not None else gap + 1
        children.append(child or Pending(f"not finished in run {run_id}: runs again"))
        index += 1
    if count is None:  # the map did not finish: a pending child makes it run again
        del children[len(children) - gap + 1 :]
    if not any(checkpoint.restored.get(id(child)) for child in children):
        return None
    message = record["message"] if record is not None else "mapped (not finished)"
    state = Mapped(
        _restored_message(run_id, message), [child.result for child in children], children
    )
    return state


def _restore_record(checkpoint: Checkpoint, run_id: str, record: dict[str, Any]) -> State | None:
    kind = _RESTORABLE.get(record["class"])
    if kind is None or not record.get("checkpointed", True):
        return None
    key = record["result"]
    try:
        result = None if key is None else checkpoint.store.get(key)
    except KeyError:
        return None  # missing or incomplete: the task runs again
    state = kind(_restored_message(run_id, record["message"]), result)
    checkpoint.restored[id(state)] = (state, key, run_id)
    return state


def _restored_message(run_id: str, message: str | None) -> str:
    if message and message.startswith(RESTORED_PREFIX) and _WAS in message:
        message = message.split(_WAS, 1)[1]
    return f"{RESTORED_PREFIX}{run_id}" + (f"{_WAS}{message}" if message else "")


def _record(store: ResultStore, run_id: str, name: str) -> dict[str, Any] | None:
    try:
        record: dict[str, Any] = store.get(f"runs/{run_id}/states/{name}")
    except KeyError:
        return None
    return record
