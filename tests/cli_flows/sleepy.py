"""A flow with a long task, to interrupt with Ctrl-C."""

from __future__ import annotations

import time

from headwater import Flow, task


@task
def quick() -> int:
    return 1


@task
def sleepy(x: int) -> int:
    time.sleep(30)
    return x


with Flow("sleepy") as flow:
    sleepy(quick())
