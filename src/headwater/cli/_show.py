"""``headwater show`` (describe a flow) and ``headwater visualize`` (draw it).

Mermaid, Graphviz and JSON output come from ``Flow.to_mermaid()``,
``Flow.visualize()`` and ``Flow.serialize()``; Graphviz needs the ``viz``
extra, and writing an image also needs Graphviz's ``dot`` program.
"""

from __future__ import annotations

import argparse
import json
import reprlib
import shutil
from pathlib import Path
from typing import Any

from headwater import Flow, Parameter, Task, triggers
from headwater.cli._errors import EXIT_OK, CliError
from headwater.cli._load import load_valid_flow

__all__ = ["FORMATS", "describe", "show_command", "visualize_command"]

FORMATS = ("text", "mermaid", "dot", "json")

_short = reprlib.Repr()
_short.maxstring = 30
_short.maxother = 30
_short.maxlist = 4

_INSTALL_VIZ = "pip install 'headwater[viz]'"
_INSTALL_DOT = (
    "install Graphviz's `dot` program: apt-get install graphviz (Debian/Ubuntu), "
    "brew install graphviz (macOS), or see https://graphviz.org/download/"
)


def show_command(args: argparse.Namespace) -> int:
    """Print the flow ``args.target`` names in ``args.format``; return 0."""
    flow, _ = load_valid_flow(args.target)
    if args.format == "text":
        text = describe(flow)
    elif args.format == "mermaid":
        text = _optional(flow.to_mermaid, "headwater.drawing")
    elif args.format == "dot":
        text = _optional(lambda: flow.visualize().source, "headwater.drawing")
    else:
        data = _optional(flow.serialize, "headwater.serialization")
        text = json.dumps(data, indent=2, default=str)
    print(text.rstrip("\n"))
    return EXIT_OK


def describe(flow: Flow) -> str:
    """The flow in words: its parameters, then its tasks in run order.

    Each task line shows its inputs (``key=upstream`` for data edges,
    ``key=value`` for constants, ``after upstream`` for state-only edges) and
    its notable options.
    """
    tasks = flow.sorted_tasks()
    parameters = sorted(flow.parameters(), key=lambda parameter: parameter.name)
    lines = [
        f"flow {flow.name!r}: {len(tasks)} task{'s' * (len(tasks) != 1)}, "
        f"{len(parameters)} parameter{'s' * (len(parameters) != 1)}"
    ]
    if parameters:
        lines += ["", "parameters:"]
        width = max(len(parameter.name) for parameter in parameters)
        for parameter in parameters:
            lines.append(f"  {parameter.name.ljust(width)}  {_parameter_note(parameter)}")
    lines += ["", "tasks, in run order (inputs: key=upstream task; [options]):"]
    width = max((len(str(task.slug)) for task in tasks), default=0)
    references = flow.reference_tasks()
    for task in tasks:
        inputs = ", ".join(_inputs(flow, task))
        notes = "; ".join(_notes(task, task in references))
        line = f"  {str(task.slug).ljust(width)}  {inputs}"
        lines.append(f"{line}{'  [' + notes + ']' if notes else ''}".rstrip())
    return "\n".join(lines)


def _parameter_note(parameter: Parameter) -> str:
    if parameter.required:
        return "required"
    return f"default {parameter.default!r}"


def _inputs(flow: Flow, task: Task[Any]) -> list[str]:
    if isinstance(task, Parameter):
        return ["(parameter)"]
    shown = []
    edges = sorted(
        flow.edges_to(task), key=lambda edge: (edge.key or "", str(edge.upstream_task.slug))
    )
    for edge in edges:
        upstream = str(edge.upstream_task.slug) + (" (mapped)" if edge.mapped else "")
        shown.append(f"{edge.key}={upstream}" if edge.key else f"after {upstream}")
    for key, value in flow.constants.get(task, {}).items():
        shown.append(f"{key}={_short.repr(value)}")
    return shown


def _notes(task: Task[Any], reference: bool) -> list[str]:
    notes = []
    if task.name != task.slug and not str(task.slug).startswith(f"{task.name}-"):
        notes.append(f"name {task.name!r}")
    if task.mapped:
        notes.append("mapped")
    if task.max_retries:
        notes.append(f"retries {task.max_retries}")
    if task.timeout is not None:
        notes.append(f"timeout {task.timeout:g}s")
    if task.trigger is not triggers.all_successful:
        notes.append(f"trigger {triggers.trigger_name(task.trigger)}")
    if task.propagate_skip:
        notes.append("propagate_skip")
    if task.cache_for is not None:
        notes.append(f"cached for {task.cache_for}")
    if task.tags:
        notes.append("tags " + ",".join(sorted(task.tags)))
    if reference:
        notes.append("reference")
    return notes


def visualize_command(args: argparse.Namespace) -> int:
    """Draw the flow ``args.target`` names to ``args.output``; return 0.

    The file's suffix picks the format: ``.dot``/``.gv`` (Graphviz source),
    ``.mmd`` (Mermaid), or any format ``dot`` renders (``.svg``, ``.png``,
    ``.pdf`` ...).

    Raises:
        CliError: unknown suffix, or the graphviz package or ``dot`` is missing.
    """
    output = Path(args.output)
    suffix = output.suffix.lower().lstrip(".")
    if not suffix:
        raise CliError(f"{output}: give the file a suffix that names the format (.svg, .png ...)")
    flow, _ = load_valid_flow(args.target)
    if suffix in ("mmd", "mermaid"):
        data: bytes = _optional(flow.to_mermaid, "headwater.drawing").encode()
    else:
        graph = _optional(flow.visualize, "headwater.drawing")
        data = graph.source.encode() if suffix in ("dot", "gv") else _render(graph, suffix)
    try:
        output.write_bytes(data)
    except OSError as error:
        raise CliError(f"cannot write {output}: {error}") from None
    print(f"wrote {output}")
    return EXIT_OK


def _render(graph: Any, suffix: str) -> bytes:
    import graphviz

    formats = getattr(graphviz, "FORMATS", None)
    if formats is not None and suffix not in formats:
        raise CliError(f"Graphviz cannot write .{suffix} files; try .svg, .png or .pdf")
    if shutil.which("dot") is None:
        raise CliError(f"writing .{suffix} needs Graphviz: {_INSTALL_DOT}")
    try:
        rendered: bytes = graph.pipe(format=suffix)
    except graphviz.ExecutableNotFound:
        raise CliError(f"writing .{suffix} needs Graphviz: {_INSTALL_DOT}") from None
    except Exception as error:
        raise CliError(f"Graphviz failed to write .{suffix}: {error}") from None
    return rendered


def _optional(build: Any, module: str) -> Any:
    """``build()``, turning a missing optional module into an install hint."""
    try:
        return build()
    except ImportError as error:
        missing = error.name or ""
        if missing.startswith("headwater"):
            raise CliError(f"this installation of headwater lacks {module} ({error})") from None
        message = str(error)
        if "graphviz" not in message and missing != "graphviz":
            raise
        if _INSTALL_VIZ not in message:
            message = f"drawing with Graphviz needs the graphviz package: {_INSTALL_VIZ}"
        if shutil.which("dot") is None:
            message += f"; to write images, also {_INSTALL_DOT}"
        raise CliError(message) from None
