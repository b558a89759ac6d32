"""A small train / evaluate pipeline whose training step is cached.

What it shows:

- ``cache_for=`` with ``cache_validator=cache_validators.all_inputs``: the
  trained model is reused while the training data and hyper-parameters are
  the same, and recomputed when one of them changes;
- a cached task ends in ``Cached`` without its ``run`` being called;
- the cache is kept per process (``headwater``'s default store), so the three
  runs below share it.

The model is a straight line ``y = w * x + b`` fitted by gradient descent, in
plain Python (no numpy).

Run it with ``python examples/train_evaluate.py``.
"""

from __future__ import annotations

import random
import sys
from datetime import timedelta

from headwater import Flow, Parameter, cache_validators, task

Point = tuple[float, float]
TRAINING_RUNS = 0


@task
def make_data(seed: int, size: int) -> dict[str, list[Point]]:
    """Noisy points on ``y = 3x + 2``, split into train and test sets."""
    rng = random.Random(seed)
    points = [(x, 3 * x + 2 + rng.gauss(0, 0.1)) for x in (rng.uniform(-1, 1) for _ in range(size))]
    cut = int(size * 0.8)
    return {"train": points[:cut], "test": points[cut:]}


@task(cache_for=timedelta(hours=1), cache_validator=cache_validators.all_inputs)
def train(data: dict[str, list[Point]], learning_rate: float, epochs: int) -> Point:
    """Fit ``(w, b)`` by batch gradient descent on the training points."""
    global TRAINING_RUNS
    TRAINING_RUNS += 1
    w = b = 0.0
    points = data["train"]
    for _ in range(epochs):
        grad_w = sum(2 * (w * x + b - y) * x for x, y in points) / len(points)
        grad_b = sum(2 * (w * x + b - y) for x, y in points) / len(points)
        w, b = w - learning_rate * grad_w, b - learning_rate * grad_b
    return (w, b)


@task
def evaluate(model: Point, data: dict[str, list[Point]]) -> float:
    """Mean squared error of ``model`` on the test points."""
    w, b = model
    test = data["test"]
    return sum((w * x + b - y) ** 2 for x, y in test) / len(test)


def build_flow() -> tuple[Flow, dict[str, object]]:
    """The flow, and the tasks whose states ``main`` reads."""
    with Flow("train-evaluate") as flow:
        learning_rate = Parameter("learning_rate", default=0.1)
        data = make_data(seed=7, size=200)
        model = train(data, learning_rate, epochs=40)
        error = evaluate(model, data)
    return flow, {"model": model, "error": error}


def main() -> int:
    flow, tasks = build_flow()
    runs = [
        ("first run", {}),
        ("same inputs again", {}),
        ("new learning rate", {"learning_rate": 0.05}),
    ]
    ok = True
    for label, parameters in runs:
        state = flow.run(parameters=parameters)
        ok = ok and state.is_successful()
        model_state = state.result[tasks["model"]]
        w, b = model_state.result
        error = state.result[tasks["error"]].result
        print(
            f"{label:<18} train: {type(model_state).__name__:<7} "
            f"w={w:.2f} b={b:.2f} test MSE={error:.4f}"
        )
    print(f"train really ran {TRAINING_RUNS} times in 3 flow runs")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
