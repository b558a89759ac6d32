"""A flow file that raises while it is imported."""

from __future__ import annotations

raise RuntimeError("this flow file is broken on purpose")
