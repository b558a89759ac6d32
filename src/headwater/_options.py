"""Validation of task options, shared by ``Task.__init__`` and ``Task.copy``.

Each checker takes the task's name (for messages) and the value given, and
returns the normalized value or raises a precise error.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from headwater.errors import TaskDefinitionError

__all__ = ["HeadwaterWarning", "check_option"]


class HeadwaterWarning(UserWarning):
    """A task or flow option that is allowed but probably not what was meant."""


def _tags(owner: str, value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, (str, bytes)):
        raise TypeError(
            f"task {owner!r}: tags must be a set of strings, not the bare string {value!r}; "
            f"write tags={{{value!r}}}"
        )
    if not isinstance(value, Iterable):
        raise TypeError(f"task {owner!r}: tags must be a set of strings, got {value!r}")
    tags = frozenset(value)
    for tag in tags:
        if not isinstance(tag, str):
            raise TypeError(f"task {owner!r}: every tag must be a string, got {tag!r}")
    return tags


def _max_retries(owner: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"task {owner!r}: max_retries must be an int, got {value!r}")
    if value < 0:
        raise TaskDefinitionError(f"task {owner!r}: max_retries must be 0 or more, got {value}")
    return value


def _seconds(owner: str, option: str, value: Any, *, allow_zero: bool) -> float:
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise TypeError(
            f"task {owner!r}: {option} must be a number of seconds or a timedelta, "
            f"got {value!r} ({type(value).__name__})"
        )
    if seconds < 0 or (seconds == 0 and not allow_zero) or seconds != seconds:
        bound = "0 or more" if allow_zero else "more than 0"
        raise TaskDefinitionError(f"task {owner!r}: {option} must be {bound}, got {value!r}")
    return seconds


def _retry_delay(owner: str, value: Any) -> timedelta:
    return timedelta(seconds=_seconds(owner, "retry_delay", value, allow_zero=True))


def _timeout(owner: str, value: Any) -> float | None:
    if value is None:
        return None
    return _seconds(owner, "timeout", value, allow_zero=False)


def _cache_for(owner: str, value: Any) -> timedelta | None:
    if value is None:
        return None
    return timedelta(seconds=_seconds(owner, "cache_for", value, allow_zero=False))


def _callable_or_none(option: str) -> Callable[[str, Any], Any]:
    def check(owner: str, value: Any) -> Any:
        if value is not None and not callable(value):
            raise TypeError(f"task {owner!r}: {option} must be callable, got {value!r}")
        return value

    return check


def _handlers(owner: str, value: Any) -> tuple[Callable[..., Any], ...]:
    if value is None:
        return ()
    if callable(value):
        value = [value]
    handlers = tuple(value)
    for handler in handlers:
        if not callable(handler):
            raise TypeError(
                f"task {owner!r}: state_handlers must be a list of callables, got {handler!r}"
            )
    return handlers


def _bool(option: str) -> Callable[[str, Any], bool]:
    def check(owner: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise TypeError(f"task {owner!r}: {option} must be True or False, got {value!r}")
        return value

    return check


def _optional_str(option: str) -> Callable[[str, Any], str | None]:
    def check(owner: str, value: Any) -> str | None:
        if value is not None and not isinstance(value, str):
            raise TypeError(f"task {owner!r}: {option} must be a string, got {value!r}")
        return value

    return check


def _nout(owner: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"task {owner!r}: nout must be a non-negative int, got {value!r}")
    return value


_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "name": _optional_str("name"),
    "slug": _optional_str("slug"),
    "description": _optional_str("description"),
    "group": _optional_str("group"),
    "tags": _tags,
    "max_retries": _max_retries,
    "retry_delay": _retry_delay,
    "timeout": _timeout,
    "trigger": _callable_or_none("trigger"),
    "propagate_skip": _bool("propagate_skip"),
    "cache_for": _cache_for,
    "cache_validator": _callable_or_none("cache_validator"),
    "state_handlers": _handlers,
    "on_failure": _callable_or_none("on_failure"),
    "nout": _nout,
    "cache_key": _optional_str("cache_key"),
}

OPTIONS = frozenset(_CHECKS)
"""The names of every task option."""


def check_option(owner: str, option: str, value: Any) -> Any:
    """Validate and normalize one task option.

    Raises:
        TypeError: the value has the wrong type, or ``option`` is unknown.
        TaskDefinitionError: the value is out of range.
    """
    try:
        check = _CHECKS[option]
    except KeyError:
        known = ", ".join(sorted(_CHECKS))
        raise TypeError(f"task {owner!r}: unknown option {option!r} (options: {known})") from None
    return check(owner, value)


def warn_validator_without_cache(owner: str) -> None:
    """Warn that a ``cache_validator`` has no effect without ``cache_for``."""
    warnings.warn(
        f"task {owner!r}: cache_validator is set but cache_for is not, so nothing is "
        "cached; set cache_for=timedelta(...) to enable caching",
        HeadwaterWarning,
        stacklevel=4,
    )
