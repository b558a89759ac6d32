"""The end of a run: a table of every task's final state, then the failures.

States come from the flow state's ``result`` (``dict[Task, State]``); times
and tries come from the run's events, gathered by :class:`RunRecord`.
"""

from __future__ import annotations

import reprlib
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from headwater.cli._progress import kind_of

if TYPE_CHECKING:
    from rich.console import Console

    from headwater import Flow
    from headwater.states import State

__all__ = ["MAX_FAILURES", "Row", "RunRecord", "failures", "print_plain", "print_rich", "rows"]

_short = reprlib.Repr()
_short.maxstring = 50
_short.maxother = 50
_short.maxlist = 5
_short.maxdict = 5
_DETAIL_WIDTH = 70
MAX_FAILURES = 10
"""How many failures the summary prints with their tracebacks."""


@dataclass
class _Unit:
    tries: int = 0
    duration: float | None = None
    started: datetime | None = None
    ended: datetime | None = None


class RunRecord:
    """An event sink keeping, per task (and mapped child), tries and times."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.units: dict[tuple[str, int | None], _Unit] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        """Take one event of the run."""
        if event["task"] is None:
            return
        with self._lock:
            unit = self.units.setdefault((str(event["task"]), event.get("map_index")), _Unit())
            unit.tries = max(unit.tries, event.get("try") or 0)
            when = datetime.fromisoformat(event["time"])
            kind = kind_of(str(event["new"]))
            if kind == "running" and unit.started is None:
                unit.started = when
            elif kind in ("done", "failed", "waiting"):
                unit.ended = when
                unit.duration = event.get("duration")

    def seconds(self, slug: str) -> float | None:
        """How long task ``slug`` took; a mapped task: first child start to its end."""
        with self._lock:
            unit = self.units.get((slug, None))
            if unit is None:
                return None
            if unit.duration is not None:
                return float(unit.duration)
            starts = [
                u.started for (s, _), u in self.units.items() if s == slug and u.started is not None
            ]
            if starts and unit.ended is not None:
                return (unit.ended - min(starts)).total_seconds()
            return None

    def tries(self, slug: str) -> int:
        """How many tries task ``slug`` ran (0: decided without running)."""
        with self._lock:
            unit = self.units.get((slug, None))
            return 0 if unit is None else unit.tries


@dataclass(frozen=True)
class Row:
    """One line of the summary table."""

    task: str
    state: str
    seconds: float | None
    tries: int
    detail: str
    kind: str


def rows(flow: Flow, flow_state: State, record: RunRecord) -> list[Row]:
    """A row per task of ``flow``, in run order."""
    states: dict[Any, State] = flow_state.result if isinstance(flow_state.result, dict) else {}
    table = []
    for task in flow.sorted_tasks():
        slug = str(task.slug)
        state = states.get(task)
        if state is None:
            table.append(Row(slug, "-", None, 0, "not run", "waiting"))
            continue
        name = type(state).__name__
        kind = kind_of(name)
        if any(child.is_failed() for child in getattr(state, "map_states", ()) or ()):
            kind = "failed"  # a mapped task with failed children fails the run
        shown_result = state.is_successful() and not state.is_mapped() and not state.is_skipped()
        if shown_result:
            detail = _short.repr(state.result)
        elif state.is_failed() and isinstance(state.result, BaseException):
            detail = f"{type(state.result).__name__}: {state.result}"
        else:
            detail = state.message or ""
        lines = detail.strip().splitlines()
        detail = lines[0] if lines else ""
        if len(detail) > _DETAIL_WIDTH:
            detail = detail[: _DETAIL_WIDTH - 3] + "..."
        table.append(Row(slug, name, record.seconds(slug), record.tries(slug), detail, kind))
    return table


def failures(flow: Flow, flow_state: State) -> list[tuple[str, State]]:
    """``(label, state)`` of every failed task and mapped child, in run order."""
    states: dict[Any, State] = flow_state.result if isinstance(flow_state.result, dict) else {}
    found = []
    for task in flow.sorted_tasks():
        state = states.get(task)
        if state is None:
            continue
        if state.is_failed():
            found.append((str(task.slug), state))
        for index, child in enumerate(getattr(state, "map_states", ()) or ()):
            if child.is_failed():
                found.append((f"{task.slug}[{index}]", child))
    return found


def _cells(row: Row) -> list[str]:
    seconds = "-" if row.seconds is None else f"{row.seconds:.2f}s"
    return [row.task, row.state, seconds, str(row.tries or "-"), row.detail]


_HEADER = ["TASK", "STATE", "TIME", "TRIES", "RESULT / MESSAGE"]


def print_plain(table: list[Row], failed: list[tuple[str, State]], stream: IO[str]) -> None:
    """Write the table and the failures with their tracebacks as plain text."""
    lines = [_HEADER, *(_cells(row) for row in table)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(_HEADER) - 1)]
    for line in lines:
        cells = [cell.ljust(width) for cell, width in zip(line, widths, strict=False)]
        stream.write(("  ".join([*cells, line[-1]])).rstrip() + "\n")
    for label, state in failed[:MAX_FAILURES]:
        stream.write(f"\n--- {label}: {type(state).__name__}: {state.message or ''}\n")
        traceback = getattr(state, "traceback", None)
        if traceback:
            stream.write(str(traceback).rstrip() + "\n")
    if len(failed) > MAX_FAILURES:
        stream.write(f"\n{_more(failed)}\n")


def print_rich(table: list[Row], failed: list[tuple[str, State]], console: Console) -> None:
    """Draw the table and the failures with their tracebacks on ``console``."""
    from rich.table import Table
    from rich.text import Text

    styles = {"done": "green", "failed": "red", "waiting": "yellow"}
    grid = Table(*_HEADER, box=None, header_style="bold")
    for row in table:
        cells = _cells(row)
        texts = [Text(cell) for cell in cells]  # Text: user strings are not markup
        texts[1] = Text(cells[1], style=styles.get(row.kind, ""))
        grid.add_row(*texts)
    console.print(grid)
    for label, state in failed[:MAX_FAILURES]:
        console.print()
        console.print(Text(f"--- {label}: {type(state).__name__}: {state.message or ''}", "red"))
        traceback = getattr(state, "traceback", None)
        if traceback:
            console.print(Text(str(traceback).rstrip()))
    if len(failed) > MAX_FAILURES:
        console.print()
        console.print(Text(_more(failed), "red"))


def _more(failed: list[tuple[str, State]]) -> str:
    more = failed[MAX_FAILURES:]
    names = ", ".join(label for label, _ in more[:5]) + (" ..." if len(more) > 5 else "")
    return f"... and {len(more)} more failures ({names}); --events PATH records them all"
