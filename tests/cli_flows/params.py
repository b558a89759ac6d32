"""Writes the value it was given (and its type) to the file ``out``: a side
effect that proves whether the flow ran."""

from __future__ import annotations

import json
from typing import Any

from headwater import Flow, Parameter, task


@task
def record(out: str, value: Any, note: str) -> str:
    with open(out, "w", encoding="utf-8") as file:
        json.dump({"value": value, "type": type(value).__name__, "note": note}, file)
    return out


with Flow("params") as flow:
    record(Parameter("out"), Parameter("value"), Parameter("note", default="none"))
