"""Static typing: ``@task`` keeps the function's types (checked by running mypy)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api")

HERE = Path(__file__).parent
ROOT = HERE.parent


def run_mypy(path: Path, cache_dir: Path) -> tuple[int, str]:
    stdout, stderr, status = api.run(
        [
            "--strict",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(cache_dir),
            "--no-color-output",
            "--show-error-codes",
            str(path),
        ]
    )
    return status, stdout + stderr


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


def test_typed_usage_passes_strict_mypy(cache_dir: Path) -> None:
    status, output = run_mypy(HERE / "typing" / "typed_usage.py", cache_dir)
    assert status == 0, output
    assert "Success: no issues found" in output


def test_typed_errors_are_reported(cache_dir: Path) -> None:
    path = HERE / "typing" / "typed_errors.py"
    status, output = run_mypy(path, cache_dir)
    assert status == 1, output
    lines = path.read_text().splitlines()
    arg_line = 1 + next(i for i, line in enumerate(lines) if 'add.run("a", 2)' in line)
    result_line = 1 + next(i for i, line in enumerate(lines) if "wrong_result: str" in line)
    assert re.search(
        rf'typed_errors\.py:{arg_line}: error: Argument 1 has incompatible type "str"; '
        r'expected "int"\s+\[arg-type\]',
        output,
    ), output
    assert re.search(
        rf"typed_errors\.py:{result_line}: error: Incompatible types in assignment.*"
        r"\[assignment\]",
        output,
    ), output
    assert "Found 2 errors in 1 file" in output
