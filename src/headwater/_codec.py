"""The JSON codec under ``headwater.serialization``: values <-> JSON data.

JSON has null, booleans, numbers, strings, lists and string-keyed objects.
Everything else is written as a *tagged* object ``{"__headwater__": kind, ...}``:

==================  ==========================================================
value               encoded as
==================  ==========================================================
tuple, set,         ``{"__headwater__": "tuple" | "set" | "frozenset",
frozenset           "items": [...]}`` (set items in a stable order)
dict                a plain object when every key is a ``str`` other than the
                    tag; else ``{"__headwater__": "dict", "items": [[k, v]]}``
float nan/inf       ``{"__headwater__": "float", "value": "nan"}``
bytes               ``{"__headwater__": "bytes", "base64": ...}``
timedelta           ``{"__headwater__": "timedelta", "days", "seconds",
                    "microseconds"}`` (exact)
datetime, date,     ``{"__headwater__": "datetime", "iso": ...}`` (timezones are
time                kept as fixed UTC offsets)
enum member         ``{"__headwater__": "enum", "type": "module:qualname",
                    "name": ...}``
function, class     ``{"__headwater__": "import", "path": "module:qualname"}``;
                    only when importing the path gives back the same object
functools.partial   ``{"__headwater__": "partial", "func", "args", "kwargs"}``
factory closures    ``{"__headwater__": "call", "factory", "args"}`` for the
                    validators ``cache_validators.partial_*_only(names)``
``Slot``            ``{"__headwater__": "slot", "key": ...}`` (``Collect``)
==================  ==========================================================

Anything else raises :class:`~headwater.errors.SerializationError`, naming
where the value was found (the ``where`` argument) and what to do instead.
"""

from __future__ import annotations

import base64
import enum
import functools
import importlib
import json
import math
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from headwater._operators import Slot
from headwater.errors import SerializationError

__all__ = ["TAG", "decode", "encode", "import_path", "object_path", "resolve"]

TAG = "__headwater__"
"""The key that marks a tagged object."""

_ADVICE = (
    "use JSON-like values (numbers, strings, lists, dicts, tuples, sets, timedeltas, "
    "datetimes) or functions and classes defined at module level; pass other objects "
    "at run time through a Parameter"
)

# Closures made by factories: qualname of the closure -> (factory, free variable).
_FACTORIES: dict[str, tuple[str, str]] = {
    "headwater.cache_validators:partial_inputs_only.<locals>.partial_inputs_only": (
        "headwater.cache_validators:partial_inputs_only",
        "wanted",
    ),
    "headwater.cache_validators:partial_parameters_only.<locals>.partial_parameters_only": (
        "headwater.cache_validators:partial_parameters_only",
        "wanted",
    ),
}
_ALLOWED_FACTORIES = frozenset(factory for factory, _ in _FACTORIES.values())


# -- importable objects -------------------------------------------------------


def object_path(obj: Any) -> str:
    """``"module:qualname"`` for a function or class (not checked).

    Raises:
        SerializationError: ``obj`` has no ``__module__`` / ``__qualname__``.
    """
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        raise SerializationError(f"{obj!r} has no module and qualified name")
    return f"{module}:{qualname}"


def resolve(path: str) -> Any:
    """Import ``"module:qualname"`` and return the object it names.

    Raises:
        SerializationError: the path is malformed or cannot be imported.
    """
    module_name, _, qualname = path.partition(":")
    if not module_name or not qualname:
        raise SerializationError(f"{path!r} is not an import path of the form 'module:qualname'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise SerializationError(f"cannot import module {module_name!r} ({exc})") from exc
    for part in qualname.split("."):
        if part == "<locals>" or part.startswith("<"):
            raise SerializationError(f"{path!r} names a local object, which cannot be imported")
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise SerializationError(
                f"module {module_name!r} has no attribute {qualname!r}"
            ) from None
    return obj


def import_path(obj: Any, *, accept: Callable[[Any], bool] | None = None) -> str:
    """The ``"module:qualname"`` path that imports back to ``obj``.

    Args:
        obj: a function or class.
        accept: when given, also accept the imported object if
            ``accept(imported)`` is true (e.g. a task wrapping the function).

    Raises:
        SerializationError: saying why ``obj`` is not importable.
    """
    path = object_path(obj)
    qualname = path.partition(":")[2]
    if "<lambda>" in qualname:
        raise SerializationError(
            f"{path} is a lambda, which cannot be imported; define it with def at module level"
        )
    if "<locals>" in qualname:
        raise SerializationError(
            f"{path} is defined inside another function, so it cannot be imported; "
            "define it at module level"
        )
    try:
        found = resolve(path)
    except SerializationError as exc:
        raise SerializationError(
            f"{path} is not importable: {exc}; define it at module level"
        ) from exc
    if found is not obj and not (accept is not None and accept(found)):
        raise SerializationError(
            f"importing {path} gives another object ({found!r}), not {obj!r}; "
            "give it its own module-level name"
        )
    return path


# -- encoding -----------------------------------------------------------------


def encode(value: Any, where: str = "value") -> Any:
    """Turn ``value`` into JSON-compatible data (see the module docs).

    Args:
        value: the value to encode.
        where: what the value is, for error messages (e.g. "task 'add-1',
            option 'trigger'").

    Raises:
        SerializationError: the value (or an item in it) has no encoding.

    Example:
        >>> from datetime import timedelta
        >>> encode({"every": timedelta(seconds=90), "on": (1, 2)})["on"]
        {'__headwater__': 'tuple', 'items': [1, 2]}
        >>> decode(encode({"every": timedelta(seconds=90)}))
        {'every': datetime.timedelta(seconds=90)}
    """
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is str:
        return value
    if kind is float:
        return value if math.isfinite(value) else {TAG: "float", "value": repr(value)}
    if kind is list:
        return [encode(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if kind is dict:
        return _encode_dict(value, where)
    if kind is tuple:
        return {TAG: "tuple", "items": [encode(item, where) for item in value]}
    if kind is set or kind is frozenset:
        items = [encode(item, where) for item in value]
        items.sort(key=lambda item: json.dumps(item, sort_keys=True))
        return {TAG: kind.__name__, "items": items}
    encoder = _ENCODERS.get(kind)
    if encoder is not None:
        return encoder(value, where)
    return _encode_other(value, where)


def _encode_dict(value: dict[Any, Any], where: str) -> Any:
    if all(type(key) is str for key in value) and TAG not in value:
        return {key: encode(item, f"{where}[{key!r}]") for key, item in value.items()}
    return {
        TAG: "dict",
        "items": [
            [encode(key, where), encode(item, f"{where}[{key!r}]")] for key, item in value.items()
        ],
    }


def _encode_timedelta(value: timedelta, where: str) -> Any:
    return {
        TAG: "timedelta",
        "days": value.days,
        "seconds": value.seconds,
        "microseconds": value.microseconds,
    }


def _encode_iso(value: datetime | date | time, where: str) -> Any:
    return {TAG: type(value).__name__, "iso": value.isoformat()}


def _encode_bytes(value: bytes, where: str) -> Any:
    return {TAG: "bytes", "base64": base64.b64encode(value).decode("ascii")}


def _encode_slot(value: Slot, where: str) -> Any:
    return {TAG: "slot", "key": value.key}


def _encode_partial(value: functools.partial[Any], where: str) -> Any:
    return {
        TAG: "partial",
        "func": encode(value.func, where),
        "args": [encode(arg, where) for arg in value.args],
        "kwargs": {key: encode(arg, where) for key, arg in value.keywords.items()},
    }


_ENCODERS: dict[type, Callable[[Any, str], Any]] = {
    timedelta: _encode_timedelta,
    datetime: _encode_iso,
    date: _encode_iso,
    time: _encode_iso,
    bytes: _encode_bytes,
    Slot: _encode_slot,
    functools.partial: _encode_partial,
}


def _encode_other(value: Any, where: str) -> Any:
    if isinstance(value, enum.Enum):
        try:
            path = import_path(type(value))
        except SerializationError as exc:
            raise SerializationError(f"{where}: cannot encode {value!r}: {exc}") from exc
        return {TAG: "enum", "type": path, "name": value.name}
    if isinstance(value, type) or (callable(value) and hasattr(value, "__qualname__")):
        return _encode_importable(value, where)
    raise SerializationError(
        f"{where}: cannot encode {_short(value)} of type {type(value).__qualname__}; {_ADVICE}"
    )


def _encode_importable(value: Any, where: str) -> Any:
    try:
        path = object_path(value)
    except SerializationError as exc:
        raise SerializationError(f"{where}: {exc}; {_ADVICE}") from exc
    factory = _FACTORIES.get(path)
    if factory is not None:
        return _encode_factory_closure(value, factory, where)
    try:
        return {TAG: "import", "path": import_path(value)}
    except SerializationError as exc:
        raise SerializationError(f"{where}: {exc}") from exc


def _encode_factory_closure(value: Any, factory: tuple[str, str], where: str) -> Any:
    factory_path, variable = factory
    cells = dict(zip(value.__code__.co_freevars, value.__closure__ or (), strict=False))
    if variable not in cells:
        raise SerializationError(
            f"{where}: cannot find the arguments of {factory_path}(...) in {value!r}"
        )
    argument = cells[variable].cell_contents
    return {TAG: "call", "factory": factory_path, "args": [encode(list(argument), where)]}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# -- decoding -----------------------------------------------------------------


def decode(data: Any) -> Any:
    """Turn data made by :func:`encode` back into the value.

    Raises:
        SerializationError: an unknown tag, a malformed tagged object, or an
            import path that cannot be imported.

    Example:
        >>> decode({"__headwater__": "set", "items": [1, 2]})
        {1, 2}
    """
    kind = type(data)
    if data is None or kind is bool or kind is int or kind is float or kind is str:
        return data
    if kind is list:
        return [decode(item) for item in data]
    if kind is dict:
        if TAG not in data:
            return {key: decode(item) for key, item in data.items()}
        tag = data[TAG]
        decoder = _DECODERS.get(tag) if isinstance(tag, str) else None
        if decoder is None:
            raise SerializationError(f"unknown tag {tag!r} in {_short(data)}")
        try:
            return decoder(data)
        except SerializationError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise SerializationError(f"malformed {tag!r} object {_short(data)}: {exc}") from exc
    raise SerializationError(f"cannot decode {_short(data)} of type {kind.__qualname__}")


def _decode_float(data: dict[str, Any]) -> float:
    return float(data["value"])


def _decode_dict(data: dict[str, Any]) -> dict[Any, Any]:
    return {decode(key): decode(item) for key, item in data["items"]}


def _decode_timedelta(data: dict[str, Any]) -> timedelta:
    return timedelta(days=data["days"], seconds=data["seconds"], microseconds=data["microseconds"])


def _decode_import(data: dict[str, Any]) -> Any:
    return resolve(data["path"])


def _decode_enum(data: dict[str, Any]) -> Any:
    enum_type = resolve(data["type"])
    return enum_type[data["name"]]


def _decode_partial(data: dict[str, Any]) -> Any:
    return functools.partial(decode(data["func"]), *decode(data["args"]), **decode(data["kwargs"]))


def _decode_call(data: dict[str, Any]) -> Any:
    factory = data["factory"]
    if factory not in _ALLOWED_FACTORIES:
        raise SerializationError(
            f"refusing to call {factory!r}: only {sorted(_ALLOWED_FACTORIES)} are allowed"
        )
    return resolve(factory)(*decode(data["args"]))


_DECODERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "float": _decode_float,
    "tuple": lambda data: tuple(decode(data["items"])),
    "set": lambda data: set(decode(data["items"])),
    "frozenset": lambda data: frozenset(decode(data["items"])),
    "dict": _decode_dict,
    "timedelta": _decode_timedelta,
    "datetime": lambda data: datetime.fromisoformat(data["iso"]),
    "date": lambda data: date.fromisoformat(data["iso"]),
    "time": lambda data: time.fromisoformat(data["iso"]),
    "bytes": lambda data: base64.b64decode(data["base64"]),
    "slot": lambda data: Slot(data["key"]),
    "import": _decode_import,
    "enum": _decode_enum,
    "partial": _decode_partial,
    "call": _decode_call,
}
