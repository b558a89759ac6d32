"""The run record: every state change of a flow run, as JSON lines.

``flow.run(..., events=PATH)`` appends one JSON object per line to ``PATH``;
``events=callable`` calls it with each event dict instead. An event::

    {"time": "2026-11-25T19:40:00.123456+00:00", "flow": "etl",
     "flow_run_id": "3f2a...", "task": "load-1", "task_name": "load",
     "map_index": null, "try": 1, "old": "Pending", "new": "Running",
     "message": "try 1", "duration": null}

``task`` is ``null`` for the flow run's own changes; ``duration`` (seconds) is
set on a task's final state, measured from the start of its first try.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater._task import Task
    from headwater.states import State

__all__ = ["EventRecorder", "make_recorder", "read_events"]

EventSink = Callable[[dict[str, Any]], None]


class EventRecorder:
    """Turns state changes into event dicts and hands them to a sink."""

    def __init__(
        self, flow_name: str, flow_run_id: str, sink: EventSink, *, owns_sink: bool = False
    ) -> None:
        self.flow_name = flow_name
        self.flow_run_id = flow_run_id
        self._sink = sink
        self._owns_sink = owns_sink  # close only the files we opened, not user callables
        self._started: dict[tuple[int, int], float] = {}

    def task_event(
        self,
        task: Task[Any],
        unit: tuple[int, int],
        run_count: int,
        old: State,
        new: State,
        *,
        final: bool,
    ) -> None:
        """Record ``task`` (map index ``unit[1]``) moving from ``old`` to ``new``."""
        now = time.monotonic()
        duration = None
        if new.is_running():
            self._started.setdefault(unit, now)
        elif final:
            started = self._started.pop(unit, None)
            duration = None if started is None else round(now - started, 6)
        self._emit(
            task=task.slug,
            task_name=task.name,
            map_index=None if unit[1] < 0 else unit[1],
            run_count=run_count,
            old=old,
            new=new,
            duration=duration,
        )

    def flow_event(self, old: State, new: State) -> None:
        """Record the flow run moving from ``old`` to ``new``."""
        self._emit(task=None, task_name=None, map_index=None, run_count=None, old=old, new=new)

    def _emit(
        self,
        *,
        task: str | None,
        task_name: str | None,
        map_index: int | None,
        run_count: int | None,
        old: State,
        new: State,
        duration: float | None = None,
    ) -> None:
        self._sink(
            {
                "time": datetime.now(timezone.utc).isoformat(),
                "flow": self.flow_name,
                "flow_run_id": self.flow_run_id,
                "task": task,
                "task_name": task_name,
                "map_index": map_index,
                "try": run_count,
                "old": type(old).__name__,
                "new": type(new).__name__,
                "message": new.message,
                "duration": duration,
            }
        )

    def close(self) -> None:
        """Close the sink if the recorder opened it (an ``events=`` path)."""
        close = getattr(self._sink, "close", None)
        if self._owns_sink and close is not None:
            close()


class _JsonLinesFile:
    """A thread-safe JSON-lines writer; each line is flushed as written."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._file: IO[str] = open(path, "a", encoding="utf-8")  # noqa: SIM115
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, default=str)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


def make_recorder(
    events: str | os.PathLike[str] | EventSink | None, flow_name: str, flow_run_id: str
) -> EventRecorder | None:
    """An :class:`EventRecorder` for the ``events=`` run option, or ``None``."""
    if events is None:
        return None
    if callable(events):
        return EventRecorder(flow_name, flow_run_id, events)
    return EventRecorder(flow_name, flow_run_id, _JsonLinesFile(events), owns_sink=True)


def read_events(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The events recorded in a JSON-lines file, in order.

    Example:
        >>> import tempfile, os
        >>> from headwater import Flow, task
        >>> @task
        ... def one() -> int:
        ...     return 1
        >>> with Flow("f") as flow:
        ...     t = one()
        >>> path = os.path.join(tempfile.mkdtemp(), "events.jsonl")
        >>> _ = flow.run(events=path)
        >>> [e["new"] for e in read_events(path) if e["task"] == "one-1"]
        ['Running', 'Success']

    A last line cut short (the process died while writing it) is left out;
    any other line that is not JSON is an error.

    Raises:
        ValueError: a line other than an unfinished last one is not JSON.
    """
    with open(path, encoding="utf-8") as file:
        lines = file.read().split("\n")
    # After the final newline comes "" (a complete file) or an unfinished line.
    unfinished = lines.pop()
    events: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{os.fspath(path)!r}, line {number}: not a run-record event ({error}); "
                "is this a file written by flow.run(events=...)?"
            ) from None
    if unfinished.strip():
        with contextlib.suppress(json.JSONDecodeError):  # cut short by a crash
            events.append(json.loads(unfinished))
    return events
