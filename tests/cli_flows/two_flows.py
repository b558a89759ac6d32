"""Two flows in one module: the CLI needs FILE:NAME."""

from __future__ import annotations

from headwater import Flow, task


@task
def one() -> int:
    return 1


with Flow("first") as first:
    one()

with Flow("second") as second:
    one()
