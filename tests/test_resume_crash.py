"""Kill a checkpointed run with SIGKILL, resume it in a new process.

The flow is ``tests/_crash_flow.py`` (see its docstring): every task writes
its name to ``calls.txt`` when it runs, so the tests count what ran again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from headwater.stores import LocalStore, last_run_id

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX"),
]

SCRIPT = Path(__file__).parent / "_crash_flow.py"
ROOT = Path(__file__).parent.parent
EXPECTED = {
    "load": [1, 2, 3, 4],
    "report": "30 from [1, 4, 9, 16]",
    "square": [1, 4, 9, 16],
    "total": 30,
}


def run_script(
    tmp_path: Path, *args: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    environment = {**os.environ, "HW_CRASH_DIR": str(tmp_path), **env}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        check=False,
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=60,
    )
    calls_file = tmp_path / "calls.txt"
    calls = calls_file.read_text().split() if calls_file.exists() else []
    calls_file.unlink(missing_ok=True)
    return done, calls


def results(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    payload: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert payload["state"] == "Success"
    return payload["results"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("crash_at", "rerun"),
    [
        ("square-3", ["square-3", "square-4", "total", "report"]),
        ("total", ["total", "report"]),
        ("report", ["report"]),
    ],
)
def test_a_killed_run_resumes_without_rerunning_finished_tasks(
    tmp_path: Path, crash_at: str, rerun: list[str]
) -> None:
    store = str(tmp_path / "store")
    crashed, before = run_script(tmp_path, store, HW_CRASH_AT=crash_at)
    assert crashed.returncode == -signal.SIGKILL
    assert before[-1] == crash_at
    resumed, after = run_script(tmp_path, store, "latest", HW_CRASH_AT=crash_at)
    assert results(resumed) == EXPECTED
    assert after == rerun  # only the killed task and what had not started
    uninterrupted, _ = run_script(tmp_path)
    assert results(uninterrupted) == EXPECTED


def test_a_kill_while_writing_a_record_never_exposes_a_partial_result(tmp_path: Path) -> None:
    store = tmp_path / "store"
    crashed, before = run_script(tmp_path, str(store), HW_CRASH_AT="square-3", HW_KILL_IN_WRITE="1")
    assert crashed.returncode == -signal.SIGKILL
    assert before == ["load", "square-1", "square-2", "square-3"]
    resumed, after = run_script(tmp_path, str(store), "latest")
    assert results(resumed) == EXPECTED
    assert after == ["square-3", "square-4", "total", "report"]  # the torn record is ignored


def test_a_corrupted_journal_tail_runs_those_tasks_again(tmp_path: Path) -> None:
    store = tmp_path / "store"
    first, _ = run_script(tmp_path, str(store))
    assert results(first) == EXPECTED
    journal = store / "runs" / str(last_run_id(LocalStore(store))) / "journal"
    journal.write_bytes(journal.read_bytes()[:-3])  # the last record: report's
    resumed, after = run_script(tmp_path, str(store), "latest")
    assert results(resumed) == EXPECTED
    assert after == ["report"]


CACHED_MODULE = """
from datetime import timedelta
from pathlib import Path
import sys

from headwater import Flow, task
from headwater.stores import LocalStore


@task(cache_for=timedelta(hours=1))
def expensive(x: int) -> int:
    Path(sys.argv[2]).open("a").write("called\\n")
    return x * {factor}


with Flow("cached") as flow:
    out = expensive(21)

state = flow.run(store=LocalStore(sys.argv[1]))
print(type(state.result[out]).__name__, state.result[out].result)
"""


def test_the_cache_persists_across_processes_until_the_source_changes(tmp_path: Path) -> None:
    module = tmp_path / "cached_flow.py"
    store, calls = tmp_path / "store", tmp_path / "calls.txt"

    def run(factor: int) -> str:
        module.write_text(textwrap.dedent(CACHED_MODULE.format(factor=factor)))
        done = subprocess.run(
            [sys.executable, str(module), str(store), str(calls)],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert run(2) == "Success 42"
    assert run(2) == "Cached 42"  # a new process: the function was not called
    assert calls.read_text().count("called") == 1
    assert run(3) == "Success 63"  # the source changed: the old entry is not reused
    assert calls.read_text().count("called") == 2
