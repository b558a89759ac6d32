"""Cache validators: decide whether a cached result may be reused.

A validator is ``fn(cached_state, inputs, parameters) -> bool``: ``cached_state``
is the :class:`~headwater.states.Cached` candidate, ``inputs`` the task's
inputs for this run (argument name -> value) and ``parameters`` the flow run's
parameters. Inputs and parameters are compared through stable fingerprints
(see ``cache_for`` in the docs): a value that has no fingerprint never matches,
so the task runs again instead of reusing a wrong result.

Example:
    >>> from datetime import timedelta
    >>> from headwater import task, cache_validators
    >>> @task(cache_for=timedelta(hours=1), cache_validator=cache_validators.all_inputs)
    ... def load(path: str) -> str:
    ...     return path.upper()
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from headwater._fingerprint import fingerprint
from headwater.states import Cached

__all__ = [
    "CacheValidator",
    "all_inputs",
    "all_parameters",
    "duration_only",
    "never_use",
    "partial_inputs_only",
    "partial_parameters_only",
]

CacheValidator = Callable[[Cached, Mapping[str, Any], Mapping[str, Any]], bool]
"""The type of a cache validator."""


def _now() -> datetime:
    """The clock every cache expiry reads (validators, stores, new entries).

    One function, looked up at call time, so that tests can replace it with a
    fake clock (``monkeypatch.setattr(cache_validators, "_now", ...)``).
    """
    return datetime.now(timezone.utc)


def _same(
    cached: Mapping[str, str | None] | None,
    values: Mapping[str, Any],
    names: Iterable[str] | None = None,
) -> bool:
    if cached is None:
        return False
    keys = set(values) if names is None else set(names)
    if names is None and keys != set(cached):
        return False
    for key in keys:
        cached_print = cached.get(key)
        if key not in values:
            if key in cached:
                return False
            continue
        if cached_print is None or fingerprint(values[key]) != cached_print:
            return False
    return True


def never_use(
    cached_state: Cached, inputs: Mapping[str, Any], parameters: Mapping[str, Any]
) -> bool:
    """Never reuse a cached result."""
    return False


def duration_only(
    cached_state: Cached, inputs: Mapping[str, Any], parameters: Mapping[str, Any]
) -> bool:
    """Reuse while the entry has not expired (the default with ``cache_for``)."""
    expiration = cached_state.expiration
    return expiration is None or _now() < expiration


def all_inputs(
    cached_state: Cached, inputs: Mapping[str, Any], parameters: Mapping[str, Any]
) -> bool:
    """Reuse while unexpired and every input equals the cached run's inputs."""
    return duration_only(cached_state, inputs, parameters) and _same(
        cached_state.cached_inputs, inputs
    )


def all_parameters(
    cached_state: Cached, inputs: Mapping[str, Any], parameters: Mapping[str, Any]
) -> bool:
    """Reuse while unexpired and the flow's parameters equal the cached run's."""
    return duration_only(cached_state, inputs, parameters) and _same(
        cached_state.cached_parameters, parameters
    )


def partial_inputs_only(names: Iterable[str]) -> CacheValidator:
    """Reuse while unexpired and the inputs called ``names`` are unchanged.

    Args:
        names: the input (argument) names to compare; others are ignored.
    """
    if isinstance(names, str):
        raise TypeError("partial_inputs_only takes a list of names, not a single string")
    wanted = tuple(names)

    def partial_inputs_only(
        cached_state: Cached, inputs: Mapping[str, Any], parameters: Mapping[str, Any]
    ) -> bool:
        return duration_only(cached_state, inputs, parameters) and _same(
            cached_state.cached_inputs, inputs, wanted
        )

    return partial_inputs_only


def partial_parameters_only(names: Iterable[str]) -> CacheValidator:
    """Reuse while unexpired and the parameters called ``names`` are unchanged.

    Args:
        names: the parameter names to compare; others are ignored.
    """
    if isinstance(names, str):
        raise TypeError("partial_parameters_only takes a list of names, not a single string")
    wanted = tuple(names)

    def partial_parameters_only(
        cached_state: Cached, inputs: Mapping[str, Any], parameters: Mapping[str, Any]
    ) -> bool:
        return duration_only(cached_state, inputs, parameters) and _same(
            cached_state.cached_parameters, parameters, wanted
        )

    return partial_parameters_only
