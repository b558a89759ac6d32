"""``Flow.validate()``: the whole-flow checks run before every run.

Building by calls keeps most rules true as it goes (see ``_flow``); these
checks catch what can still go wrong: cycles deferred with ``validate=False``,
slugs changed by hand after a task was added, inputs that do not match a
task's ``run`` signature.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.errors import FlowValidationError

if TYPE_CHECKING:
    from headwater._flow import Flow

__all__ = ["validate_flow"]

_MAX_LISTED = 20


def validate_flow(flow: Flow) -> None:
    """Raise if ``flow`` is not runnable; list every problem found.

    Raises:
        CycleError: the flow holds a cycle.
        FlowValidationError: any other problem.
    """
    problems: list[str] = []
    tasks, slugs = flow._tasks, flow._slugs
    for task in tasks:
        slug = task.slug
        if slug is None:
            problems.append(f"task {task!r} has no slug")
        elif slugs.get(slug) is not task:
            owner = slugs.get(slug)
            problems.append(
                f"tasks {owner!r} and {task!r} share the slug {slug!r}"
                if owner is not None
                else f"task {task!r} has the slug {slug!r}, changed after it was added to "
                "the flow; slugs must stay fixed"
            )
            if len(problems) > _MAX_LISTED:
                break
    # Only tasks whose inputs changed since the last valid check, other than
    # by a call (a call binds every argument, like a Python call).
    edges_to, all_constants = flow._edges_to, flow.constants
    for task in flow._unchecked:
        if len(problems) > _MAX_LISTED:
            break
        if task not in tasks:
            continue  # removed again when the call that added it was refused
        edges = edges_to.get(task)
        constants = all_constants.get(task)
        if edges or constants or task._signature.required:
            problems.extend(_input_problems(task, edges or (), constants or {}))
    for task in flow._reference_tasks:
        if task not in tasks:
            problems.append(f"reference task {task!r} is not in the flow")
    if problems:
        shown = problems[:_MAX_LISTED]
        more = len(problems) - len(shown)
        raise FlowValidationError(
            f"flow {flow.name!r} is not valid:\n  - "
            + "\n  - ".join(shown)
            + (f"\n  ... and {more} more" if more else "")
        )
    flow.sorted_tasks()  # raises CycleError naming the cycle
    flow._unchecked.clear()


def _input_problems(task: Any, edges: Any, constants: Any) -> list[str]:
    signature = task._signature
    given = {edge.key for edge in edges if edge.key is not None}
    given.update(constants)
    if not signature.var_keyword and given == signature.names:
        return []  # the common case: every argument given, each once
    problems = []
    missing = [name for name in signature.required if name not in given]
    if missing:
        problems.append(
            f"task {task.slug!r} is missing required input"
            f"{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}: pass "
            "them when calling the task, or add keyword edges"
        )
    if not signature.var_keyword:
        unknown = sorted(given - signature.names)
        if unknown:
            problems.append(
                f"task {task.slug!r} receives input{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(map(repr, unknown))} that its run() does not accept"
            )
    return problems
