"""A flow that does not finish: its approval task waits (signals.WAIT)."""

from __future__ import annotations

from headwater import Flow, signals, task


@task
def prepare() -> str:
    return "draft"


@task
def approve(draft: str) -> str:
    raise signals.WAIT("waiting for a human to approve the draft")


@task
def publish(approved: str) -> str:
    return f"published {approved}"


with Flow("review") as flow:
    publish(approve(prepare()))
