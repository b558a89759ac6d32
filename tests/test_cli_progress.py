"""The live display of ``headwater run`` and its end-of-run summary.

Plain mode is checked through a subprocess (its stdout is a pipe, not a
terminal); rich mode by driving :class:`RichDisplay` with a recording console.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from headwater import Flow, Parameter, signals, task
from headwater.cli._progress import PlainDisplay, RichDisplay, Tally, kind_of, make_display
from headwater.cli._run import EventFanout, exit_code
from headwater.cli._summary import (
    MAX_FAILURES,
    RunRecord,
    failures,
    print_plain,
    print_rich,
    rows,
)
from headwater.states import Failed, Success, Waiting

FLOWS = Path(__file__).parent / "cli_flows"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "headwater.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def event(task: str | None, old: str, new: str, **more: Any) -> dict[str, Any]:
    """An event dict as the runner makes them (see headwater._events)."""
    return {
        "time": "2026-01-01T00:00:00+00:00",
        "flow": "demo",
        "flow_run_id": "0",
        "task": task,
        "task_name": task,
        "map_index": None,
        "try": 1,
        "old": old,
        "new": new,
        "message": None,
        "duration": None,
        **more,
    }


@task
def one() -> int:
    return 1


@task
def halve(x: int) -> float:
    return x / 0


@task
def add(x: int, y: int) -> int:
    return x + y


def small_flow() -> tuple[Flow, Any]:
    """a -> (b fails) and c = a + n: 4 tasks, one failure."""
    with Flow("demo") as flow:
        n = Parameter("n", default=2)
        a = one()
        halve(a)
        c = add(a, n)
    return flow, c


# -- plain mode, through the command ------------------------------------------


def test_plain_lines_when_output_is_not_a_terminal() -> None:
    done = cli("run", str(FLOWS / "etl.py"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any("flow 'etl': Pending -> Running" in line for line in lines)
    assert any("extract-1: Running -> Retrying" in line and "flaky" in line for line in lines)
    assert any("double-1[2]: Running -> Success" in line for line in lines)
    assert any("[5/5] flow 'etl': Running -> Success" in line for line in lines)
    assert "\x1b[" not in done.stdout  # no terminal codes in a pipe


def test_plain_flag_and_quiet_flag() -> None:
    plain = cli("run", str(FLOWS / "etl.py"), "--plain")
    assert "extract-1: Pending -> Running" in plain.stdout
    quiet = cli("run", str(FLOWS / "etl.py"), "--quiet")
    assert "->" not in quiet.stdout
    assert "TASK" in quiet.stdout and "total-1" in quiet.stdout
    both = cli("run", str(FLOWS / "etl.py"), "--quiet", "--plain")
    assert both.returncode == 2  # mutually exclusive


def test_plain_display_in_process_counts_and_lines() -> None:
    flow, _ = small_flow()
    out = io.StringIO()
    display = PlainDisplay(len(flow.tasks), out)
    display.start()
    state = flow.run(events=display)
    display.stop()
    assert state.is_failed()
    text = out.getvalue()
    assert "halve-1: Running -> Failed" in text
    assert "ZeroDivisionError" in text
    assert display.tally.finished == 4
    assert display.tally.count("failed") == 1
    assert display.tally.count("done") == 3


# -- rich mode ----------------------------------------------------------------------


def rich_console() -> tuple[Any, io.StringIO]:
    console_module = pytest.importorskip("rich.console")
    buffer = io.StringIO()
    console = console_module.Console(file=buffer, force_terminal=True, width=120)
    return console, buffer


def test_rich_display_draws_the_bar_counts_and_failures() -> None:
    console, buffer = rich_console()
    flow, _ = small_flow()
    display = RichDisplay(len(flow.tasks), flow.name, console)
    display.start()
    flow.run(events=display)
    display.stop()
    text = ANSI.sub("", buffer.getvalue())
    assert "demo (Failed)" in text
    assert "4/4" in text
    assert "done 3 · failed 1" in text
    assert "✗ halve-1 Failed" in text
    assert "━" in text  # the bar


def test_rich_display_shows_what_is_running_and_retries() -> None:
    console, buffer = rich_console()
    display = RichDisplay(3, "demo", console)
    display.start()
    display(event(None, "Pending", "Running"))
    display(event("a", "Pending", "Running"))
    display(event("b", "Pending", "Running"))
    display(event("b", "Running", "Retrying", message="try 1 of 2 failed"))
    display._progress.refresh()
    middle = ANSI.sub("", buffer.getvalue())
    assert "0/3" in middle
    assert "running 1 · retrying 1" in middle
    assert "now: a" in middle
    assert "↻ b Retrying: try 1 of 2 failed" in middle
    display(event("a", "Running", "Success"))
    display(event("b", "Retrying", "Running"))
    display(event("b", "Running", "Success"))
    display(event("c", "Pending", "Skipped"))
    display.stop()
    assert "3/3" in ANSI.sub("", buffer.getvalue())


def test_rich_display_does_not_read_markup_from_messages() -> None:
    console, buffer = rich_console()
    display = RichDisplay(1, "demo", console)
    display.start()
    display(event("a[bold]", "Running", "Failed", message="bad [red]input[/red] here"))
    display.stop()
    assert "bad [red]input[/red] here" in ANSI.sub("", buffer.getvalue())


def test_rich_summary_table_and_tracebacks() -> None:
    console, buffer = rich_console()
    flow, c = small_flow()
    record = RunRecord()
    state = flow.run(events=record)
    print_rich(rows(flow, state, record), failures(flow, state), console)
    text = ANSI.sub("", buffer.getvalue())
    assert "TASK" in text and "RESULT / MESSAGE" in text
    assert re.search(r"add-1\s+Success\s+\d+\.\d\ds\s+1\s+3", text)
    assert "--- halve-1: Failed" in text
    assert "Traceback (most recent call last)" in text


def test_make_display_picks_rich_only_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(make_display("auto", 1, "f", io.StringIO()), PlainDisplay)
    assert isinstance(make_display("plain", 1, "f", Terminal()), PlainDisplay)
    pytest.importorskip("rich")
    assert isinstance(make_display("auto", 1, "f", Terminal()), RichDisplay)


# -- thread safety ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["plain", "rich"])
def test_displays_count_right_when_fed_from_many_threads(kind: str) -> None:
    threads, per_thread = 8, 50
    total = threads * per_thread
    if kind == "rich":
        console, _ = rich_console()
        display: PlainDisplay | RichDisplay = RichDisplay(total, "demo", console)
    else:
        display = PlainDisplay(total, io.StringIO())
    display.start()

    def feed(worker: int) -> None:
        for i in range(per_thread):
            slug = f"t{worker}-{i}"
            display(event(slug, "Pending", "Running"))
            display(event(slug, "Running", "Failed" if i % 10 == 0 else "Success"))

    workers = [threading.Thread(target=feed, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    display.stop()
    assert display.tally.finished == total
    assert display.tally.count("failed") == threads * per_thread // 10
    assert display.tally.count("running") == 0


# -- the pieces --------------------------------------------------------------------------


def test_kind_of() -> None:
    assert [kind_of(n) for n in ("Running", "Retrying", "Success", "Cached", "Mapped")] == [
        "running",
        "retrying",
        "done",
        "done",
        "done",
    ]
    assert [kind_of(n) for n in ("Failed", "TriggerFailed", "TimedOut")] == ["failed"] * 3
    assert kind_of("Waiting") == kind_of("Pending") == "waiting"
    assert kind_of("MyOwnState") == "done"


def test_tally_counts_a_mapped_parent_once_and_its_children_while_running() -> None:
    tally = Tally(1)
    tally.update(event("m", "Pending", "Running", map_index=0))
    tally.update(event("m", "Pending", "Running", map_index=1))
    assert tally.count("running") == 2
    assert tally.running() == ["m[0]", "m[1]"]
    tally.update(event("m", "Running", "Success", map_index=0))
    tally.update(event("m", "Running", "Failed", map_index=1))
    assert tally.finished == 0
    tally.update(event("m", "Pending", "Mapped"))
    assert tally.finished == 1
    assert tally.status() == "done 1"  # tasks: the mapped parent
    assert tally.count("failed") == 1  # units: the failed child


def test_run_record_times_and_tries() -> None:
    record = RunRecord()
    record(event("a", "Pending", "Running", time="2026-01-01T00:00:00+00:00"))
    record(event("a", "Running", "Retrying"))
    record(event("a", "Retrying", "Running", **{"try": 2}))
    record(event("a", "Running", "Success", duration=1.5, **{"try": 2}))
    child = {"map_index": 0, "time": "2026-01-01T00:00:01+00:00"}
    record(event("m", "Pending", "Running", **child))
    record(event("m", "Running", "Success", duration=0.5, **child))
    record(event("m", "Pending", "Mapped", time="2026-01-01T00:00:03+00:00", **{"try": 0}))
    assert record.seconds("a") == 1.5
    assert record.tries("a") == 2
    assert record.seconds("m") == 2.0  # first child start to the parent's end
    assert record.tries("m") == 0
    assert record.seconds("unknown") is None


def test_plain_summary_lists_every_task_and_the_tracebacks() -> None:
    flow, _ = small_flow()
    record = RunRecord()
    state = flow.run(events=record)
    out = io.StringIO()
    print_plain(rows(flow, state, record), failures(flow, state), out)
    text = out.getvalue()
    assert text.splitlines()[0].split() == [
        "TASK",
        "STATE",
        "TIME",
        "TRIES",
        "RESULT",
        "/",
        "MESSAGE",
    ]
    assert re.search(
        r"halve-1\s+Failed\s+\d+\.\d\ds\s+1\s+ZeroDivisionError: division by zero", text
    )
    assert re.search(r"n\s+Success\s+\S+\s+1\s+2", text)
    assert "--- halve-1: Failed:" in text
    assert "in halve\n    return x / 0" in text


def test_failures_include_failed_mapped_children() -> None:
    with Flow("mapped") as flow:
        halve.map([1, 2])
    state = flow.run()
    assert [label for label, _ in failures(flow, state)] == ["halve-1[0]", "halve-1[1]"]


def test_waiting_task_row() -> None:
    @task
    def wait() -> None:
        raise signals.WAIT("needs approval")

    with Flow("w") as flow:
        wait()
    record = RunRecord()
    state = flow.run(events=record)
    (row,) = rows(flow, state, record)
    assert (row.state, row.kind, row.detail) == ("Waiting", "waiting", "needs approval")


def test_fanout_feeds_every_sink_in_order_and_closes_them() -> None:
    seen: list[str] = []

    class Sink:
        def __init__(self, name: str) -> None:
            self.name = name

        def __call__(self, event: dict[str, Any]) -> None:
            seen.append(f"{self.name}:{event['new']}")

        def close(self) -> None:
            seen.append(f"{self.name}:closed")

    fanout = EventFanout(Sink("a"), Sink("b"), lambda e: None)
    fanout(event("x", "Pending", "Running"))
    fanout.close()
    assert seen == ["a:Running", "b:Running", "a:closed", "b:closed"]


def test_exit_codes_of_states() -> None:
    assert [exit_code(s) for s in (Success(), Failed(), Waiting())] == [0, 1, 3]


def test_many_failures_print_ten_tracebacks_then_a_count() -> None:
    with Flow("many") as flow:
        halve.map(list(range(12)))
    record = RunRecord()
    state = flow.run(events=record)
    table = rows(flow, state, record)
    mapped = next(row for row in table if row.task == "halve-1")
    assert (mapped.state, mapped.kind) == ("Mapped", "failed")
    out = io.StringIO()
    print_plain(table, failures(flow, state), out)
    text = out.getvalue()
    assert text.count("--- halve-1[") == MAX_FAILURES == 10
    assert "... and 2 more failures (halve-1[10], halve-1[11])" in text
