"""Look-ups and derived figures over the results: overheads, ratios, memory."""

from __future__ import annotations

from collections.abc import Iterable

from benchmarks.suite.schedule import Result


class Figures:
    """The successful results, by (workload, engine, n), and what derives from them.

    Overheads are per task, in seconds: ``(time - plain loop) / n``, where
    ``time`` is the run alone or build + run. Ratios compare build + run.
    """

    def __init__(self, results: Iterable[Result]) -> None:
        self.results = list(results)
        self._ok = {(r.case.workload, r.case.engine, r.case.n): r for r in self.results if r.ok}

    def get(self, workload: str, engine: str, n: int) -> Result | None:
        return self._ok.get((workload, engine, n))

    def plain(self, workload: str, n: int) -> float | None:
        result = self.get(workload, "plain", n)
        return result.total if result else None

    def overhead(self, workload: str, engine: str, n: int, with_build: bool) -> float | None:
        """Seconds per task above the plain loop (run alone, or build + run)."""
        result, floor = self.get(workload, engine, n), self.plain(workload, n)
        if result is None or floor is None or result.run is None or result.total is None:
            return None
        spent = result.total if with_build else result.run
        return (spent - floor) / n

    def ratio(self, workload: str, engine: str, other: str, n: int) -> float | None:
        """Build + run of ``engine`` over build + run of ``other``."""
        mine, theirs = self.get(workload, engine, n), self.get(workload, other, n)
        if mine is None or theirs is None or not mine.total or not theirs.total:
            return None
        return mine.total / theirs.total

    def peak_per_task(self, workload: str, engine: str, n: int) -> float | None:
        result = self.get(workload, engine, n)
        return result.peak / n if result and result.peak is not None else None

    def largest_n(self, workload: str, *engines: str) -> int | None:
        """The largest N at which every one of ``engines`` ran ``workload``."""
        common = [
            n
            for (w, e, n) in self._ok
            if w == workload
            and e == engines[0]
            and all(self.get(workload, other, n) for other in engines)
        ]
        return max(common, default=None)
