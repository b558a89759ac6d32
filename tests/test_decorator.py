"""@task: bare and parametrized; the function's identity is kept; options checked early."""

from __future__ import annotations

import inspect
from datetime import timedelta
from typing import Any

import pytest

from headwater import Flow, FunctionTask, HeadwaterWarning, Task, task
from headwater.errors import TaskDefinitionError


def plain_add(x: int, y: int = 1) -> int:
    """Add two numbers.

    Longer text.
    """
    return x + y


add = task(plain_add)


@task(name="load", max_retries=3, retry_delay=timedelta(seconds=0), tags={"io"})
def load(path: str) -> str:
    return path.upper()


def test_bare_decorator_makes_a_function_task() -> None:
    assert isinstance(add, FunctionTask)
    assert isinstance(add, Task)
    assert add.name == "plain_add"
    assert add.max_retries == 0


def test_parametrized_decorator_applies_options() -> None:
    assert isinstance(load, FunctionTask)
    assert load.name == "load"
    assert load.max_retries == 3
    assert load.retry_delay == timedelta(0)
    assert load.tags == frozenset({"io"})


def test_empty_parentheses_work_like_bare() -> None:
    @task()
    def one() -> int:
        return 1

    assert isinstance(one, FunctionTask)
    assert one.name == "one"


def test_keeps_the_function_identity() -> None:
    assert add.__name__ == "plain_add"
    assert add.__qualname__ == "plain_add"
    assert add.__doc__ == plain_add.__doc__
    assert add.__module__ == __name__
    assert add.__wrapped__ is plain_add
    assert inspect.signature(add) == inspect.signature(plain_add)
    assert add.description == "Add two numbers.\n\nLonger text."


def test_nested_function_qualname() -> None:
    @task
    def inner() -> None:
        pass

    assert inner.__qualname__ == "test_nested_function_qualname.<locals>.inner"
    assert inner.name == "inner"


def test_run_calls_the_function() -> None:
    assert add.run is plain_add
    assert add.run(1, 2) == 3
    assert add.run(x=4) == 5
    assert load.run("a") == "A"


def test_inputs_come_from_the_function() -> None:
    assert add.inputs() == {
        "x": {"required": True, "default": None, "type": int},
        "y": {"required": False, "default": 1, "type": int},
    }


def test_explicit_description_wins_over_docstring() -> None:
    described = task(description="mine")(plain_add)
    assert described.description == "mine"
    assert described.__doc__ == plain_add.__doc__


def test_function_without_docstring_has_no_description() -> None:
    @task
    def bare() -> None:
        pass

    assert bare.description is None


def test_decorated_task_builds_and_runs() -> None:
    with Flow("f") as flow:
        total = add(add(1), y=load("x").is_equal("X") + 1)
    state = flow.run()
    assert state.result[total].result == 4


def test_copies_keep_the_function() -> None:
    with Flow("f"):
        called = add(1)
    assert called.__wrapped__ is plain_add
    assert called.run is plain_add
    assert called.__name__ == "plain_add"
    assert called.inputs() == add.inputs()


def test_repr() -> None:
    assert repr(add) == "<Task: plain_add>"


def test_decorating_a_lambda_and_a_callable_object() -> None:
    square = task(lambda x: x * x)
    assert square.name == "<lambda>"
    assert square.run(3) == 9

    class Scale:
        def __call__(self, x: int) -> int:
            return 2 * x

    scaled = task(Scale())
    assert scaled.run(4) == 8
    assert list(scaled.inputs()) == ["x"]


def test_options_are_validated_at_decoration() -> None:
    with pytest.raises(TaskDefinitionError, match="max_retries must be 0 or more"):

        @task(max_retries=-1)
        def retried() -> None:
            pass

    with pytest.raises(TypeError, match="bare string"):

        @task(tags="io")
        def tagged() -> None:
            pass

    with pytest.raises(TypeError, match="timeout must be a number of seconds or a timedelta"):

        @task(timeout="soon")
        def timed() -> None:
            pass

    with pytest.raises(TypeError):

        @task(retries=3)
        def unknown() -> None:
            pass


def test_cache_validator_without_cache_for_warns_at_decoration() -> None:
    with pytest.warns(HeadwaterWarning, match="cache_for"):

        @task(cache_validator=lambda *args: True)
        def cached() -> None:
            pass


@pytest.mark.parametrize("name", ["upstream_tasks", "flow", "mapped", "task_args"])
def test_reserved_argument_names_rejected_at_decoration(name: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"def f({name}): pass", namespace)
    message = f"@task function f has an argument named '{name}'"
    with pytest.raises(TaskDefinitionError, match=message):
        task(namespace["f"])


def test_var_positional_and_positional_only_rejected_at_decoration() -> None:
    with pytest.raises(TaskDefinitionError, match=r"takes \*args.*use a list argument"):

        @task
        def star(*args: int) -> int:
            return sum(args)

    with pytest.raises(TaskDefinitionError, match="positional-only"):

        @task
        def slash(x: int, /) -> int:
            return x


def test_options_with_a_function_argument_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="use @task"):
        task(plain_add, name="x")  # type: ignore[call-overload]


def test_decorating_a_non_callable_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="@task decorates a function, got 5"):
        task(5)  # type: ignore[call-overload]
