"""Build the executor ``--executor/--workers/--address`` ask for.

The optional executors are imported only when selected; a missing backend is
reported with the command that installs it.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

from headwater.cli._errors import CliError

if TYPE_CHECKING:
    from headwater.executors import Executor

__all__ = ["EXECUTORS", "make_executor", "pickle_by_value"]

EXECUTORS = ("local", "threads", "processes", "dask")

_CLASSES = {
    "threads": ("ThreadExecutor", None),
    "processes": ("ProcessExecutor", "processes"),
    "dask": ("DaskExecutor", "dask"),
}


def make_executor(name: str | None, workers: int | None, address: str | None) -> Executor | None:
    """The executor to run with; ``None`` keeps the flow's own (else local).

    Args:
        name: one of :data:`EXECUTORS`, or ``None`` (``dask`` if ``address``).
        workers: how many tasks may run at once (not for ``local``).
        address: a running Dask scheduler, ``tcp://host:port``.

    Raises:
        CliError: contradictory options, or the backend is not installed.
    """
    if address is not None:
        if name not in (None, "dask"):
            raise CliError(
                f"--address is a Dask scheduler address: it needs --executor dask, not {name}"
            )
        if workers is not None:
            raise CliError(
                "--workers cannot be combined with --address: the scheduler has its workers"
            )
        name = "dask"
    if name is None:
        if workers is not None:
            raise CliError("--workers needs --executor threads, processes or dask")
        return None
    if name == "local":
        if workers is not None:
            raise CliError("the local executor runs one task at a time: drop --workers")
        from headwater.executors import LocalExecutor

        return LocalExecutor()
    class_name, extra = _CLASSES[name]
    executor_class = _import_executor(class_name, extra)
    options: dict[str, Any] = {}
    if name == "dask":
        if address is not None:
            options["address"] = address
        elif workers is not None:
            options["n_workers"] = workers
    elif workers is not None:
        options["max_workers"] = workers
    try:
        executor: Executor = executor_class(**options)
    except ImportError as error:
        raise CliError(_missing(class_name, extra, error)) from None
    return executor


def _import_executor(class_name: str, extra: str | None) -> Any:
    import headwater.executors

    try:
        return getattr(headwater.executors, class_name)
    except ImportError as error:
        raise CliError(_missing(class_name, extra, error)) from None


def _missing(class_name: str, extra: str | None, error: ImportError) -> str:
    missing = getattr(error, "name", None) or ""
    if missing.startswith("headwater") or extra is None:
        return f"{class_name} is not available in this installation of headwater ({error})"
    return f"{class_name} needs an optional dependency ({error}): pip install 'headwater[{extra}]'"


def pickle_by_value(module: ModuleType) -> None:
    """Let worker processes receive ``module``'s functions by value.

    A flow file is not importable on a Dask worker (or under another working
    directory), so its functions travel pickled by value when cloudpickle is
    installed; without it, nothing changes.
    """
    try:
        import cloudpickle
    except ImportError:
        return
    cloudpickle.register_pickle_by_value(module)
