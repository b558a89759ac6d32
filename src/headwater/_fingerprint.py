"""Stable fingerprints of values, for cache keys and cache validation.

A fingerprint is a hex SHA-256 of a canonical encoding of a value. It is the
same in every process and on every run (never ``id()``, ``hash()`` of a str, or
pickle bytes), so cached entries can be compared across processes. Values of
types it cannot encode canonically give ``None``: callers then do not cache,
and say so.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import decimal
import enum
import hashlib
import pathlib
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = ["Unfingerprintable", "fingerprint", "fingerprint_mapping"]


class Unfingerprintable(TypeError):
    """A value has no stable fingerprint (its type is named in the message)."""


def fingerprint(value: Any) -> str | None:
    """The stable fingerprint of ``value``, or ``None`` when it has none.

    Example:
        >>> fingerprint([1, "a"]) == fingerprint([1, "a"])
        True
        >>> fingerprint(object()) is None
        True
    """
    digest = hashlib.sha256()
    try:
        _encode(value, digest, depth=0)
    except Unfingerprintable:
        return None
    return digest.hexdigest()


def fingerprint_mapping(values: Mapping[str, Any]) -> dict[str, str | None]:
    """Fingerprint each value of ``values``."""
    return {key: fingerprint(value) for key, value in values.items()}


_MAX_DEPTH = 200


def _encode(value: Any, digest: Any, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise Unfingerprintable("value nested too deeply")
    update = digest.update
    kind = type(value)
    if value is None or kind is bool:
        update(f"<{value!r}>".encode())
    elif kind is int or kind is float or kind is complex:
        update(f"{kind.__name__}:{value!r};".encode())
    elif kind is str:
        data = value.encode("utf-8", "surrogatepass")
        update(b"s%d:" % len(data) + data)
    elif kind is bytes or kind is bytearray:
        update(b"b%d:" % len(value) + bytes(value))
    elif kind is list or kind is tuple:
        update(b"l(" if kind is list else b"t(")
        for item in value:
            _encode(item, digest, depth + 1)
        update(b")")
    elif isinstance(value, Mapping):
        items = sorted(
            ((fingerprint(key), item) for key, item in value.items()), key=lambda kv: kv[0] or ""
        )
        update(b"d(")
        for key_print, item in items:
            if key_print is None:
                raise Unfingerprintable("a mapping key has no fingerprint")
            update(key_print.encode())
            _encode(item, digest, depth + 1)
        update(b")")
    elif kind is set or kind is frozenset:
        prints = sorted(fingerprint(item) or "" for item in value)
        if "" in prints:
            raise Unfingerprintable("a set element has no fingerprint")
        update(("S(" + ",".join(prints) + ")").encode())
    elif isinstance(value, enum.Enum):
        update(f"e:{kind.__module__}.{kind.__qualname__}.{value.name};".encode())
    elif isinstance(value, (_dt.datetime, _dt.date, _dt.time, _dt.timedelta)):
        update(f"{kind.__name__}:{value!r};".encode())
    elif isinstance(value, (decimal.Decimal, uuid.UUID, pathlib.PurePath)):
        update(f"{kind.__name__}:{value!s};".encode())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        update(f"dc:{kind.__module__}.{kind.__qualname__}(".encode())
        for field in dataclasses.fields(value):
            update(field.name.encode())
            _encode(getattr(value, field.name), digest, depth + 1)
        update(b")")
    elif hasattr(value, "__headwater_fingerprint__"):
        _encode(value.__headwater_fingerprint__(), digest, depth + 1)
    elif kind.__module__ == "numpy" and hasattr(value, "tobytes") and hasattr(value, "dtype"):
        # numpy arrays and scalars, without importing numpy.
        update(f"np:{value.dtype}:{getattr(value, 'shape', ())};".encode())
        update(value.tobytes())
    else:
        raise Unfingerprintable(f"values of type {kind.__module__}.{kind.__qualname__}")
