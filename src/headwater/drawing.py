"""Pictures of flows: Mermaid text (no dependency) and Graphviz (optional).

Both drawings show one node per task (parameters and mapped tasks with their
own shapes), data edges labelled with their key, and mapped edges dashed and
labelled ``map``. Given the state a ``flow.run()`` returned, nodes are
coloured by each task's final state. The colours live here, not on the
states: states carry no presentation.

Output is deterministic: nodes follow ``flow.sorted_tasks()`` (insertion
order if the flow holds a cycle), edges follow their tasks' positions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from headwater._parameter import Parameter
from headwater.errors import CycleError
from headwater.states import (
    Cached,
    Failed,
    Mapped,
    Pending,
    Retrying,
    Running,
    Skipped,
    State,
    Success,
    TimedOut,
    TriggerFailed,
    Waiting,
)

if TYPE_CHECKING:
    from headwater._edge import Edge
    from headwater._flow import Flow
    from headwater._task import Task

__all__ = ["STATE_STYLES", "StateStyle", "state_style", "to_mermaid", "visualize"]


class StateStyle(NamedTuple):
    """How nodes in one kind of final state are drawn."""

    name: str  # the Mermaid class name
    fill: str
    stroke: str


# Most specific first: the first class a state is an instance of wins.
STATE_STYLES: tuple[tuple[type[State], StateStyle], ...] = (
    (TriggerFailed, StateStyle("triggerfailed", "#ffe0b2", "#e65100")),
    (TimedOut, StateStyle("timedout", "#f8bbd0", "#ad1457")),
    (Failed, StateStyle("failed", "#ffcdd2", "#c62828")),
    (Skipped, StateStyle("skipped", "#eeeeee", "#757575")),
    (Cached, StateStyle("cached", "#bbdefb", "#1565c0")),
    (Mapped, StateStyle("mapped", "#d1c4e9", "#4527a0")),
    (Success, StateStyle("success", "#c8e6c9", "#2e7d32")),
    (Retrying, StateStyle("retrying", "#ffecb3", "#ff6f00")),
    (Waiting, StateStyle("waiting", "#fff9c4", "#f9a825")),
    (Pending, StateStyle("pending", "#fffde7", "#fbc02d")),
    (Running, StateStyle("running", "#b2ebf2", "#00838f")),
)
"""State class -> style, most specific first."""

_OTHER = StateStyle("otherstate", "#ffffff", "#000000")
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def state_style(state: State) -> StateStyle:
    """The style of a node whose task ended in ``state``.

    Example:
        >>> from headwater.states import TimedOut
        >>> state_style(TimedOut()).name
        'timedout'
    """
    for cls, style in STATE_STYLES:
        if isinstance(state, cls):
            return style
    return _OTHER


# -- what both drawings show ------------------------------------------------


class _Node(NamedTuple):
    id: str
    task: Task[Any]
    style: StateStyle | None


def _nodes(flow: Flow, flow_state: State | None) -> list[_Node]:
    try:
        tasks: tuple[Task[Any], ...] | list[Task[Any]] = flow.sorted_tasks()
    except CycleError:
        tasks = list(flow.tasks)
    states = _task_states(flow_state)
    by_slug = {task.slug: state for task, state in states.items()}
    nodes = []
    used: set[str] = set()
    for task in tasks:
        base = "t_" + _UNSAFE.sub("_", str(task.slug or task.name))
        node_id, count = base, 1
        while node_id in used:
            count += 1
            node_id = f"{base}_{count}"
        used.add(node_id)
        state = states.get(task) or by_slug.get(task.slug)
        nodes.append(_Node(node_id, task, None if state is None else state_style(state)))
    return nodes


def _task_states(flow_state: State | None) -> Mapping[Task[Any], State]:
    if flow_state is None:
        return {}
    result = getattr(flow_state, "result", None)
    if not isinstance(result, Mapping):
        raise TypeError(
            "flow_state must be the State returned by flow.run() (its .result maps "
            f"tasks to states), got {flow_state!r}"
        )
    return result


def _edges(flow: Flow, nodes: list[_Node]) -> list[tuple[str, str, Edge]]:
    ids = {node.task: (position, node.id) for position, node in enumerate(nodes)}
    edges = [
        (ids[edge.upstream_task], ids[edge.downstream_task], edge)
        for edge in flow.edges
        if edge.upstream_task in ids and edge.downstream_task in ids
    ]
    edges.sort(key=lambda item: (item[0][0], item[1][0], item[2].key or ""))
    return [(upstream[1], downstream[1], edge) for upstream, downstream, edge in edges]


def _edge_label(edge: Edge) -> str | None:
    if edge.mapped:
        return f"map: {edge.key}" if edge.key is not None else "map"
    return edge.key


def _used_styles(nodes: list[_Node]) -> list[StateStyle]:
    used = {node.style for node in nodes if node.style is not None}
    ordered = [style for _, style in STATE_STYLES if style in used]
    return ordered + ([_OTHER] if _OTHER in used else [])


# -- Mermaid ------------------------------------------------------------------


def to_mermaid(flow: Flow, flow_state: State | None = None) -> str:
    """The flow as a Mermaid ``flowchart TD``, coloured by state when given.

    Parameters are drawn as stadiums, mapped tasks as subroutines (double
    sides), other tasks as boxes. Data edges carry their key; mapped edges are
    dotted and labelled ``map: key``.

    Args:
        flow: the flow to draw.
        flow_state: the state ``flow.run()`` returned; tasks are matched by
            identity, else by slug (so a deserialized flow can be coloured).

    Returns:
        Mermaid source text (paste it in a Markdown ```` ```mermaid ```` block).

    Example:
        >>> from headwater import Flow, Parameter, task
        >>> @task
        ... def double(x: int) -> int:
        ...     return 2 * x
        >>> with Flow("demo") as flow:
        ...     result = double(Parameter("x"))
        >>> print(to_mermaid(flow))
        flowchart TD
            t_x(["x"])
            t_double_1["double<br/><small>double-1</small>"]
            t_x -->|x| t_double_1
    """
    nodes = _nodes(flow, flow_state)
    lines = ["flowchart TD"]
    for node in nodes:
        lines.append(f"    {node.id}{_mermaid_shape(node.task)}")
    for upstream, downstream, edge in _edges(flow, nodes):
        label = _edge_label(edge)
        arrow = "-.->" if edge.mapped else "-->"
        shown = f'|"{_mermaid_text(label)}"|' if label is not None else ""
        if label is not None and _SIMPLE.fullmatch(label):
            shown = f"|{label}|"
        lines.append(f"    {upstream} {arrow}{shown} {downstream}")
    styles = _used_styles(nodes)
    for style in styles:
        lines.append(f"    classDef {style.name} fill:{style.fill},stroke:{style.stroke}")
    for style in styles:
        members = ",".join(node.id for node in nodes if node.style == style)
        lines.append(f"    class {members} {style.name}")
    return "\n".join(lines)


_SIMPLE = re.compile(r"[A-Za-z0-9_]+")


def _mermaid_shape(task: Task[Any]) -> str:
    name = _mermaid_text(task.name)
    if isinstance(task, Parameter):
        return f'(["{name}"])'
    label = f"{name}<br/><small>{_mermaid_text(str(task.slug))}</small>"
    if task.mapped:
        return f'[["{label}"]]'
    return f'["{label}"]'


def _mermaid_text(text: str) -> str:
    return (
        text.replace("&", "#amp;")
        .replace('"', "#quot;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
        .replace("\n", " ")
    )


# -- Graphviz -----------------------------------------------------------------


def visualize(
    flow: Flow,
    flow_state: State | None = None,
    filename: str | None = None,
    format: str | None = None,
) -> Any:
    """The flow as a ``graphviz.Digraph``, coloured by state when given.

    Needs the ``graphviz`` package (``pip install 'headwater[viz]'``). Nothing
    is written unless ``filename`` is given; writing needs Graphviz's ``dot``
    program.

    Args:
        flow: the flow to draw.
        flow_state: the state ``flow.run()`` returned.
        filename: when given, render to this path (extension added).
        format: the file format, default ``"png"``.

    Returns:
        The ``graphviz.Digraph`` (``.source`` holds the DOT text).

    Raises:
        ImportError: the ``graphviz`` package is not installed.
        RuntimeError: ``filename`` was given but ``dot`` is not installed.

    Example:
        >>> from headwater import Flow, Task
        >>> flow = Flow("demo", tasks=[Task(name="a")])
        >>> "t_a_1" in visualize(flow).source
        True
    """
    try:
        import graphviz
    except ImportError as exc:
        raise ImportError(
            "Flow.visualize() needs the graphviz package: pip install 'headwater[viz]' "
            "(or use Flow.to_mermaid(), which needs nothing)"
        ) from exc
    graph = graphviz.Digraph(name=flow.name, graph_attr={"rankdir": "TB"})
    nodes = _nodes(flow, flow_state)
    for node in nodes:
        graph.node(node.id, **_graphviz_node(node))
    for upstream, downstream, edge in _edges(flow, nodes):
        attributes = {"style": "dashed"} if edge.mapped else {}
        label = _edge_label(edge)
        if label is not None:
            attributes["label"] = label
        graph.edge(upstream, downstream, **attributes)
    if filename is not None:
        _render(graph, graphviz, filename, format or "png")
    return graph


def _graphviz_node(node: _Node) -> dict[str, str]:
    task = node.task
    if isinstance(task, Parameter):
        attributes = {"label": _dot_text(task.name), "shape": "ellipse"}
    else:
        label = f"{_dot_text(task.name)}\\n{_dot_text(str(task.slug))}"
        attributes = {"label": label, "shape": "box"}
        if task.mapped:
            attributes["peripheries"] = "2"
    if node.style is not None:
        attributes.update(
            style="filled",
            fillcolor=node.style.fill,
            color=node.style.stroke,
            tooltip=node.style.name,
        )
    return attributes


def _dot_text(text: str) -> str:
    # graphviz quotes '"' but keeps backslashes, which DOT reads as escapes.
    return text.replace("\\", "\\\\")


def _render(graph: Any, graphviz: Any, filename: str, format: str) -> None:
    try:
        graph.render(filename, format=format, cleanup=True)
    except graphviz.ExecutableNotFound as exc:
        raise RuntimeError(
            "writing the flow's picture needs Graphviz's 'dot' program, which was not "
            "found on PATH: install Graphviz (apt-get install graphviz, "
            "brew install graphviz, or https://graphviz.org/download/), or call "
            "visualize() without filename= and use the returned graph's .source"
        ) from exc
