"""headwater's benchmark suite: every workload on every engine, one command.

``python -m benchmarks.suite`` (from the repository root) runs the trivial
workloads (chain, fan-out, map-reduce, lattice) at N = 1,000 / 10,000 /
100,000 and the sleeping fan-out on the plain loop, headwater's executors and
its peers (dask, distributed), and prints a Markdown report: results, ratios
and the targets of the "Speed" issue, met or not.

Modules:

- ``workloads``: the task bodies, the shapes and the plain-loop floor;
- ``engine``, ``headwater_engines``, ``dask_engines``, ``registry``: the engines;
- ``worker``: one case in a fresh process; ``schedule``: the cases, budgets, subprocesses;
- ``probes``: fixed costs (import, one-task run);
- ``figures``, ``report``, ``targets``: the derived figures and the Markdown;
- ``cli``: the command line.
"""
