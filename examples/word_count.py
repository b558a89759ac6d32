"""Map-reduce word count over a directory of text files.

What it shows:

- ``Task.map``: ``count_words.map(paths)`` runs once per file; the mapped
  task's state is ``Mapped`` and its children's states are in ``.map_states``;
- ``unmapped(...)``: an argument passed whole to every mapped child
  (here, the minimum word length);
- a reduce step: a task that is *not* mapped but takes a mapped task's result
  receives the list of the children's results;
- ``context.map_index``: which child is running.

It writes a few small text files into a temporary directory, counts the words
of each file in parallel branches, and merges the counts.

Run it with ``python examples/word_count.py``.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

from headwater import Flow, Parameter, context, task, unmapped

TEXTS = {
    "river.txt": "The river runs to the sea. The sea is wide and the river is long.",
    "spring.txt": "A spring feeds the stream; the stream feeds the river.",
    "rain.txt": "Rain falls on the hills and the hills feed the spring.",
}


@task
def list_files(directory: str) -> list[str]:
    """The text files in ``directory``, sorted."""
    return sorted(str(path) for path in Path(directory).glob("*.txt"))


@task
def count_words(path: str, min_length: int) -> Counter[str]:
    """Count the words of one file (lower-cased, punctuation stripped)."""
    words = Path(path).read_text(encoding="utf-8").lower().split()
    cleaned = (word.strip(".,;:!?") for word in words)
    counts = Counter(word for word in cleaned if len(word) >= min_length)
    context.logger.info("file %d (%s): %d words", context.map_index, path, sum(counts.values()))
    return counts


@task
def merge(counts: list[Counter[str]]) -> Counter[str]:
    """Add up the per-file counts (the reduce step)."""
    total: Counter[str] = Counter()
    for partial in counts:
        total.update(partial)
    return total


def build_flow() -> tuple[Flow, dict[str, object]]:
    """The flow, and the tasks whose results ``main`` reads."""
    with Flow("word-count") as flow:
        directory = Parameter("directory")
        min_length = Parameter("min_length", default=3)
        paths = list_files(directory)
        per_file = count_words.map(paths, unmapped(min_length))
        total = merge(per_file)
    return flow, {"paths": paths, "per_file": per_file, "total": total}


def main() -> int:
    flow, tasks = build_flow()
    with tempfile.TemporaryDirectory() as directory:
        for name, text in TEXTS.items():
            (Path(directory) / name).write_text(text, encoding="utf-8")
        state = flow.run(parameters={"directory": directory})

    per_file = state.result[tasks["per_file"]]
    print(f"flow {flow.name!r} finished: {type(state).__name__}")
    print(f"count_words ran {len(per_file.map_states)} times: {type(per_file).__name__}")
    total: Counter[str] = state.result[tasks["total"]].result
    for word, count in total.most_common(5):
        print(f"  {word:<8} {count}")
    return 0 if state.is_successful() else 1


if __name__ == "__main__":
    sys.exit(main())
