"""The ``headwater`` command: run, show and draw flows from a terminal.

::

    headwater run flows.py:etl -p rows=5 --executor threads --workers 4
    headwater show flows.py:etl --format mermaid
    headwater visualize flows.py:etl -o etl.svg
    python -m headwater.cli --version

Only the standard library is needed; with ``rich`` installed (extra
``headwater[cli]``) ``run`` draws a live progress bar on a terminal. Nothing
in the core imports this package.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from headwater.cli._errors import EXIT_INTERRUPTED, CliError

__all__ = ["build_parser", "main"]

_TARGET_HELP = (
    "the flow: PATH.py[:NAME] or package.module[:NAME]; NAME is a module-level Flow "
    "(or a function returning one), optional when the module holds exactly one flow"
)

_RUN_EPILOG = """\
parameters: -p takes name=value pairs; a value is read as JSON when it parses
(3, 2.5, true, null, [1, 2], {"a": 1}, "007"), else kept as a string. A name
given twice keeps the last value.

exit codes:
  0    the flow run succeeded
  1    the flow run failed (the failures and their tracebacks are printed)
  2    usage error: bad arguments, a flow file that cannot be loaded, unknown or
       missing parameters, an invalid graph, an optional backend not installed
       (nothing ran)
  3    the run did not finish: some tasks are Waiting (signals.WAIT); resume it
       from Python with flow.run(task_states=state.result)
  130  interrupted with Ctrl-C
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``headwater`` argument parser, with its three sub-commands."""
    from headwater import __version__
    from headwater.cli._executor import EXECUTORS
    from headwater.cli._show import FORMATS

    parser = argparse.ArgumentParser(
        prog="headwater", description="Run, show and draw headwater flows."
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"headwater {__version__} (Python {sys.version.split()[0]})",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="run a flow, with a live progress display and a summary",
        description="Run a flow: live progress while it runs, then a table of every "
        "task's final state and the failures' tracebacks.",
        epilog=_RUN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("target", metavar="FLOW", help=_TARGET_HELP)
    run.add_argument(
        "-p",
        "--param",
        dest="parameters",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME=VALUE",
        help="a parameter value (repeatable; JSON or a plain string)",
    )
    run.add_argument(
        "--executor", choices=EXECUTORS, help="how tasks run (default: the flow's, else local)"
    )
    run.add_argument(
        "--workers",
        type=_positive,
        metavar="N",
        help="tasks run at once (threads, processes, dask)",
    )
    run.add_argument(
        "--address",
        metavar="tcp://HOST:PORT",
        help="a running Dask scheduler (implies --executor dask)",
    )
    run.add_argument(
        "--events", metavar="PATH", help="append every state change to PATH as JSON lines"
    )
    run.add_argument(
        "--store", metavar="PATH", help="checkpoint results and states to a store at PATH"
    )
    run.add_argument(
        "--resume", metavar="RUN_ID", help="resume a run checkpointed in --store ('latest' works)"
    )
    display = run.add_mutually_exclusive_group()
    display.add_argument(
        "--plain", action="store_true", help="one line per state change, no live bar"
    )
    display.add_argument(
        "-q", "--quiet", action="store_true", help="no progress output, only the summary"
    )

    show = commands.add_parser(
        "show",
        help="describe a flow: tasks, upstream tasks, parameters",
        description="Describe a flow: its parameters, then its tasks in run order with inputs.",
    )
    show.add_argument("target", metavar="FLOW", help=_TARGET_HELP)
    show.add_argument(
        "-f", "--format", choices=FORMATS, default="text", help="output format (default text)"
    )

    draw = commands.add_parser(
        "visualize",
        help="draw a flow's graph to a file",
        description="Draw a flow's graph. The suffix of -o picks the format: .svg, .png, .pdf ... "
        "(needs the graphviz package and Graphviz's dot program), .dot/.gv (Graphviz source) "
        "or .mmd (Mermaid).",
    )
    draw.add_argument("target", metavar="FLOW", help=_TARGET_HELP)
    draw.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``headwater`` command line; return the exit code.

    Args:
        argv: the arguments (default ``sys.argv[1:]``).

    Returns:
        The process exit code: see ``headwater run --help``.

    Example:
        >>> main(["--version"])  # doctest: +ELLIPSIS
        headwater ... (Python ...)
        0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # --help, --version, usage errors
        return exit.code if isinstance(exit.code, int) else 2
    try:
        if args.command == "run":
            from headwater.cli._run import run_command

            return run_command(args)
        from headwater.cli._show import show_command, visualize_command

        return show_command(args) if args.command == "show" else visualize_command(args)
    except CliError as error:
        sys.stdout.flush()
        print(f"headwater {args.command}: error: {error.message}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:  # while loading; `run` handles it during the run
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `headwater show ... | head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes
        return 128 + 13  # the shell's code for SIGPIPE
