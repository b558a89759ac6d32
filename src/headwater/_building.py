"""The flow being built: the one piece of implicit state on the build side.

``with Flow(...)`` sets it; calling a task reads it. A ``ContextVar`` keeps
flows built in two threads (or two asyncio tasks) at once apart, and makes
nested ``with`` blocks restore the outer flow on exit.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from headwater._flow import Flow

__all__ = ["active_flow"]

active_flow: ContextVar[Flow | None] = ContextVar("headwater_active_flow", default=None)
