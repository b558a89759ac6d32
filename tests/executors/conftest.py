"""Executors for the executor tests: one process pool and one Dask cluster per
module (they are slow to start), shared by every test of that module.

``executor`` is parametrized over every executor; the process and Dask
parameters carry the ``slow`` marker (deselect them with ``-m "not slow"``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _clusters import start_dask

from headwater.executors import Executor, LocalExecutor, ThreadExecutor

EXECUTOR_NAMES = [
    "local",
    "threads",
    pytest.param("processes", marks=pytest.mark.slow),
    pytest.param("dask", marks=pytest.mark.slow),
]


@pytest.fixture(scope="module")
def process_executor() -> Iterator[Executor]:
    """``ProcessExecutor(2)``, started once for the module."""
    from headwater.executors import ProcessExecutor

    with ProcessExecutor(2) as executor:
        yield executor


@pytest.fixture(scope="module")
def dask_executor() -> Iterator[Executor]:
    """``DaskExecutor(n_workers=2, processes=True, threads_per_worker=1)``, once per module."""
    executor = start_dask(n_workers=2, processes=True, threads_per_worker=1)
    yield executor
    executor.shutdown()


@pytest.fixture(params=EXECUTOR_NAMES)
def executor(request: pytest.FixtureRequest) -> Executor:
    """Each executor in turn (the slow ones shared by the module)."""
    name = request.param
    if name == "local":
        return LocalExecutor()
    if name == "threads":
        return ThreadExecutor(4)
    fixture = "process_executor" if name == "processes" else "dask_executor"
    shared: Executor = request.getfixturevalue(fixture)
    return shared
