"""The shape of a task's ``run``: checked once when a task is defined, then
used to bind call arguments fast (``inspect.Signature.bind`` costs microseconds
per call, too much for flows of 100,000 tasks)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from headwater.errors import TaskDefinitionError

__all__ = ["RESERVED_ARGUMENTS", "RunSignature"]

RESERVED_ARGUMENTS = frozenset({"upstream_tasks", "flow", "mapped", "task_args"})
"""Argument names ``run`` may not use: they are options of ``Task.__call__``."""

_EMPTY = inspect.Parameter.empty


def _signature_of(function: Callable[..., Any]) -> inspect.Signature:
    """``function``'s signature with string annotations (``from __future__ import
    annotations``) evaluated to types where they resolve, else kept as written."""
    try:
        return inspect.signature(function, eval_str=True)
    except (TypeError, ValueError):
        raise
    except Exception:  # an annotation that does not resolve (NameError, ...)
        return inspect.signature(function)


class RunSignature:
    """What headwater needs to know about a ``run`` callable's arguments."""

    __slots__ = (
        "_ordered",  # every named argument, in order (for inputs())
        "annotations",  # name -> annotation (only annotated arguments)
        "arity",  # how many arguments when all are positional and required; else -1
        "defaults",  # name -> default value (only arguments that have one)
        "names",  # every named argument, in order
        "positional",  # names that may be passed positionally, in order
        "required",  # names without a default
        "var_keyword",  # True when run takes **kwargs: any keyword is accepted
    )

    def __init__(self, function: Callable[..., Any], owner: str, *, is_method: bool) -> None:
        """Check ``function``'s signature and record it.

        Raises:
            TaskDefinitionError: ``run`` takes ``*args`` or a reserved name.
        """
        try:
            signature = _signature_of(function)
        except (TypeError, ValueError) as exc:
            raise TaskDefinitionError(f"cannot read the signature of {owner}: {exc}") from exc
        parameters = list(signature.parameters.values())
        if is_method and parameters:
            parameters = parameters[1:]  # self
        names: list[str] = []
        positional: list[str] = []
        self.var_keyword = False
        defaults: dict[str, Any] = {}
        annotations: dict[str, Any] = {}
        for parameter in parameters:
            if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
                raise TaskDefinitionError(
                    f"{owner} takes *{parameter.name}: a task's run() may not take *args, "
                    "because every input must have a name; use a list argument instead"
                )
            if parameter.name in RESERVED_ARGUMENTS:
                raise TaskDefinitionError(
                    f"{owner} has an argument named {parameter.name!r}, which is reserved "
                    f"by headwater (reserved: {', '.join(sorted(RESERVED_ARGUMENTS))}); "
                    "rename the argument"
                )
            if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
                raise TaskDefinitionError(
                    f"{owner} has the positional-only argument {parameter.name!r}: headwater "
                    "passes inputs by name, so remove the '/' from the signature"
                )
            if parameter.kind is inspect.Parameter.VAR_KEYWORD:
                self.var_keyword = True
                continue
            names.append(parameter.name)
            if parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
                positional.append(parameter.name)
            if parameter.default is not _EMPTY:
                defaults[parameter.name] = parameter.default
            if parameter.annotation is not _EMPTY:
                annotations[parameter.name] = parameter.annotation
        self.names = frozenset(names)
        self.positional = tuple(positional)
        self.required = tuple(name for name in names if name not in defaults)
        self.defaults: Mapping[str, Any] = MappingProxyType(defaults)
        self.annotations: Mapping[str, Any] = MappingProxyType(annotations)
        self._ordered = tuple(names)
        every_one_positional = len(positional) == len(names) == len(self.required)
        self.arity = len(names) if every_one_positional and not self.var_keyword else -1

    def inputs(self) -> dict[str, dict[str, Any]]:
        """``run``'s arguments -> ``{"required", "default", "type"}``."""
        return {
            name: {
                "required": name not in self.defaults,
                "default": self.defaults.get(name),
                "type": self.annotations.get(name, Any),
            }
            for name in self._ordered
        }

    def bind(
        self, owner: str, args: tuple[Any, ...], kwargs: Mapping[str, Any], *, partial: bool
    ) -> dict[str, Any]:
        """Map call arguments to names, failing like a Python call would.

        Args:
            owner: the task named in error messages.
            args: positional arguments.
            kwargs: keyword arguments.
            partial: when True, missing required arguments are allowed.

        Raises:
            TypeError: too many positional arguments, an unknown keyword,
                a value given twice, or (unless ``partial``) a missing argument.
        """
        positional = self.positional
        if not kwargs and len(args) == self.arity:
            return dict(zip(positional, args, strict=True))  # the usual call
        if len(args) > len(positional):
            raise TypeError(
                f"{owner}() takes {len(positional)} positional argument"
                f"{'' if len(positional) == 1 else 's'} but {len(args)} were given"
            )
        bound = dict(zip(positional, args, strict=False))
        names = self.names
        for key, value in kwargs.items():
            if key in bound:
                raise TypeError(f"{owner}() got multiple values for argument {key!r}")
            if key not in names and not self.var_keyword:
                raise TypeError(f"{owner}() got an unexpected keyword argument {key!r}")
            bound[key] = value
        if not partial:
            missing = [name for name in self.required if name not in bound]
            if missing:
                listed = ", ".join(repr(name) for name in missing)
                raise TypeError(
                    f"{owner}() missing {len(missing)} required argument"
                    f"{'' if len(missing) == 1 else 's'}: {listed}"
                )
        return bound
