"""Task: options and their validation, inputs, copy/bind/call, dependencies, operators."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from headwater import Edge, Flow, HeadwaterWarning, Task, task, triggers
from headwater.errors import NoActiveFlowError, TaskDefinitionError

# -- helpers -----------------------------------------------------------------


@task
def add(x: int, y: int = 1) -> int:
    return x + y


@task
def value(v: Any) -> Any:
    return v


@task(nout=2)
def split(x: int) -> tuple[int, int]:
    return x, -x


class Multiply(Task[int]):
    """Multiply by a factor.

    The factor is a task attribute.
    """

    factor = 2

    def run(self, x: int, y: int = 0) -> int:
        return x * self.factor + y


def result_of(flow: Flow, target: Task[Any]) -> Any:
    state = flow.run()
    assert state.is_successful(), state
    return state.result[target].result


def never(upstream_states: Any) -> bool:
    return False


# -- options -----------------------------------------------------------------


def test_defaults() -> None:
    t = Task()
    assert t.name == "Task"
    assert t.slug is None
    assert t.description is None
    assert t.group is None
    assert t.tags == frozenset()
    assert t.max_retries == 0
    assert t.retry_delay == timedelta(minutes=1)
    assert t.timeout is None
    assert t.trigger is triggers.all_successful
    assert t.propagate_skip is False
    assert t.cache_for is None
    assert t.cache_validator is None
    assert t.state_handlers == ()
    assert t.on_failure is None
    assert t.nout is None
    assert t.cache_key is None


def test_name_and_description_default_to_class_name_and_docstring() -> None:
    t = Multiply()
    assert t.name == "Multiply"
    assert t.description == "Multiply by a factor.\n\nThe factor is a task attribute."
    assert Multiply(name="m", description="d").name == "m"
    assert Multiply(description="d").description == "d"


def test_every_option_is_stored() -> None:
    def handler(task: Any, old: Any, new: Any) -> None:
        return None

    def on_failure(task: Any, state: Any) -> None:
        return None

    def validator(*args: Any) -> bool:
        return True

    t = Task(
        name="n",
        slug="s",
        description="d",
        group="g",
        tags=["a", "b"],
        max_retries=2,
        retry_delay=timedelta(seconds=3),
        timeout=timedelta(seconds=4),
        trigger=never,
        propagate_skip=True,
        cache_for=timedelta(hours=1),
        cache_validator=validator,
        state_handlers=[handler],
        on_failure=on_failure,
        nout=3,
        cache_key="k",
    )
    assert (t.name, t.slug, t.description, t.group) == ("n", "s", "d", "g")
    assert t.tags == frozenset({"a", "b"})
    assert t.max_retries == 2
    assert t.retry_delay == timedelta(seconds=3)
    assert t.timeout == 4.0
    assert t.trigger is never
    assert t.propagate_skip is True
    assert t.cache_for == timedelta(hours=1)
    assert t.cache_validator is validator
    assert t.state_handlers == (handler,)
    assert t.on_failure is on_failure
    assert t.nout == 3
    assert t.cache_key == "k"


def test_numbers_are_normalized() -> None:
    t = Task(retry_delay=5, timeout=2, cache_for=60)
    assert t.retry_delay == timedelta(seconds=5)
    assert t.timeout == 2.0
    assert t.cache_for == timedelta(minutes=1)
    assert Task(retry_delay=0).retry_delay == timedelta(0)
    assert Task(state_handlers=never).state_handlers == (never,)


def test_negative_retries_is_a_value_error() -> None:
    with pytest.raises(TaskDefinitionError, match="max_retries must be 0 or more, got -1"):
        Task(max_retries=-1)
    with pytest.raises(ValueError):
        Task(max_retries=-1)


@pytest.mark.parametrize("bad", [1.5, True, "3"])
def test_retries_of_the_wrong_type(bad: Any) -> None:
    with pytest.raises(TypeError, match="max_retries must be an int"):
        Task(max_retries=bad)


@pytest.mark.parametrize("bad", ["5", [5], True])
def test_timeout_neither_number_nor_timedelta_is_a_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match="timeout must be a number of seconds or a timedelta"):
        Task(timeout=bad)


@pytest.mark.parametrize("bad", [0, -1, timedelta(seconds=-1), float("nan")])
def test_timeout_out_of_range(bad: Any) -> None:
    with pytest.raises(TaskDefinitionError, match="timeout must be more than 0"):
        Task(timeout=bad)


def test_retry_delay_and_cache_for_checked() -> None:
    with pytest.raises(TaskDefinitionError, match="retry_delay must be 0 or more"):
        Task(retry_delay=-1)
    with pytest.raises(TypeError, match="retry_delay must be a number of seconds"):
        Task(retry_delay="1m")  # type: ignore[arg-type]
    with pytest.raises(TaskDefinitionError, match="cache_for must be more than 0"):
        Task(cache_for=timedelta(0))


@pytest.mark.parametrize("bad", ["io", b"io"])
def test_tags_as_bare_string_is_a_type_error(bad: Any) -> None:
    with pytest.raises(TypeError, match="tags must be a set of strings, not the bare string"):
        Task(tags=bad)


def test_tags_must_be_strings() -> None:
    with pytest.raises(TypeError, match="every tag must be a string, got 1"):
        Task(tags={1})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tags must be a set of strings, got 5"):
        Task(tags=5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("option", "bad", "message"),
    [
        ("name", 1, "name must be a string"),
        ("slug", 1, "slug must be a string"),
        ("group", 1, "group must be a string"),
        ("description", 1, "description must be a string"),
        ("cache_key", 1, "cache_key must be a string"),
        ("trigger", "all", "trigger must be callable"),
        ("on_failure", 1, "on_failure must be callable"),
        ("cache_validator", 1, "cache_validator must be callable"),
        ("state_handlers", [1], "state_handlers must be a list of callables"),
        ("propagate_skip", 1, "propagate_skip must be True or False"),
        ("nout", -1, "nout must be a non-negative int"),
    ],
)
def test_option_types_are_checked(option: str, bad: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        Task(**{option: bad})


def test_cache_validator_without_cache_for_warns() -> None:
    def validator(*args: Any) -> bool:
        return True

    with pytest.warns(HeadwaterWarning, match="cache_validator is set but cache_for is not"):
        Task(name="lonely", cache_validator=validator)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Task(cache_validator=validator, cache_for=timedelta(minutes=1))


def test_headwater_warning_is_a_user_warning() -> None:
    assert issubclass(HeadwaterWarning, UserWarning)


def test_unknown_option_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Task(retries=3)  # type: ignore[call-arg]


# -- class-level options -----------------------------------------------------


class Patient(Task[int]):
    max_retries = 2
    retry_delay = 0.5  # seconds, normalized like the argument
    propagate_skip = True
    tags = {"io"}  # noqa: RUF012 - a class-level option, normalized to a frozenset
    trigger = triggers.any_failed

    def on_failure(task: Task[Any], state: Any) -> None:  # noqa: N805 - an option, not a method
        pass

    def run(self) -> int:
        return 1


def test_class_level_options_are_not_overridden_by_init_defaults() -> None:
    patient = Patient()
    assert patient.max_retries == 2
    assert patient.retry_delay == timedelta(seconds=0.5)
    assert patient.propagate_skip is True
    assert "max_retries" not in patient.__dict__  # still read from the class


def test_class_level_options_are_normalized_and_functions_stay_functions() -> None:
    assert Patient.tags == frozenset({"io"})
    patient = Patient()
    assert patient.trigger is triggers.any_failed  # not a bound method
    assert patient.on_failure is Patient.__dict__["on_failure"].__func__


def test_arguments_still_override_class_level_options() -> None:
    patient = Patient(max_retries=5, retry_delay=timedelta(seconds=3), tags={"db"})
    assert (patient.max_retries, patient.retry_delay) == (5, timedelta(seconds=3))
    assert patient.tags == frozenset({"db"})
    assert Patient.max_retries == 2  # the class is untouched


def test_copy_can_set_a_class_level_option_back_to_the_default() -> None:
    eager = Patient().copy(max_retries=0, propagate_skip=False)
    assert (eager.max_retries, eager.propagate_skip) == (0, False)


def test_a_bad_class_level_option_fails_at_class_definition() -> None:
    with pytest.raises(TaskDefinitionError, match=r"max_retries"):

        class Bad(Task[int]):
            max_retries = -1

            def run(self) -> int:
                return 1


def test_an_option_computed_by_a_property_is_left_alone() -> None:
    class Sized(Task[int]):
        def __init__(self, budget: float, **options: Any) -> None:
            self.budget = budget
            super().__init__(**options)

        @property
        def timeout(self) -> float:  # type: ignore[override]
            return self.budget * 2

        def run(self) -> int:
            return 1

    assert Sized(1.5).timeout == 3.0


def test_class_level_retries_are_used_by_the_runner() -> None:
    calls: list[int] = []

    class Flaky(Task[int]):
        max_retries = 2
        retry_delay = 0.0

        def run(self) -> int:
            calls.append(1)
            if len(calls) < 3:
                raise RuntimeError("not yet")
            return len(calls)

    with Flow("flaky") as flow:
        flaky = Flaky()()
    assert flow.run().result[flaky].result == 3


# -- inputs ------------------------------------------------------------------


def test_inputs_of_a_subclass() -> None:
    assert Multiply().inputs() == {
        "x": {"required": True, "default": None, "type": int},
        "y": {"required": False, "default": 0, "type": int},
    }


def test_inputs_of_the_base_task_is_empty() -> None:
    assert Task().inputs() == {}


def test_base_run_is_not_implemented() -> None:
    with pytest.raises(NotImplementedError, match="Task does not implement run"):
        Task().run()


# -- copy --------------------------------------------------------------------


def test_copy_keeps_type_and_options() -> None:
    original = Multiply(name="m", tags={"a"}, max_retries=2)
    copied = original.copy()
    assert copied is not original
    assert type(copied) is Multiply
    assert (copied.name, copied.tags, copied.max_retries) == ("m", frozenset({"a"}), 2)


def test_copy_overrides_are_validated_and_do_not_touch_the_original() -> None:
    original = Multiply(max_retries=1)
    copied = original.copy(max_retries=3, timeout=5, factor=10)
    assert copied.max_retries == 3
    assert copied.timeout == 5.0
    assert copied.factor == 10
    assert original.max_retries == 1
    assert original.timeout is None
    assert original.factor == 2
    with pytest.raises(TaskDefinitionError, match="max_retries must be 0 or more"):
        original.copy(max_retries=-1)
    with pytest.raises(TypeError, match="bare string"):
        original.copy(tags="x")
    with pytest.raises(TypeError, match="copy\\(\\) got an unknown attribute 'bogus'"):
        original.copy(bogus=1)


def test_copy_drops_a_generated_slug() -> None:
    t = Task(name="t")
    Flow("f").add_task(t)
    assert t.slug == "t-1"
    assert t.copy().slug is None


def test_copy_keeps_an_explicit_slug_unless_overridden() -> None:
    t = Task(slug="fixed")
    assert t.copy().slug == "fixed"
    assert t.copy().copy().slug == "fixed"
    assert t.copy(slug="other").slug == "other"
    assert t.copy(slug="other").copy().slug == "other"
    generated = Task(name="g")
    Flow("f").add_task(generated)
    assert generated.copy(slug="mine").copy().slug == "mine"


# -- bind and call -----------------------------------------------------------


def test_bind_adds_the_task_itself_with_constants() -> None:
    t = add.copy()
    with Flow("f") as flow:
        returned = t.bind(1, y=2)
    assert returned is t
    assert t in flow.tasks
    assert flow.constants[t] == {"x": 1, "y": 2}
    assert result_of(flow, t) == 3


def test_bind_with_an_explicit_flow_outside_a_with_block() -> None:
    flow = Flow("f")
    first = add.copy().bind(1, flow=flow)
    second = add.copy().bind(first, flow=flow)
    assert flow.edges == {Edge(first, second, "x")}
    assert result_of(flow, second) == 3


def test_bind_with_bad_arguments_leaves_the_flow_unchanged() -> None:
    t = add.copy()
    with Flow("f") as flow:
        with pytest.raises(TypeError, match="missing 1 required argument: 'x'"):
            t.bind(y=1)
        with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
            t.bind(1, z=2)
    assert not flow.tasks
    assert t.slug is None


def test_call_copies_then_binds() -> None:
    with Flow("f") as flow:
        first = add(1)
        second = add(first, 10)
    assert first is not add
    assert second is not add
    assert add not in flow.tasks
    assert add.slug is None
    assert isinstance(first, type(add))
    assert [first.slug, second.slug] == ["add-1", "add-2"]
    assert flow.edges == {Edge(first, second, "x")}
    assert flow.constants == {first: {"x": 1}, second: {"y": 10}}
    assert result_of(flow, second) == 12


def test_call_keeps_the_options_of_the_called_task() -> None:
    careful = add.copy(max_retries=4, tags={"io"})
    with Flow("f"):
        called = careful(1)
    assert called.max_retries == 4
    assert called.tags == {"io"}


def test_call_with_upstream_tasks_adds_state_only_edges() -> None:
    with Flow("f") as flow:
        first = add(1)
        second = add(2, upstream_tasks=[first])
    assert flow.edges == {Edge(first, second)}
    assert flow.constants[second] == {"x": 2}


def test_call_with_flow_argument_outside_a_with_block() -> None:
    flow = Flow("f")
    called = add(1, flow=flow)
    assert flow.tasks == {called}


def test_subclass_instance_call() -> None:
    double = Multiply()
    with Flow("f") as flow:
        result = double(x=21)
    assert result_of(flow, result) == 42


# -- calling outside a flow ----------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: add(1), id="call"),
        pytest.param(lambda: add.copy().bind(1), id="bind"),
        pytest.param(lambda: add.map([1, 2]), id="map"),
        pytest.param(lambda: add.copy().set_upstream(Task()), id="set_upstream"),
        pytest.param(lambda: add.copy().set_downstream(Task()), id="set_downstream"),
        pytest.param(lambda: add.copy() + 1, id="operator"),
        pytest.param(lambda: add.copy()["k"], id="getitem"),
    ],
)
def test_building_outside_a_flow_raises_a_clear_error(build: Callable[[], Any]) -> None:
    with pytest.raises(NoActiveFlowError, match=r"with Flow\(") as info:
        build()
    assert ".run(" in str(info.value)
    assert "flow=" in str(info.value)


def test_error_outside_a_flow_names_the_task() -> None:
    with pytest.raises(NoActiveFlowError, match=r"task 'add' was called outside a flow"):
        add(1)


# -- dependencies ------------------------------------------------------------


def test_set_upstream_and_set_downstream() -> None:
    a, b, c, d = Task(name="a"), Task(name="b"), Multiply(name="c"), Multiply(name="d")
    with Flow("f") as flow:
        b.set_upstream(a)
        c.set_upstream(a, key="x")
        a.set_downstream(d, key="x")
        b.set_downstream(c)
    assert flow.edges == {Edge(a, b), Edge(a, c, "x"), Edge(a, d, "x"), Edge(b, c)}


def test_set_dependencies_with_an_explicit_flow() -> None:
    a, b, c = Task(name="a"), Multiply(name="b"), Task(name="c")
    flow = Flow("f")
    b.set_dependencies(
        flow=flow, upstream_tasks=[a], downstream_tasks=[c], keyword_tasks={"x": a, "y": 5}
    )
    assert flow.edges == {Edge(a, b), Edge(b, c), Edge(a, b, "x")}
    assert flow.constants == {b: {"y": 5}}
    a.set_upstream(Task(name="z"), flow=flow)
    assert {t.name for t in flow.upstream_tasks(a)} == {"z"}


# -- operators ---------------------------------------------------------------

A, B = 7, 3

OPERATOR_CASES = [
    # (build, class name, expected result, (input x, input y)): "a"/"b" name tasks
    pytest.param(lambda a, b: a + b, "Add", 10, ("a", "b"), id="a + b"),
    pytest.param(lambda a, b: a - b, "Sub", 4, ("a", "b"), id="a - b"),
    pytest.param(lambda a, b: a * b, "Mul", 21, ("a", "b"), id="a * b"),
    pytest.param(lambda a, b: a / b, "Truediv", 7 / 3, ("a", "b"), id="a / b"),
    pytest.param(lambda a, b: a // b, "Floordiv", 2, ("a", "b"), id="a // b"),
    pytest.param(lambda a, b: a % b, "Mod", 1, ("a", "b"), id="a % b"),
    pytest.param(lambda a, b: a**b, "Pow", 343, ("a", "b"), id="a ** b"),
    pytest.param(lambda a, b: a + 2, "Add", 9, ("a", 2), id="a + 2"),
    pytest.param(lambda a, b: 2 + a, "Add", 9, (2, "a"), id="2 + a"),
    pytest.param(lambda a, b: 2 - a, "Sub", -5, (2, "a"), id="2 - a"),
    pytest.param(lambda a, b: 2 * a, "Mul", 14, (2, "a"), id="2 * a"),
    pytest.param(lambda a, b: 14 / a, "Truediv", 2.0, (14, "a"), id="14 / a"),
    pytest.param(lambda a, b: 20 // a, "Floordiv", 2, (20, "a"), id="20 // a"),
    pytest.param(lambda a, b: 20 % a, "Mod", 6, (20, "a"), id="20 % a"),
    pytest.param(lambda a, b: 2**a, "Pow", 128, (2, "a"), id="2 ** a"),
    pytest.param(lambda a, b: a < b, "Lt", False, ("a", "b"), id="a < b"),
    pytest.param(lambda a, b: a <= 7, "Le", True, ("a", 7), id="a <= 7"),
    pytest.param(lambda a, b: a > b, "Gt", True, ("a", "b"), id="a > b"),
    pytest.param(lambda a, b: a >= 8, "Ge", False, ("a", 8), id="a >= 8"),
    pytest.param(lambda a, b: 5 < a, "Gt", True, ("a", 5), id="5 < a"),
    pytest.param(lambda a, b: 7 <= a, "Ge", True, ("a", 7), id="7 <= a"),
    pytest.param(lambda a, b: 9 > a, "Lt", True, ("a", 9), id="9 > a"),
    pytest.param(lambda a, b: 8 >= a, "Le", True, ("a", 8), id="8 >= a"),
    pytest.param(lambda a, b: a & b, "And", 3, ("a", "b"), id="a & b"),
    pytest.param(lambda a, b: 0 & a, "And", 0, (0, "a"), id="0 & a"),
    pytest.param(lambda a, b: a | b, "Or", 7, ("a", "b"), id="a | b"),
    pytest.param(lambda a, b: 0 | a, "Or", 7, (0, "a"), id="0 | a"),
    pytest.param(lambda a, b: a.is_equal(7), "Equal", True, ("a", 7), id="a.is_equal(7)"),
    pytest.param(lambda a, b: a.is_equal(b), "Equal", False, ("a", "b"), id="a.is_equal(b)"),
    pytest.param(lambda a, b: a.not_equal(b), "NotEqual", True, ("a", "b"), id="a.not_equal(b)"),
    pytest.param(lambda a, b: a.not_equal(7), "NotEqual", False, ("a", 7), id="a.not_equal(7)"),
]


@pytest.mark.parametrize(("build", "class_name", "expected", "inputs"), OPERATOR_CASES)
def test_binary_operator_builds_the_right_task_and_value(
    build: Callable[[Task[Any], Task[Any]], Task[Any]],
    class_name: str,
    expected: Any,
    inputs: tuple[Any, Any],
) -> None:
    with Flow("ops") as flow:
        a, b = value(A), value(B)
        made = build(a, b)
    assert isinstance(made, Task)
    assert type(made).__name__ == class_name
    assert made in flow.tasks
    by_name = {"a": a, "b": b}
    expected_edges = {
        Edge(by_name[given], made, key)
        for key, given in zip(("x", "y"), inputs)
        if isinstance(given, str)
    }
    expected_constants = {
        key: given for key, given in zip(("x", "y"), inputs) if not isinstance(given, str)
    }
    assert flow.edges_to(made) == expected_edges
    assert flow.constants.get(made, {}) == expected_constants
    assert result_of(flow, made) == expected


def test_invert() -> None:
    with Flow("ops") as flow:
        a = value(A)
        zero = value(0)
        not_a, not_zero = ~a, ~zero
    assert type(not_a).__name__ == "Not"
    assert flow.edges_to(not_a) == {Edge(a, not_a, "x")}
    state = flow.run()
    assert state.result[not_a].result is False
    assert state.result[not_zero].result is True


def test_getitem() -> None:
    with Flow("ops") as flow:
        mapping = value({"k": [10, 20]})
        inner = mapping["k"]
        item = inner[1]
        by_task = mapping[value("k")]
    assert type(item).__name__ == "GetItem"
    assert flow.edges_to(inner) == {Edge(mapping, inner, "task_result")}
    assert flow.constants[inner] == {"key": "k"}
    state = flow.run()
    assert state.result[item].result == 20
    assert state.result[by_task].result == [10, 20]


def test_operators_chain() -> None:
    with Flow("ops") as flow:
        a = value(A)
        total = (a + 1) * 2 - a // 2
    assert result_of(flow, total) == (A + 1) * 2 - A // 2


def test_equality_is_identity_not_a_task() -> None:
    a, b = add.copy(), add.copy()
    assert (a == a) is True
    assert (a == b) is False
    assert (a != b) is True
    assert len({a, b, a}) == 2


# -- iteration -----------------------------------------------------------------


def test_iterating_a_task_without_nout_is_a_type_error() -> None:
    with Flow("f"), pytest.raises(TypeError, match=r"is not iterable.*give the task nout=N"):
        x, y = value((1, 2))


def test_iterating_a_task_with_nout_unpacks_into_getitem_tasks() -> None:
    with Flow("f") as flow:
        first, second = split(5)
    assert type(first).__name__ == "GetItem"
    assert flow.constants[first] == {"key": 0}
    assert flow.constants[second] == {"key": 1}
    state = flow.run()
    assert state.result[first].result == 5
    assert state.result[second].result == -5


def test_nout_zero_unpacks_to_nothing() -> None:
    with Flow("f") as flow:
        empty = value(()).copy(nout=0)
        assert list(empty) == []
    assert len(flow.tasks) == 1


# -- run() signature rules, at class definition --------------------------------


@pytest.mark.parametrize("name", ["upstream_tasks", "flow", "mapped", "task_args"])
def test_reserved_argument_names_rejected_at_class_definition(name: str) -> None:
    namespace: dict[str, Any] = {"Task": Task}
    source = f"class Bad(Task):\n    def run(self, {name}):\n        return 1\n"
    with pytest.raises(TaskDefinitionError, match=f"Bad.run has an argument named '{name}'"):
        exec(source, namespace)
    with pytest.raises(ValueError, match="reserved"):
        exec(source, namespace)


def test_var_positional_rejected_at_class_definition() -> None:
    with pytest.raises(TaskDefinitionError, match=r"Bad.run takes \*values"):

        class Bad(Task[int]):
            def run(self, *values: int) -> int:
                return sum(values)


def test_positional_only_rejected_at_class_definition() -> None:
    with pytest.raises(TaskDefinitionError, match="positional-only argument 'x'"):

        class Bad(Task[int]):
            def run(self, x: int, /) -> int:
                return x


def test_keyword_arguments_are_fine() -> None:
    class Fine(Task[int]):
        def run(self, x: int, *, y: int = 1, **more: int) -> int:
            return x + y + sum(more.values())

    with Flow("f") as flow:
        result = Fine()(1, y=2, z=3)
    assert result_of(flow, result) == 6


def test_subclass_inherits_the_parent_run_signature() -> None:
    class Child(Multiply):
        factor = 3

    assert Child().inputs() == Multiply().inputs()
    with Flow("f") as flow:
        result = Child()(5)
    assert result_of(flow, result) == 15


def test_repr() -> None:
    t = Multiply(name="m")
    assert repr(t) == "<Multiply: m>"
    Flow("f").add_task(t)
    assert repr(t) == "<Multiply: m (m-1)>"


def test_options_equal_to_class_defaults_are_not_stored_per_instance() -> None:
    # Big flows copy tasks by the thousand: an instance keeps only what differs.
    from headwater import task as make_task

    @make_task
    def plain(x: int) -> int:
        return x

    for option in ("max_retries", "retry_delay", "propagate_skip", "tags", "timeout"):
        assert option not in plain.__dict__
    retried = plain.copy(max_retries=2)
    assert retried.__dict__["max_retries"] == 2
    assert retried.copy(max_retries=0).max_retries == 0
