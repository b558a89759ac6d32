"""Serializers for result stores: values to bytes and back."""

from __future__ import annotations

import json
import pickle
from typing import Any, Protocol, runtime_checkable

__all__ = ["JSONSerializer", "PickleSerializer", "Serializer"]


@runtime_checkable
class Serializer(Protocol):
    """Turns values into bytes and back."""

    def dumps(self, value: Any) -> bytes:
        """The bytes of ``value``; raises when it cannot be serialized."""
        ...

    def loads(self, data: bytes) -> Any:
        """The value ``data`` holds."""
        ...


class PickleSerializer:
    """Pickle (``cloudpickle`` when installed, so lambdas and local classes work).

    Example:
        >>> PickleSerializer().loads(PickleSerializer().dumps([1, 2]))
        [1, 2]
    """

    def __init__(self, protocol: int = pickle.HIGHEST_PROTOCOL) -> None:
        self.protocol = protocol
        try:
            import cloudpickle  # type: ignore[import-not-found,import-untyped,unused-ignore]

            self._dumps: Any = cloudpickle.dumps
        except ImportError:
            self._dumps = pickle.dumps

    def dumps(self, value: Any) -> bytes:
        """Pickle ``value``."""
        data: bytes = self._dumps(value, protocol=self.protocol)
        return data

    def loads(self, data: bytes) -> Any:
        """Unpickle ``data`` (only read stores you trust)."""
        return pickle.loads(data)

    def __repr__(self) -> str:
        return "PickleSerializer()"


class JSONSerializer:
    """JSON (UTF-8): portable and readable, for JSON-compatible results only.

    Example:
        >>> JSONSerializer().dumps({"a": [1, 2]})
        b'{"a":[1,2]}'
    """

    def dumps(self, value: Any) -> bytes:
        """``value`` as compact JSON; ``TypeError`` for what JSON cannot hold."""
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()

    def loads(self, data: bytes) -> Any:
        """The value the JSON ``data`` holds."""
        return json.loads(data)

    def __repr__(self) -> str:
        return "JSONSerializer()"
