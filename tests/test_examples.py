"""Every example script runs as ``python examples/NAME.py`` and says what it shows."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TIMEOUT = 60  # seconds; each example takes well under one


def run_example(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=ROOT,
        check=False,
    )


def assert_ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_every_example_has_a_docstring_and_a_test() -> None:
    scripts = sorted(path.name for path in EXAMPLES.glob("*.py"))
    assert scripts == ["dask_cluster.py", "etl.py", "train_evaluate.py", "word_count.py"]
    for name in scripts:
        module = ast.parse((EXAMPLES / name).read_text(encoding="utf-8"))
        docstring = ast.get_docstring(module)
        assert docstring and "What it shows" in docstring, f"{name} needs a docstring"
        assert f"python examples/{name}" in docstring, f"{name}: say how to run it"


def test_etl() -> None:
    out = assert_ok(run_example("etl.py"))
    assert "flow 'etl' finished: Success" in out
    assert "extract-1    Success  tries: 2" in out
    assert "cleanup-1    Success  tries: 1" in out
    assert "loaded 5 rows, total tax 30.00" in out


def test_word_count() -> None:
    out = assert_ok(run_example("word_count.py"))
    assert "flow 'word-count' finished: Success" in out
    assert "count_words ran 3 times: Mapped" in out
    assert "the      10" in out


def test_train_evaluate() -> None:
    out = assert_ok(run_example("train_evaluate.py"))
    lines = out.splitlines()
    assert lines[0].startswith("first run          train: Success")
    assert lines[1].startswith("same inputs again  train: Cached")
    assert lines[2].startswith("new learning rate  train: Success")
    assert "train really ran 2 times in 3 flow runs" in out


def _dask_missing() -> str | None:
    if importlib.util.find_spec("distributed") is None:
        return "distributed is not installed (pip install -e '.[dask]')"
    if importlib.util.find_spec("headwater.executors.dask") is None:
        return "headwater.executors.DaskExecutor does not exist yet"
    return None


@pytest.mark.slow
@pytest.mark.skipif(_dask_missing() is not None, reason=str(_dask_missing()))
def test_dask_cluster() -> None:
    out = assert_ok(run_example("dask_cluster.py"))
    assert "flow 'dask-etl' on a LocalCluster: Success" in out
    assert "extract-1    Success" in out
    assert "loaded total: 167480" in out
