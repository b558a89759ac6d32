"""The parameter values of a run: checked before anything runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from headwater.errors import ParameterError

if TYPE_CHECKING:
    from headwater._graph import FrozenGraph

__all__ = ["resolve_parameters"]


def resolve_parameters(graph: FrozenGraph, given: Mapping[str, Any]) -> dict[str, Any]:
    """The run's parameter values: the given ones, plus defaults.

    Raises:
        ParameterError: listing missing required and unknown names.
    """
    declared = {graph.tasks[index].name: graph.tasks[index] for index in graph.parameters}
    unknown = sorted(name for name in given if name not in declared)
    missing = sorted(
        name
        for name, parameter in declared.items()
        if getattr(parameter, "required", False) and name not in given
    )
    if unknown or missing:
        problems = []
        if missing:
            problems.append(f"missing required parameter{'s' * (len(missing) > 1)}: {missing}")
        if unknown:
            problems.append(
                f"unknown parameter{'s' * (len(unknown) > 1)}: {unknown} "
                f"(the flow's parameters are {sorted(declared)})"
            )
        raise ParameterError(
            f"flow {graph.flow_name!r}: " + "; ".join(problems) + ". Nothing was run.",
            missing=missing,
            unknown=unknown,
        )
    values = {name: getattr(parameter, "default", None) for name, parameter in declared.items()}
    values.update(given)
    return values
