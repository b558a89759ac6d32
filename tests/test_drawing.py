"""Tests for headwater.drawing (Mermaid text and graphviz digraphs)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

import _ser_tasks as T
from headwater import Flow, Parameter, Task
from headwater.drawing import STATE_STYLES, state_style, to_mermaid, visualize
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


@pytest.fixture
def graphviz() -> Any:
    """The graphviz package; its tests are skipped when it is not installed."""
    return pytest.importorskip("graphviz")


NODE = re.compile(r"^    (t_\w+)(\(\[|\[\[|\[)\"(.*)\"(\]\)|\]\]|\])$")


def build() -> tuple[Flow, dict[str, Task[Any]]]:
    """A flow with a parameter, data, state-only and mapped edges, a failure and a skip."""
    with Flow("drawn") as flow:
        p = Parameter("p", default=1)
        failed = T.boom(p)
        after_failure = T.add(failed)
        skipped = T.skipper()
        after_skip = T.add(skipped, y=p)
        mapped = T.inc.map([p, 2])
        reduced = T.total(mapped, upstream_tasks=[after_skip])
    tasks = dict(
        p=p,
        failed=failed,
        after_failure=after_failure,
        skipped=skipped,
        after_skip=after_skip,
        mapped=mapped,
        reduced=reduced,
    )
    return flow, tasks


def node_lines(text: str) -> list[re.Match[str]]:
    return [m for line in text.splitlines() if (m := NODE.match(line))]


def classes(text: str) -> dict[str, set[str]]:
    """Mermaid class name -> node ids, from the ``class a,b name`` lines."""
    found: dict[str, set[str]] = {}
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "class":
            found[parts[2]] = set(parts[1].split(","))
    return found


def node_id(text: str, slug: str) -> str:
    for match in node_lines(text):
        if match.group(3).endswith(f"<small>{slug}</small>") or match.group(3) == slug:
            return match.group(1)
    raise AssertionError(f"no node for {slug!r}")


# -- Mermaid ------------------------------------------------------------------


def test_mermaid_draws_one_node_per_task_with_shapes_and_labels() -> None:
    flow, tasks = build()
    text = to_mermaid(flow)
    assert text.splitlines()[0] == "flowchart TD"
    nodes = node_lines(text)
    assert len(nodes) == len(flow.tasks) == 8
    shapes = {m.group(1): m.group(2) for m in nodes}
    assert shapes["t_p"] == "(["  # parameter: stadium
    assert shapes["t_inc_1"] == "[["  # mapped task: subroutine
    assert shapes["t_boom_1"] == "["
    assert '    t_boom_1["boom<br/><small>boom-1</small>"]' in text
    assert [m.group(1) for m in nodes] == [
        "t_" + t.slug.replace("-", "_") for t in flow.sorted_tasks()
    ]
    assert "classDef" not in text and "\n    class " not in text


def test_mermaid_edges_show_keys_mapping_and_state_only_dependencies() -> None:
    flow, tasks = build()
    text = to_mermaid(flow)
    edges = [line.strip() for line in text.splitlines() if "-->" in line or "-.->" in line]
    assert len(edges) == len(flow.edges)
    assert "t_p -->|x| t_boom_1" in edges
    assert "t_skipper_1 -->|x| t_add_2" in edges and "t_p -->|y| t_add_2" in edges
    assert 't_List_1 -.->|"map: x"| t_inc_1' in edges
    assert "t_add_2 --> t_total_1" in edges  # upstream_tasks: no label
    assert "t_inc_1 -->|xs| t_total_1" in edges


def test_mermaid_colours_nodes_by_final_state() -> None:
    flow, tasks = build()
    state = flow.run()
    text = to_mermaid(flow, state)
    found = classes(text)
    assert found["failed"] == {"t_boom_1", "t_add_2"}
    assert found["skipped"] == {"t_skipper_1"}
    assert found["triggerfailed"] == {"t_add_1", "t_total_1"}
    assert found["mapped"] == {"t_inc_1"}
    assert found["success"] == {"t_p", "t_List_1"}
    defined = re.findall(r"^    classDef (\w+) fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6}$", text, re.M)
    assert sorted(defined) == sorted(found)
    every_node = set().union(*found.values())
    assert len(every_node) == len(flow.tasks)


def test_mermaid_is_deterministic_across_copies_and_round_trips() -> None:
    flow, _ = build()
    text = to_mermaid(flow)
    assert to_mermaid(flow) == text
    assert to_mermaid(flow.copy()) == text
    again, _ = build()
    assert to_mermaid(again) == text
    rebuilt = Flow.deserialize(json.loads(json.dumps(flow.serialize())))
    assert rebuilt.to_mermaid() == text
    assert rebuilt.to_mermaid(flow.run()) == to_mermaid(flow, flow.run())  # matched by slug


def test_mermaid_ids_are_safe_and_unique_and_labels_escaped() -> None:
    flow = Flow(
        "odd",
        tasks=[
            Task(name='say "hi" <b>', slug="a b/c"),
            Task(name="x", slug="a-b-c"),
            Task(name="end", slug="end"),
        ],
    )
    text = flow.to_mermaid()
    ids = [m.group(1) for m in node_lines(text)]
    assert ids == ["t_a_b_c", "t_a_b_c_2", "t_end"]
    assert '"say #quot;hi#quot; #lt;b#gt;<br/><small>a b/c</small>"' in text


def test_mermaid_draws_a_flow_with_a_cycle_in_insertion_order() -> None:
    a, b = Task(name="a"), Task(name="b")
    flow = Flow("cyclic")
    flow.add_edge(a, b)
    flow.add_edge(b, a, validate=False)
    text = to_mermaid(flow)
    assert [m.group(1) for m in node_lines(text)] == ["t_a_1", "t_b_1"]
    assert "t_a_1 --> t_b_1" in text and "t_b_1 --> t_a_1" in text


def test_drawing_rejects_something_that_is_not_a_flow_state() -> None:
    flow, _ = build()
    with pytest.raises(TypeError, match=r"State returned by flow.run\(\)"):
        to_mermaid(flow, Success(result=3))


@pytest.mark.parametrize(
    ("state", "name"),
    [
        (Success(), "success"),
        (Failed(), "failed"),
        (Skipped(), "skipped"),
        (Cached(), "cached"),
        (Mapped(), "mapped"),
        (Pending(), "pending"),
        (Waiting(), "waiting"),
        (Retrying(), "retrying"),
        (TriggerFailed(), "triggerfailed"),
        (TimedOut(), "timedout"),
        (Running(), "running"),
        (State(), "otherstate"),
    ],
)
def test_state_style_picks_the_most_specific_style(state: State, name: str) -> None:
    assert state_style(state).name == name


def test_state_styles_are_distinct() -> None:
    names = [style.name for _, style in STATE_STYLES]
    fills = [style.fill for _, style in STATE_STYLES]
    assert len(set(names)) == len(names) and len(set(fills)) == len(fills)


def test_mermaid_colours_cached_and_given_states() -> None:
    with Flow("seeded") as flow:
        a = T.inc(1)
        b = T.inc(a)
        c = T.inc(b)
    fake = Success(result={a: Cached(result=2), b: Retrying(), c: Waiting()})
    found = classes(to_mermaid(flow, fake))
    assert found == {"cached": {"t_inc_1"}, "retrying": {"t_inc_2"}, "waiting": {"t_inc_3"}}


# -- graphviz -----------------------------------------------------------------


def test_visualize_builds_a_digraph_without_writing_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, graphviz: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    flow, _ = build()
    graph = flow.visualize()
    assert isinstance(graph, graphviz.Digraph)
    source = graph.source
    assert source.startswith("digraph drawn {")
    nodes = re.findall(r"^\tt_\w+ \[", source, re.M)
    edges = re.findall(r"^\tt_\w+ -> t_\w+", source, re.M)
    assert len(nodes) == len(flow.tasks) and len(edges) == len(flow.edges)
    assert "t_p [label=p shape=ellipse]" in source
    assert 't_boom_1 [label="boom\\nboom-1" shape=box]' in source
    assert 't_List_1 -> t_inc_1 [label="map: x" style=dashed]' in source
    assert "t_p -> t_boom_1 [label=x]" in source
    assert "t_add_2 -> t_total_1\n" in source
    assert "peripheries=2" in source  # the mapped task
    assert "filled" not in source
    assert list(tmp_path.iterdir()) == []


def test_visualize_colours_nodes_by_final_state(graphviz: Any) -> None:
    flow, _ = build()
    source = visualize(flow, flow.run()).source
    failed = dict(STATE_STYLES)[Failed]
    skipped = dict(STATE_STYLES)[Skipped]
    assert f'color="{failed.stroke}" fillcolor="{failed.fill}"' in source
    line = next(line for line in source.splitlines() if line.startswith("\tt_boom_1 "))
    assert f'fillcolor="{failed.fill}"' in line and "style=filled" in line
    line = next(line for line in source.splitlines() if line.startswith("\tt_skipper_1 "))
    assert f'fillcolor="{skipped.fill}"' in line and "tooltip=skipped" in line


def test_visualize_escapes_backslashes_and_quotes(graphviz: Any) -> None:
    flow = Flow("esc", tasks=[Task(name='a\\l"q"', slug="s")])
    assert 'label="a\\\\l\\"q\\"\\ns"' in visualize(flow).source


def test_visualize_renders_only_when_given_a_filename(
    monkeypatch: pytest.MonkeyPatch, graphviz: Any
) -> None:
    calls: list[tuple[Any, ...]] = []

    def fake_render(self: Any, filename: str, **kwargs: Any) -> str:
        calls.append((filename, kwargs))
        return f"{filename}.{kwargs['format']}"

    monkeypatch.setattr(graphviz.Digraph, "render", fake_render)
    flow, _ = build()
    visualize(flow)
    assert calls == []
    visualize(flow, filename="out/flow")
    visualize(flow, filename="out/flow", format="svg")
    assert calls == [
        ("out/flow", {"format": "png", "cleanup": True}),
        ("out/flow", {"format": "svg", "cleanup": True}),
    ]


def test_visualize_says_how_to_install_graphviz_when_dot_is_missing(
    monkeypatch: pytest.MonkeyPatch, graphviz: Any
) -> None:
    def no_dot(self: Any, *args: Any, **kwargs: Any) -> str:
        raise graphviz.ExecutableNotFound(("dot",))

    monkeypatch.setattr(graphviz.Digraph, "render", no_dot)
    flow, _ = build()
    with pytest.raises(RuntimeError, match=r"'dot' program.*apt-get install graphviz") as info:
        flow.visualize(filename="flow")
    assert isinstance(info.value.__cause__, graphviz.ExecutableNotFound)


def test_visualize_without_the_graphviz_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", None)
    flow, _ = build()
    with pytest.raises(ImportError, match=r"pip install 'headwater\[viz\]'"):
        flow.visualize()
    assert flow.to_mermaid().startswith("flowchart TD")  # needs nothing
