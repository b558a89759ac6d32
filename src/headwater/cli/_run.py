"""``headwater run``: load a flow, check its parameters, run it with a live
display, then print the summary and turn the flow state into an exit code.

Every check that can fail (loading, graph, parameters, executor, the events
file) happens before the run starts, so a usage error never runs a task.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from headwater import Flow
from headwater.cli._errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNFINISHED,
    CliError,
)
from headwater.cli._executor import make_executor, pickle_by_value
from headwater.cli._load import (
    check_parameters,
    is_file_target,
    load_valid_flow,
    parse_parameters,
    split_target,
)
from headwater.cli._progress import PlainDisplay, RichDisplay, make_display
from headwater.cli._summary import RunRecord, failures, print_plain, print_rich, rows
from headwater.errors import GraphError, ParameterError, ResumeError
from headwater.states import State

__all__ = ["EventFanout", "exit_code", "run_command"]

Sink = Callable[[dict[str, Any]], None]


class EventFanout:
    """One ``events=`` sink that hands each event to several sinks, in order.

    ``close()`` closes the sinks that can be closed (the ``--events`` file).
    """

    def __init__(self, *sinks: Sink) -> None:
        self.sinks = sinks

    def __call__(self, event: dict[str, Any]) -> None:
        """Give ``event`` to every sink."""
        for sink in self.sinks:
            sink(event)

    def close(self) -> None:
        """Close every sink that has a ``close()``."""
        for sink in self.sinks:
            close = getattr(sink, "close", None)
            if close is not None:
                close()


def exit_code(state: State) -> int:
    """0 for a successful run, 1 for a failed one, 3 for a waiting one.

    Example:
        >>> from headwater.states import Failed, Success, Waiting
        >>> [exit_code(s) for s in (Success(), Failed(), Waiting())]
        [0, 1, 3]
    """
    if state.is_successful():
        return EXIT_OK
    if state.is_failed():
        return EXIT_FAILED
    return EXIT_UNFINISHED


def run_command(args: argparse.Namespace) -> int:
    """Run the flow ``args.target`` names; return the exit code.

    Raises:
        CliError: the flow, its parameters, the executor or the events file
            are not usable (nothing ran).
    """
    flow, module = load_valid_flow(args.target)
    parameters = parse_parameters(args.parameters or ())
    check_parameters(flow, parameters)
    executor = make_executor(args.executor, args.workers, args.address)
    pickled = args.executor in ("processes", "dask") or args.address is not None
    if pickled and is_file_target(split_target(args.target)[0]):
        pickle_by_value(module)  # workers cannot import a flow file by name
    store_options = _store_options(getattr(args, "store", None), getattr(args, "resume", None))
    events_file = _open_events(args.events)
    mode = "quiet" if args.quiet else "plain" if args.plain else "auto"
    display = make_display(mode, len(flow.tasks), flow.name)
    record = RunRecord()
    sinks = EventFanout(record, display, *([events_file] if events_file else []))
    started = time.monotonic()
    interrupted = False
    display.start()
    try:
        state = flow.run(parameters=parameters, executor=executor, events=sinks, **store_options)
    except KeyboardInterrupt as interrupt:
        interrupted = True
        state = getattr(interrupt, "flow_state", None) or _nothing_ran()
    except (ParameterError, GraphError, ResumeError) as error:
        raise CliError(str(error)) from None
    except ImportError as error:
        raise CliError(f"the executor could not start: {error}") from None
    finally:
        display.stop()
        sinks.close()
    _report(flow, state, record, display, time.monotonic() - started)
    if store_options:
        _report_checkpoint(store_options["store"])
    if interrupted:
        print("interrupted (Ctrl-C): the table shows the states reached so far", file=sys.stderr)
        return EXIT_INTERRUPTED
    return exit_code(state)


def _nothing_ran() -> State:
    from headwater.states import Failed

    return Failed("interrupted before any task finished", {})


def _store_options(path: str | None, resume: str | None) -> dict[str, Any]:
    if path is None:
        if resume is not None:
            raise CliError("--resume needs --store: the store that holds the run's checkpoint")
        return {}
    from headwater.stores import LocalStore

    try:
        return {"store": LocalStore(path), "resume": resume}
    except OSError as error:
        raise CliError(f"cannot use the store: {error}") from None


def _report_checkpoint(store: Any) -> None:
    from headwater.stores import last_run_id

    run_id = last_run_id(store)
    print(f"checkpointed run {run_id} in {store.path} (resume with --resume {run_id})")


def _open_events(path: str | None) -> Sink | None:
    if path is None:
        return None
    from headwater._events import _JsonLinesFile

    try:
        return _JsonLinesFile(path)
    except OSError as error:
        raise CliError(f"cannot write the events file: {error}") from None


def _report(
    flow: Flow, state: State, record: RunRecord, display: PlainDisplay | RichDisplay, seconds: float
) -> None:
    table, failed = rows(flow, state, record), failures(flow, state)
    if isinstance(display, RichDisplay):
        console = display.console
        print_rich(table, failed, console)

        def write(text: str) -> None:
            console.print(text, markup=False, highlight=False)

    else:
        if not display.quiet:
            print()  # after the progress lines
        print_plain(table, failed, sys.stdout)

        def write(text: str) -> None:
            print(text)

    write("")
    write(f"flow {flow.name!r}: {type(state).__name__} in {seconds:.2f}s ({state.message})")
    if not state.is_finished():
        write(
            "the run did not finish (exit code 3): tasks are waiting. Resume it from "
            "Python: flow.run(task_states=state.result)"
        )
