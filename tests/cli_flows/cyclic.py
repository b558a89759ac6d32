"""A flow holding a cycle (built with validate=False): the CLI refuses to run it."""

from __future__ import annotations

from headwater import Flow, Task

a, b = Task(name="a"), Task(name="b")
flow = Flow("cyclic", tasks=[a, b])
flow.add_edge(a, b)
flow.add_edge(b, a, validate=False)
