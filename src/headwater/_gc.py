"""Keep CPython's cyclic garbage collector from rescanning a big graph.

A flow of 100,000 tasks is some 600,000 container objects (tasks, edges,
index lists) that live as long as the flow. The collector's full collections
scan every such object, and while a flow grows they come every time the
oldest generation grows by a quarter: about seven times while a 100,000-task
flow is built and run, which measured 40% of the whole build + run.

So while a flow is built (inside ``with Flow(...)``) or run, headwater moves
the objects that exist at that moment into the collector's permanent
generation (:func:`gc.freeze`): building does so again every few thousand
tasks or edges, a run does so once its frozen graph is built. When the last
build or run ends, they go back to the oldest generation (:func:`gc.unfreeze`).
Nothing else changes: young collections go on as usual, so short-lived
cyclic garbage is reclaimed at once; cyclic garbage that was frozen is
reclaimed by the first full collection after the build or run.

headwater leaves the collector alone when it is disabled, when something
else has frozen objects already (``gc.get_freeze_count() > 0``: a pre-fork
server, say), or when the environment sets ``HEADWATER_GC_FREEZE=0``.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["REFREEZE_EVERY", "hold", "holding", "refreeze", "release"]

REFREEZE_EVERY = 4096
"""Building freezes again each time the flow has this many more tasks (or edges)."""

_lock = threading.Lock()
_holders = 0  # builds and runs in progress, in every thread
_owned = False  # True when headwater froze the objects it holds frozen
_enabled = os.environ.get("HEADWATER_GC_FREEZE", "1") != "0"


def hold() -> None:
    """A build or run starts: freeze what exists (if headwater may)."""
    global _holders, _owned
    with _lock:
        _holders += 1
        if _holders == 1:
            _owned = _enabled and gc.isenabled() and gc.get_freeze_count() == 0
        if _owned:
            gc.freeze()


def release() -> None:
    """A build or run ended: the last one gives the objects back to the collector."""
    global _holders, _owned
    with _lock:
        _holders -= 1
        if _holders == 0 and _owned:
            _owned = False
            gc.unfreeze()


def refreeze() -> None:
    """Freeze the objects made since the last freeze, while a build or run holds."""
    if _owned:
        with _lock:
            if _owned:
                gc.freeze()


@contextmanager
def holding() -> Iterator[None]:
    """``with holding():`` around a run (see the module docs)."""
    hold()
    try:
        yield
    finally:
        release()
