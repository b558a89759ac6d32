"""Parameter: a flow's input; its slug is its name; required/default rules."""

from __future__ import annotations

import pytest

from headwater import Flow, Parameter, Task, task
from headwater.errors import DuplicateSlugError, ParameterError, TaskDefinitionError


@task
def echo(v: object) -> object:
    return v


def test_is_a_task_with_slug_fixed_to_its_name() -> None:
    p = Parameter("x")
    assert isinstance(p, Task)
    assert p.name == "x"
    assert p.slug == "x"
    assert p.description is None
    assert repr(p) == "<Parameter: x>"


def test_slug_cannot_be_changed() -> None:
    p = Parameter("x")
    with pytest.raises(TaskDefinitionError, match="slug is its name and cannot be changed to 'y'"):
        p.slug = "y"
    p.slug = "x"
    assert p.slug == "x"
    with pytest.raises(TaskDefinitionError, match="drop slug='y'"):
        Parameter("x", slug="y")
    assert Parameter("x", slug="x").slug == "x"
    with pytest.raises(TaskDefinitionError, match="cannot be changed"):
        p.copy(slug="y")


def test_copy_keeps_the_slug_equal_to_the_name() -> None:
    p = Parameter("x", default=1)
    copied = p.copy()
    assert copied.slug == "x"
    assert copied.default == 1
    renamed = p.copy(name="z")
    assert renamed.slug == "z"


@pytest.mark.parametrize("bad", ["", None, 3])
def test_name_must_be_a_non_empty_string(bad: object) -> None:
    with pytest.raises(TypeError, match="a Parameter's name must be a non-empty string"):
        Parameter(bad)  # type: ignore[arg-type]


def test_no_default_means_required() -> None:
    p = Parameter("x")
    assert p.required is True
    assert p.default is None
    assert p.info() == {"name": "x", "required": True, "default": None}


def test_a_default_makes_it_optional() -> None:
    p = Parameter("x", default=3)
    assert p.required is False
    assert p.info() == {"name": "x", "required": False, "default": 3}


def test_a_falsy_default_still_makes_it_optional() -> None:
    assert Parameter("x", default=None).required is False
    assert Parameter("x", default=0).required is False


def test_required_true_with_a_default_keeps_it_required() -> None:
    p = Parameter("x", default=3, required=True)
    assert p.info() == {"name": "x", "required": True, "default": 3}


def test_required_false_without_a_default_defaults_to_none() -> None:
    p = Parameter("x", required=False)
    assert p.info() == {"name": "x", "required": False, "default": None}


def test_takes_task_options() -> None:
    p = Parameter("x", tags={"input"}, description="the x")
    assert p.tags == frozenset({"input"})
    assert p.description == "the x"


def test_run_outside_a_flow_run_returns_the_default() -> None:
    assert Parameter("x", default=4).run() == 4


def test_created_inside_a_flow_joins_it() -> None:
    with Flow("f") as flow:
        p = Parameter("x")
    assert flow.tasks == {p}
    assert flow.parameters() == {p}
    outside = Parameter("y")
    assert outside not in flow.tasks


def test_created_outside_a_flow_joins_when_used() -> None:
    p = Parameter("x", default=1)
    with Flow("f") as flow:
        used = echo(p)
    assert flow.parameters() == {p}
    assert flow.upstream_tasks(used) == {p}


def test_duplicate_parameter_name_in_a_flow_is_a_value_error() -> None:
    with Flow("f") as flow:
        first = Parameter("x")
        with pytest.raises(DuplicateSlugError, match="slug 'x'.*one Parameter object per name"):
            Parameter("x", default=2)
    assert flow.tasks == {first}
    with pytest.raises(ValueError, match="'x'"):
        flow.add_task(Parameter("x"))


def test_same_parameter_object_twice_is_fine() -> None:
    with Flow("f") as flow:
        p = Parameter("x")
        flow.add_task(p)
        both = echo([p, p])
    assert flow.parameters() == {p}
    assert flow.run(parameters={"x": 1}).result[both].result == [1, 1]


def test_value_supplied_to_run_else_default() -> None:
    with Flow("f") as flow:
        x = Parameter("x", default=1)
        y = Parameter("y", default=2, required=True)
        both = echo((x, y))
    assert flow.run(parameters={"y": 5}).result[both].result == (1, 5)
    assert flow.run(parameters={"x": 3, "y": 4}).result[both].result == (3, 4)


def test_missing_and_unknown_parameters_raise_before_running() -> None:
    ran = []

    @task
    def record(v: object) -> None:
        ran.append(v)

    with Flow("f") as flow:
        record(Parameter("x", default=1, required=True))
    with pytest.raises(ParameterError, match="x") as info:
        flow.run()
    assert info.value.missing == ("x",)
    with pytest.raises(ParameterError, match="nope") as info:
        flow.run(parameters={"x": 1, "nope": 2})
    assert info.value.unknown == ("nope",)
    assert ran == []
