"""The workloads: their trivial task bodies, their shapes, and the plain-loop floor.

Every engine runs the same functions in the same graph shape and must return
the same answer as the plain loop (the worker checks it):

- ``chain``: ``x = inc(x)`` N times; the answer is the last value.
- ``fan-out``: N independent ``inc(i)`` and one ``total`` taking their list.
- ``map-reduce``: ``inc`` mapped over ``range(N)``, then ``total`` of the list.
- ``lattice``: ``width x depth = N`` tasks; row 0 is ``inc(j)``, every later
  task is ``add(row[j], row[j + 1 mod width])`` of the row above; the answer
  is the sum of the last row.
- ``sleep``: 64 independent ``nap(i)`` sleeping 50 ms (for concurrent engines).

The functions live in an importable module so that process and Dask workers
can unpickle them by reference.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

WORKLOADS = ("chain", "fan-out", "map-reduce", "lattice", "sleep")
TRIVIAL = ("chain", "fan-out", "map-reduce", "lattice")

SLEEP_TASKS = 64
SLEEP_SECONDS = 0.05
MODULUS = 1_000_003  # keeps lattice values small integers


def inc(x: int) -> int:
    """The trivial task body: one addition."""
    return x + 1


def add(x: int, y: int) -> int:
    """A lattice node: two upstream results in, one small integer out."""
    return (x + y) % MODULUS


def total(xs: list[int]) -> int:
    """The reduce step of fan-out and map-reduce."""
    return sum(xs)


def nap(i: int) -> int:
    """The sleeping task: 50 ms of waiting, no CPU."""
    time.sleep(SLEEP_SECONDS)
    return i


def size(workload: str, n: int) -> int:
    """The N a workload really runs at (``sleep`` always has 64 tasks)."""
    return SLEEP_TASKS if workload == "sleep" else n


def lattice_shape(n: int) -> tuple[int, int]:
    """``(width, depth)`` with ``width * depth == n``, as square as ``n`` allows."""
    width = max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)
    return width, n // width


# -- the plain loop: the floor every engine is compared with -------------------


def plain_chain(n: int) -> int:
    x = inc(0)
    for _ in range(n - 1):
        x = inc(x)
    return x


def plain_fan_out(n: int) -> int:
    return total([inc(i) for i in range(n)])


def plain_map_reduce(n: int) -> int:
    return total(list(map(inc, range(n))))


def plain_lattice(n: int) -> int:
    width, depth = lattice_shape(n)
    row = [inc(j) for j in range(width)]
    for _ in range(depth - 1):
        row = [add(row[j], row[(j + 1) % width]) for j in range(width)]
    return sum(row)


def plain_sleep(n: int) -> int:
    return sum(nap(i) for i in range(SLEEP_TASKS))


PLAIN: dict[str, Callable[[int], int]] = {
    "chain": plain_chain,
    "fan-out": plain_fan_out,
    "map-reduce": plain_map_reduce,
    "lattice": plain_lattice,
    "sleep": plain_sleep,
}


def expected(workload: str, n: int) -> int:
    """The answer every engine must return (computed without sleeping)."""
    if workload == "sleep":
        return sum(range(SLEEP_TASKS))
    return PLAIN[workload](n)
