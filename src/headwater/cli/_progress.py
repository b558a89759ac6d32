"""The live display of a run: a rich progress bar, or one plain line per event.

Both displays are event sinks for ``flow.run(events=...)``: called with each
event dict (see ``headwater._events``) from whichever thread reports the state
change, so each one keeps its counts under a lock. ``start()`` before the run,
``stop()`` after it (also when it raised).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "Display",
    "PlainDisplay",
    "RichDisplay",
    "Tally",
    "kind_of",
    "make_display",
    "unit_label",
]

_DONE = frozenset({"Success", "Skipped", "Cached", "Mapped"})
_FAILED = frozenset({"Failed", "TriggerFailed", "TimedOut"})
_MESSAGE_WIDTH = 200


def kind_of(state_name: str) -> str:
    """What a task event's new state means for the display.

    Returns:
        ``"running"``, ``"retrying"``, or a final kind: ``"done"``
        (successful), ``"failed"``, or ``"waiting"`` (waiting, or left
        pending because an upstream task did not finish).

    Example:
        >>> kind_of("Cached"), kind_of("TimedOut"), kind_of("Pending")
        ('done', 'failed', 'waiting')
    """
    if state_name == "Running":
        return "running"
    if state_name == "Retrying":
        return "retrying"
    if state_name in _DONE:
        return "done"
    if state_name in _FAILED:
        return "failed"
    if state_name in ("Waiting", "Pending"):
        return "waiting"
    # A state class a state handler made up: classify it by its headwater base.
    from headwater import states

    found = getattr(states, state_name, None)
    if isinstance(found, type) and issubclass(found, states.Failed):
        return "failed"
    return "done"


def unit_label(event: dict[str, Any]) -> str:
    """``slug`` or ``slug[i]`` for a mapped child; ``flow 'name'`` for the flow."""
    if event["task"] is None:
        return f"flow {event['flow']!r}"
    index = event.get("map_index")
    return str(event["task"]) if index is None else f"{event['task']}[{index}]"


def _short(message: Any) -> str:
    """The first line of ``message``, cut to a line's width."""
    lines = str(message).strip().splitlines() if message else []
    text = lines[0] if lines else ""
    return text if len(text) <= _MESSAGE_WIDTH else text[: _MESSAGE_WIDTH - 3] + "..."


class Tally:
    """Counts of a run's units by kind; not locked (its owner locks).

    Args:
        total: how many tasks the flow has (mapped children are not counted
            in ``finished``, only their parent is).
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.finished = 0  # tasks (not mapped children) in a final kind
        self.kinds: dict[tuple[str, Any], str] = {}  # unit -> its latest kind

    def update(self, event: dict[str, Any]) -> str:
        """Record a task event; return its kind."""
        unit = (str(event["task"]), event.get("map_index"))
        kind = kind_of(str(event["new"]))
        previous = self.kinds.get(unit)
        self.kinds[unit] = kind
        final = kind in ("done", "failed", "waiting")
        if unit[1] is None and final and previous not in ("done", "failed", "waiting"):
            self.finished += 1
        return kind

    def count(self, kind: str, tasks_only: bool = False) -> int:
        """How many units are in ``kind`` now; mapped children too unless ``tasks_only``."""
        return sum(
            1
            for (_, index), value in self.kinds.items()
            if value == kind and not (tasks_only and index is not None)
        )

    def running(self) -> list[str]:
        """Labels of the units running now."""
        return [
            slug if index is None else f"{slug}[{index}]"
            for (slug, index), kind in self.kinds.items()
            if kind == "running"
        ]

    def status(self) -> str:
        """``"done 3 · running 2 · failed 1"``: zero counts left out, but done.

        Finished counts are of tasks (a mapped task counts once, as its
        parent); running and retrying counts include mapped children.
        """
        parts = [f"done {self.count('done', tasks_only=True)}"]
        for kind in ("running", "retrying", "failed", "waiting"):
            number = self.count(kind, tasks_only=kind in ("failed", "waiting"))
            if number:
                parts.append(f"{kind} {number}")
        return " · ".join(parts)


class Display(Protocol):
    """What the run command needs from a display."""

    def start(self) -> None:
        """Show the display (before the run)."""

    def __call__(self, event: dict[str, Any]) -> None:
        """Take one event of the run."""

    def stop(self) -> None:
        """Finish the display (after the run, also when it raised)."""


class PlainDisplay:
    """One line per state change, for logs, pipes and CI.

    Args:
        total: how many tasks the flow has.
        stream: where to write (default ``sys.stdout``).
        quiet: count events but print nothing.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> display = PlainDisplay(1, out)
        >>> display({"task": "add-1", "map_index": None, "flow": "f", "old": "Pending",
        ...          "new": "Running", "message": "try 1", "duration": None, "try": 1})
        >>> out.getvalue().split()[1:]
        ['[0/1]', 'add-1:', 'Pending', '->', 'Running', 'try', '1']
    """

    def __init__(self, total: int, stream: IO[str] | None = None, quiet: bool = False) -> None:
        self.tally = Tally(total)
        self._stream = stream if stream is not None else sys.stdout
        self.quiet = quiet
        self._lock = threading.Lock()
        self._started = time.monotonic()

    def start(self) -> None:
        """Start the clock the lines show."""
        self._started = time.monotonic()

    def __call__(self, event: dict[str, Any]) -> None:
        """Print the event as one line."""
        with self._lock:
            if event["task"] is not None:
                self.tally.update(event)
            if self.quiet:
                return
            elapsed = time.monotonic() - self._started
            line = (
                f"{elapsed:7.2f}s [{self.tally.finished}/{self.tally.total}] "
                f"{unit_label(event)}: {event['old']} -> {event['new']}"
            )
            if event.get("duration") is not None:
                line += f" ({event['duration']:.2f}s)"
            message = _short(event.get("message"))
            if message:
                line += f"  {message}"
            self._stream.write(line + "\n")
            self._stream.flush()

    def stop(self) -> None:
        """Nothing to tear down."""


class RichDisplay:
    """A live progress bar: tasks finished of all, counts, what is running.

    Failures and retries are printed above the bar as they happen.

    Args:
        total: how many tasks the flow has.
        flow_name: shown left of the bar.
        console: where to draw (default: a new ``rich.console.Console``).
    """

    def __init__(self, total: int, flow_name: str, console: Console | None = None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.tally = Tally(total)
        self.console = console if console is not None else Console()
        self._lock = threading.Lock()
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=self.console,
        )
        self._bar = self._progress.add_task(flow_name, total=max(total, 1), status="")
        self._flow_name = flow_name

    def start(self) -> None:
        """Start drawing (the bar refreshes in rich's own thread)."""
        self._progress.start()

    def __call__(self, event: dict[str, Any]) -> None:
        """Count the event; print failures and retries above the bar."""
        from rich.text import Text

        with self._lock:
            if event["task"] is None:
                self._progress.update(self._bar, description=f"{self._flow_name} ({event['new']})")
                return
            kind = self.tally.update(event)
            running = self.tally.running()
            shown = ", ".join(running[:3]) + (" ..." if len(running) > 3 else "")
            status = self.tally.status() + (f" · now: {shown}" if shown else "")
            self._progress.update(self._bar, completed=self.tally.finished, status=status)
            if kind in ("failed", "retrying"):
                mark, style = ("✗", "red") if kind == "failed" else ("↻", "yellow")
                line = Text.assemble(
                    (f"{mark} {unit_label(event)} {event['new']}", style),
                    f": {_short(event.get('message'))}",
                )
                self._progress.console.print(line)

    def stop(self) -> None:
        """Draw the final bar and stop refreshing."""
        with self._lock:
            self._progress.refresh()
            self._progress.stop()


def make_display(
    mode: str, total: int, flow_name: str, stream: IO[str] | None = None
) -> PlainDisplay | RichDisplay:
    """The display for ``mode``: ``"auto"``, ``"plain"`` or ``"quiet"``.

    ``"auto"`` draws a rich bar when rich is installed and ``stream`` (default
    stdout) is a terminal, else plain lines.
    """
    stream = stream if stream is not None else sys.stdout
    if mode == "auto" and stream.isatty():
        try:
            from rich.console import Console
        except ImportError:
            pass
        else:
            return RichDisplay(total, flow_name, Console(file=stream))
    return PlainDisplay(total, stream, quiet=mode == "quiet")
