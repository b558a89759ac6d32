"""Tasks created by operators on tasks (``t[k]``, ``a + b``, ``a < b`` ...) and
by arguments that are collections of tasks (``total([a, b, c])``)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from headwater._task import Task

__all__ = ["BinaryOperator", "Collect", "Constant", "GetItem", "contains_task"]


class GetItem(Task[Any]):
    """Index an upstream result: ``t[key]``."""

    def run(self, task_result: Any, key: Any) -> Any:
        return task_result[key]


class BinaryOperator(Task[Any]):
    """Apply a binary operator to two inputs; subclasses set ``operation``."""

    operation: Callable[[Any, Any], Any] = staticmethod(operator.add)

    def run(self, x: Any, y: Any) -> Any:
        return self.operation(x, y)


class Not(Task[bool]):
    """``~t``: the logical negation of an upstream result."""

    def run(self, x: Any) -> bool:
        return not x


class Equal(BinaryOperator):
    """``t.is_equal(other)``."""

    operation = staticmethod(operator.eq)


class NotEqual(BinaryOperator):
    """``t.not_equal(other)``."""

    operation = staticmethod(operator.ne)


def _logical_and(x: Any, y: Any) -> Any:
    return x and y


def _logical_or(x: Any, y: Any) -> Any:
    return x or y


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "pow": operator.pow,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "and": _logical_and,
    "or": _logical_or,
}
_REFLECTED = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}

OPERATOR_TASKS: dict[str, type[BinaryOperator]] = {
    name: type(
        name.capitalize(),
        (BinaryOperator,),
        {
            "operation": staticmethod(function),
            "__doc__": f"The {name!r} operator on two inputs.",
            "__module__": __name__,
        },
    )
    for name, function in _OPERATORS.items()
}
# Bind each class to its module-level name (``headwater._operators.Add`` ...),
# so that pickle and ``Flow.serialize()`` can import it back.
globals().update({cls.__name__: cls for cls in OPERATOR_TASKS.values()})


def _forward(name: str) -> Callable[[Task[Any], Any], Task[Any]]:
    def method(self: Task[Any], other: Any) -> Task[Any]:
        return OPERATOR_TASKS[name]().bind(self, other)

    method.__name__ = f"__{name}__"
    return method


def _reflected(name: str) -> Callable[[Task[Any], Any], Task[Any]]:
    def method(self: Task[Any], other: Any) -> Task[Any]:
        return OPERATOR_TASKS[name]().bind(other, self)

    method.__name__ = f"__r{name}__"
    return method


def _invert(self: Task[Any]) -> Task[bool]:
    return Not().bind(self)


for _name in _OPERATORS:
    setattr(Task, f"__{_name}__", _forward(_name))
    if _name not in _REFLECTED:
        setattr(Task, f"__r{_name}__", _reflected(_name))
Task.__invert__ = _invert  # type: ignore[method-assign]


class Collect(Task[Any]):
    """Rebuild a list, tuple, set or dict (possibly nested) whose items include
    tasks: each task is an input ``item_N`` and ``template`` holds the shape."""

    def __init__(self, template: Any, **options: Any) -> None:
        super().__init__(**options)
        self.template = template

    def run(self, **items: Any) -> Any:
        return _fill(self.template, items)


class Slot:
    """A placeholder for the N-th task inside a ``Collect`` template."""

    __slots__ = ("key",)

    def __init__(self, key: str) -> None:
        self.key = key

    def __repr__(self) -> str:
        return f"Slot({self.key!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Slot, (self.key,))


class Constant(Task[Any]):
    """A constant value as a task (used for mapped constant arguments)."""

    def __init__(self, value: Any, **options: Any) -> None:
        options.setdefault("name", f"Constant[{type(value).__name__}]")
        super().__init__(**options)
        self.value = value

    def run(self) -> Any:
        return self.value


_COLLECTIONS = (list, tuple, set, frozenset, dict)


def contains_task(value: Any) -> bool:
    """True when ``value`` is a collection holding a task at any depth."""
    kind = type(value)
    if kind is dict:
        return any(
            isinstance(item, Task) or (type(item) in _COLLECTIONS and contains_task(item))
            for item in (*value.keys(), *value.values())
        )
    if kind in _COLLECTIONS:
        return any(
            isinstance(item, Task) or (type(item) in _COLLECTIONS and contains_task(item))
            for item in value
        )
    return False


def make_template(value: Any, tasks: dict[str, Task[Any]]) -> Any:
    """Replace each task inside ``value`` by a ``Slot``, recording it in ``tasks``."""
    if isinstance(value, Task):
        key = f"item_{len(tasks)}"
        tasks[key] = value
        return Slot(key)
    kind = type(value)
    if kind is dict:
        return {make_template(k, tasks): make_template(v, tasks) for k, v in value.items()}
    if kind in (list, tuple, set, frozenset):
        return kind(make_template(item, tasks) for item in value)
    return value


def _fill(template: Any, items: dict[str, Any]) -> Any:
    if type(template) is Slot:
        return items[template.key]
    kind = type(template)
    if kind is dict:
        return {_fill(k, items): _fill(v, items) for k, v in template.items()}
    if kind in (list, tuple, set, frozenset):
        return kind(_fill(item, items) for item in template)
    return template
