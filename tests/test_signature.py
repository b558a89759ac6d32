"""RunSignature: a task's run() checked once, then used to bind call arguments."""

from __future__ import annotations

from typing import Any

import pytest

from headwater._signature import RESERVED_ARGUMENTS, RunSignature
from headwater.errors import TaskDefinitionError


def add(x: int, y: int = 1, *, scale: float = 1.0) -> float:
    return (x + y) * scale


def loose(a, b=None):  # type: ignore[no-untyped-def]
    return a, b


def keywords(x: int, **more: Any) -> None:
    pass


def sig(function: Any, *, is_method: bool = False) -> RunSignature:
    return RunSignature(function, "t", is_method=is_method)


def test_records_names_positional_required_defaults() -> None:
    signature = sig(add)
    assert signature.names == frozenset({"x", "y", "scale"})
    assert signature.positional == ("x", "y")
    assert signature.required == ("x",)
    assert dict(signature.defaults) == {"y": 1, "scale": 1.0}
    assert signature.var_keyword is False


def test_is_method_drops_self() -> None:
    class Holder:
        def run(self, value: int) -> int:
            return value

    signature = sig(Holder.run, is_method=True)
    assert signature.names == frozenset({"value"})
    assert signature.positional == ("value",)


def test_inputs_in_definition_order() -> None:
    inputs = sig(add).inputs()
    assert list(inputs) == ["x", "y", "scale"]
    assert inputs["x"] == {"required": True, "default": None, "type": int}
    assert inputs["y"] == {"required": False, "default": 1, "type": int}
    assert inputs["scale"] == {"required": False, "default": 1.0, "type": float}


def test_inputs_of_unannotated_arguments_have_type_any() -> None:
    inputs = sig(loose).inputs()
    assert inputs["a"] == {"required": True, "default": None, "type": Any}
    assert inputs["b"] == {"required": False, "default": None, "type": Any}


def test_unresolvable_annotations_are_kept_as_written() -> None:
    def uses_undefined(x: NotDefinedAnywhere) -> None:  # type: ignore[name-defined]  # noqa: F821
        pass

    assert sig(uses_undefined).inputs()["x"]["type"] == "NotDefinedAnywhere"


def test_var_keyword_accepts_any_keyword() -> None:
    signature = sig(keywords)
    assert signature.var_keyword is True
    assert signature.names == frozenset({"x"})
    assert signature.bind("t", (1,), {"anything": 2}, partial=False) == {"x": 1, "anything": 2}


def test_bind_positional_and_keyword() -> None:
    signature = sig(add)
    assert signature.bind("add", (1,), {}, partial=False) == {"x": 1}
    assert signature.bind("add", (1, 2), {"scale": 3}, partial=False) == {
        "x": 1,
        "y": 2,
        "scale": 3,
    }
    assert signature.bind("add", (), {"y": 5}, partial=True) == {"y": 5}


def test_bind_errors_read_like_python_call_errors() -> None:
    signature = sig(add)
    with pytest.raises(TypeError, match=r"add\(\) takes 2 positional arguments but 3 were given"):
        signature.bind("add", (1, 2, 3), {}, partial=False)
    with pytest.raises(TypeError, match=r"add\(\) got multiple values for argument 'x'"):
        signature.bind("add", (1,), {"x": 2}, partial=False)
    with pytest.raises(TypeError, match=r"add\(\) got an unexpected keyword argument 'z'"):
        signature.bind("add", (), {"x": 1, "z": 2}, partial=False)
    with pytest.raises(TypeError, match=r"add\(\) missing 1 required argument: 'x'"):
        signature.bind("add", (), {"y": 1}, partial=False)


def test_bind_missing_several_and_singular_positional() -> None:
    def two(a: int, b: int) -> None:
        pass

    def one(a: int) -> None:
        pass

    with pytest.raises(TypeError, match=r"missing 2 required arguments: 'a', 'b'"):
        sig(two).bind("two", (), {}, partial=False)
    with pytest.raises(TypeError, match=r"takes 1 positional argument but 2 were given"):
        sig(one).bind("one", (1, 2), {}, partial=False)


def test_keyword_only_arguments_cannot_be_positional() -> None:
    with pytest.raises(TypeError, match="positional"):
        sig(add).bind("add", (1, 2, 3.0), {}, partial=False)


def test_var_positional_is_rejected() -> None:
    def star(*items: int) -> None:
        pass

    with pytest.raises(TaskDefinitionError, match=r"takes \*items.*may not take \*args"):
        sig(star)


@pytest.mark.parametrize("name", sorted(RESERVED_ARGUMENTS))
def test_reserved_names_are_rejected(name: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"def f({name}): pass", namespace)
    with pytest.raises(TaskDefinitionError, match=f"argument named '{name}', which is reserved"):
        sig(namespace["f"])


def test_reserved_names_are_the_contract_ones() -> None:
    assert frozenset({"upstream_tasks", "flow", "mapped", "task_args"}) == RESERVED_ARGUMENTS


def test_positional_only_is_rejected() -> None:
    def positional_only(x: int, /, y: int) -> None:
        pass

    with pytest.raises(TaskDefinitionError, match=r"positional-only argument 'x'.*remove the '/'"):
        sig(positional_only)


def test_uninspectable_callable_is_a_definition_error() -> None:
    with pytest.raises(TaskDefinitionError, match="cannot read the signature of t"):
        sig(iter)


def test_definition_errors_are_value_errors() -> None:
    def star(*items: int) -> None:
        pass

    with pytest.raises(ValueError):
        sig(star)
