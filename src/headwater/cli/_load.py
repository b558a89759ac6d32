"""Find the flow a command names, and read ``-p name=value`` parameters.

A target is ``PATH.py[:NAME]`` or ``package.module[:NAME]``. ``NAME`` is a
module-level :class:`~headwater.Flow`, or a function taking no arguments that
returns one. Without ``NAME`` the module must hold exactly one flow.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import sys
import traceback
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from headwater import Flow, Task
from headwater.cli._errors import CliError
from headwater.errors import GraphError

__all__ = [
    "check_parameters",
    "is_file_target",
    "load_flow",
    "load_valid_flow",
    "parse_parameters",
    "split_target",
]


def split_target(target: str) -> tuple[str, str | None]:
    """``"path/to/f.py:etl"`` -> ``("path/to/f.py", "etl")``; no name -> ``None``.

    Example:
        >>> split_target("flows.py:etl"), split_target("pkg.flows")
        (('flows.py', 'etl'), ('pkg.flows', None))
    """
    where, colon, name = target.rpartition(":")
    # "C:\\flows\\etl.py" has a colon too: only an identifier after it is a name.
    if colon and where and all(part.isidentifier() for part in name.split(".")):
        return where, name
    return target, None


def load_flow(target: str) -> tuple[Flow, ModuleType]:
    """The flow ``target`` names, and the module it was found in.

    Raises:
        CliError: the file or module cannot be found or imported, or does not
            name exactly one flow (the message lists the flows it holds).
    """
    where, name = split_target(target)
    module = _import(where)
    if name is not None:
        return _named_flow(module, where, name), module
    found = _flows_in(module)
    if len(found) == 1:
        return next(iter(found)), module
    if not found:
        raise CliError(
            f"{where} holds no Flow at module level. Define one (e.g. "
            f"`with Flow('etl') as flow: ...`), or name a function that returns one: "
            f"{where}:build_flow"
        )
    listing = ", ".join(sorted(" = ".join(names) for names in found.values()))
    raise CliError(f"{where} holds several flows ({listing}); pick one: {where}:NAME")


def is_file_target(where: str) -> bool:
    """Whether ``where`` (a target without its ``:NAME``) is a path, not a module."""
    return where.endswith(".py") or os.sep in where or "/" in where


def load_valid_flow(target: str) -> tuple[Flow, ModuleType]:
    """:func:`load_flow`, then ``flow.validate()``.

    Raises:
        CliError: as :func:`load_flow`, or the flow's graph is not valid (a
            cycle, ...); the message is the graph error's.
    """
    flow, module = load_flow(target)
    try:
        flow.validate()
    except GraphError as error:
        raise CliError(str(error)) from None
    return flow, module


def _import(where: str) -> ModuleType:
    is_file = is_file_target(where)
    try:
        if is_file:
            return _import_file(Path(where))
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        return importlib.import_module(where)
    except CliError:
        raise
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if not is_file and (where == missing or where.startswith(missing + ".")):
            raise CliError(
                f"no module named {where!r} (to run a file, give its path: flows.py)"
            ) from None
        raise CliError(_import_failed(where)) from None
    except Exception:
        raise CliError(_import_failed(where)) from None


def _import_failed(where: str) -> str:
    return f"importing {where} raised an error:\n{traceback.format_exc().rstrip()}"


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    directory = str(path.resolve().parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    # Import under the file's own name (as `python -c "import etl"` would), so that
    # worker processes can import it again; a name already taken gets a private one.
    name = path.stem if path.stem.isidentifier() else "_headwater_flow_file"
    if name in sys.modules:
        name = f"_headwater_flow_file_{name}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CliError(f"cannot import {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _named_flow(module: ModuleType, where: str, name: str) -> Flow:
    value: Any = module
    for part in name.split("."):
        if not hasattr(value, part):
            found = _flows_in(module)
            hint = (
                f"; its flows: {', '.join(sorted(n[0] for n in found.values()))}" if found else ""
            )
            raise CliError(f"{where} has no attribute {name!r}{hint}")
        value = getattr(value, part)
    if isinstance(value, Flow):
        return value
    if inspect.isfunction(value) or inspect.ismethod(value):
        try:
            value = value()
        except Exception:
            raise CliError(
                f"calling {where}:{name}() to build the flow raised an error:\n"
                f"{traceback.format_exc().rstrip()}"
            ) from None
        if isinstance(value, Flow):
            return value
        raise CliError(f"{where}:{name}() returned {type(value).__name__}, not a Flow")
    what = "a task" if isinstance(value, Task) else f"a {type(value).__name__}"
    raise CliError(f"{where}:{name} is {what}, not a Flow")


def _flows_in(module: ModuleType) -> dict[Flow, list[str]]:
    """Module-level flows, each with the names it is bound to."""
    found: dict[Flow, list[str]] = {}
    for attribute, value in vars(module).items():
        if isinstance(value, Flow) and not attribute.startswith("__"):
            found.setdefault(value, []).append(attribute)
    return found


def parse_parameters(pairs: Iterable[str]) -> dict[str, Any]:
    """``["n=3", "who=ada"]`` -> ``{"n": 3, "who": "ada"}``.

    A value is parsed as JSON when it parses (numbers, ``true``, lists,
    quoted strings ...), else kept as the string given. A name given twice
    keeps the last value.

    Raises:
        CliError: an item has no ``=`` or an empty name.

    Example:
        >>> parse_parameters(["n=3", "who=ada", 'ids=[1, 2]', 'code="007"'])
        {'n': 3, 'who': 'ada', 'ids': [1, 2], 'code': '007'}
    """
    values: dict[str, Any] = {}
    for pair in pairs:
        name, equals, text = pair.partition("=")
        name = name.strip()
        if not equals or not name:
            raise CliError(
                f"-p expects name=value, got {pair!r} "
                "(the flow goes before -p: headwater run FLOW -p name=value ...)"
            )
        try:
            values[name] = json.loads(text)
        except ValueError:
            values[name] = text
    return values


def check_parameters(flow: Flow, given: Mapping[str, Any]) -> None:
    """Fail before anything runs when a parameter is unknown or missing.

    Raises:
        CliError: naming every unknown and missing parameter.
    """
    declared = {parameter.name: parameter for parameter in flow.parameters()}
    unknown = sorted(set(given) - set(declared))
    missing = sorted(
        name for name, parameter in declared.items() if parameter.required and name not in given
    )
    problems = []
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        problems.append(
            f"unknown parameter(s) {', '.join(unknown)} (the flow's parameters: {known})"
        )
    if missing:
        wanted = " ".join(f"-p {name}=VALUE" for name in missing)
        problems.append(f"missing required parameter(s) {', '.join(missing)} (pass {wanted})")
    if problems:
        raise CliError(f"flow {flow.name!r}: " + "; ".join(problems) + ". Nothing was run.")
