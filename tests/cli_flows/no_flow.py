"""A module without a flow, with a function that builds one."""

from __future__ import annotations

from headwater import Flow, task


@task
def hello(who: str) -> str:
    return f"hello {who}"


def build_flow() -> Flow:
    """The flow, built on demand (``no_flow.py:build_flow``)."""
    with Flow("built") as flow:
        hello("factory")
    return flow


def not_a_flow() -> int:
    return 42
