"""The error hierarchy: what each error is, and the data it carries."""

from __future__ import annotations

import pytest

from headwater import Flow, Task
from headwater.errors import (
    CycleError,
    DuplicateEdgeKeyError,
    DuplicateSlugError,
    FlowValidationError,
    GraphError,
    HeadwaterError,
    NoActiveFlowError,
    ParameterError,
    SerializationError,
    TaskDefinitionError,
)


@pytest.mark.parametrize(
    ("error", "bases"),
    [
        (TaskDefinitionError, (HeadwaterError, ValueError)),
        (NoActiveFlowError, (HeadwaterError, RuntimeError)),
        (GraphError, (HeadwaterError, ValueError)),
        (CycleError, (GraphError, HeadwaterError, ValueError)),
        (DuplicateSlugError, (GraphError, ValueError)),
        (DuplicateEdgeKeyError, (GraphError, ValueError)),
        (FlowValidationError, (GraphError, ValueError)),
        (ParameterError, (HeadwaterError, ValueError)),
        (SerializationError, (HeadwaterError, ValueError)),
    ],
)
def test_hierarchy(error: type[Exception], bases: tuple[type[Exception], ...]) -> None:
    for base in bases:
        assert issubclass(error, base)
    assert issubclass(error, HeadwaterError)


def test_cycle_error_carries_the_cycle_as_a_tuple() -> None:
    exc = CycleError("a -> b -> a", ["a", "b", "a"])
    assert exc.cycle == ("a", "b", "a")
    assert str(exc) == "a -> b -> a"
    with pytest.raises(ValueError, match="a -> b"):
        raise exc


def test_cycle_error_from_a_flow_names_the_tasks() -> None:
    a, b = Task(name="a"), Task(name="b")
    flow = Flow("f", edges=[(a, b)])
    with pytest.raises(CycleError, match=r"edge b-1 -> a-1 would close a cycle: b-1 -> a-1 -> b-1"):
        flow.add_edge(b, a)
    with pytest.raises(CycleError) as info:
        flow.add_edge(b, a)
    assert info.value.cycle == (b, a, b)


def test_parameter_error_carries_missing_and_unknown() -> None:
    exc = ParameterError("bad parameters", missing=["x"], unknown=("y", "z"))
    assert exc.missing == ("x",)
    assert exc.unknown == ("y", "z")
    assert str(exc) == "bad parameters"
    assert ParameterError("m").missing == ()
    assert ParameterError("m").unknown == ()
