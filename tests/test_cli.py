"""The ``headwater`` command, run as ``python -m headwater.cli`` in a subprocess.

The flows it runs live in ``tests/cli_flows/``.
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater.cli import main
from headwater.cli._errors import CliError
from headwater.cli._executor import _missing, make_executor
from headwater.cli._load import load_flow, parse_parameters, split_target
from headwater.executors import Executor

FLOWS = Path(__file__).parent / "cli_flows"
ETL = str(FLOWS / "etl.py")
FAILING = str(FLOWS / "failing.py")
PARAMS = str(FLOWS / "params.py")


def cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m headwater.cli *args``; output is not a terminal (plain mode)."""
    return subprocess.run(
        [sys.executable, "-m", "headwater.cli", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(autouse=True)
def _forget_loaded_flow_files(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests that load flows in-process leave ``sys.path`` and ``sys.modules`` as found."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", "")).startswith(str(FLOWS)):
            del sys.modules[name]


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


# -- the command itself -------------------------------------------------------


def test_version() -> None:
    import headwater

    done = cli("--version")
    assert done.returncode == 0
    assert f"headwater {headwater.__version__}" in done.stdout


def test_run_help_documents_the_exit_codes() -> None:
    done = cli("run", "--help")
    assert done.returncode == 0
    for text in ("exit codes", "0 ", "1 ", "2 ", "3 ", "Waiting", "--executor", "--events"):
        assert text in done.stdout


def test_no_command_is_a_usage_error() -> None:
    done = cli()
    assert done.returncode == 2
    assert "COMMAND" in done.stderr


def test_console_script_if_installed() -> None:
    script = Path(sys.executable).with_name("headwater")
    if not script.exists():
        pytest.skip("the console script is not installed next to this interpreter")
    done = subprocess.run(
        [str(script), "--version"], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stdout.startswith("headwater ")


def test_importing_headwater_imports_neither_the_cli_nor_rich() -> None:
    code = (
        "import sys, headwater; print([m for m in ('headwater.cli', 'rich') if m in sys.modules])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


# -- run: outcomes and exit codes --------------------------------------------


def test_run_success_exits_0_with_a_summary_of_every_task() -> None:
    done = cli("run", ETL, "-p", "rows=4", "label=total")
    assert done.returncode == 0, done.stderr
    summary = done.stdout.split("TASK", 1)[1]
    for slug in ("rows", "label", "extract-1", "double-1", "total-1"):
        assert slug in summary
    assert "'total: 20'" in summary  # the terminal task's result
    assert "Mapped" in summary
    assert "flow 'etl': Success" in done.stdout
    extract_row = next(line for line in summary.splitlines() if line.startswith("extract-1"))
    assert extract_row.split()[1:4:2] == ["Success", "2"]  # state and tries


def test_run_failure_exits_1_and_prints_the_traceback() -> None:
    done = cli("run", FAILING, "-p", "n=3")
    assert done.returncode == 1
    assert "ZeroDivisionError: division by zero" in done.stdout
    assert "Traceback (most recent call last)" in done.stdout
    assert "--- divide-1: Failed" in done.stdout
    assert "TriggerFailed" in done.stdout  # the downstream task
    assert "flow 'fragile': Failed" in done.stdout


def test_a_waiting_run_exits_3_with_a_note() -> None:
    done = cli("run", str(FLOWS / "waiting.py"))
    assert done.returncode == 3
    assert "did not finish" in done.stdout
    assert "task_states" in done.stdout


@pytest.mark.parametrize(
    ("given", "value", "kind"),
    [
        ("3", 3, "int"),
        ("2.5", 2.5, "float"),
        ("hello", "hello", "str"),
        ('"007"', "007", "str"),
        ("true", True, "bool"),
        ("null", None, "NoneType"),
        ("[1, 2]", [1, 2], "list"),
        ('{"a": 1}', {"a": 1}, "dict"),
        ("a=b", "a=b", "str"),
    ],
)
def test_parameter_values_are_json_when_they_parse(
    tmp_path: Path, given: str, value: object, kind: str
) -> None:
    out = tmp_path / "out.json"
    done = cli("run", PARAMS, "-p", f"out={out}", f"value={given}", "--quiet")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(out.read_text()) == {"value": value, "type": kind, "note": "none"}


def test_repeated_p_options_and_defaults(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    done = cli("run", PARAMS, "-p", f"out={out}", "-p", "value=1", "-p", "value=2", "note=hi")
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["value"] == 2
    assert json.loads(out.read_text())["note"] == "hi"


def test_unknown_parameter_exits_2_before_anything_runs(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    done = cli("run", PARAMS, "-p", f"out={out}", "value=1", "colour=red")
    assert done.returncode == 2
    assert "unknown parameter(s) colour" in done.stderr
    assert "note, out, value" in done.stderr  # the flow's parameters
    assert not out.exists()
    assert "Running" not in done.stdout


def test_missing_parameter_exits_2_before_anything_runs(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    done = cli("run", PARAMS, "-p", f"out={out}")
    assert done.returncode == 2
    assert "missing required parameter(s) value" in done.stderr
    assert "-p value=VALUE" in done.stderr
    assert not out.exists()


def test_a_p_item_without_equals_is_a_usage_error() -> None:
    done = cli("run", ETL, "-p", "rows")
    assert done.returncode == 2
    assert "name=value" in done.stderr


def test_events_file_holds_every_state_change_as_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    done = cli("run", ETL, "--events", str(path))
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert events[0]["task"] is None and events[0]["new"] == "Running"
    assert events[-1]["task"] is None and events[-1]["new"] == "Success"
    extract = [e["new"] for e in events if e["task"] == "extract-1"]
    assert extract == ["Running", "Retrying", "Running", "Success"]
    children = {e["map_index"] for e in events if e["task"] == "double-1"}
    assert children == {None, 0, 1, 2}


def test_events_file_that_cannot_be_written_is_a_usage_error(tmp_path: Path) -> None:
    done = cli("run", ETL, "--events", str(tmp_path / "missing-dir" / "e.jsonl"))
    assert done.returncode == 2
    assert "events file" in done.stderr


# -- run: executors -------------------------------------------------------------


def test_local_executor_by_name() -> None:
    assert cli("run", ETL, "--executor", "local", "--quiet").returncode == 0


@pytest.mark.parametrize("name", ["threads", "processes"])
def test_pool_executors_run_or_say_what_is_missing(name: str) -> None:
    module = {
        "threads": "headwater.executors.threads",
        "processes": "headwater.executors.processes",
    }
    done = cli("run", ETL, "--executor", name, "--workers", "2", "--quiet")
    if has_module(module[name]) and (name == "threads" or has_module("cloudpickle")):
        assert done.returncode == 0, done.stdout + done.stderr
        assert "'sum: 12'" in done.stdout
    else:
        assert done.returncode == 2
        assert "Executor" in done.stderr


def test_dask_without_its_backend_says_how_to_install_it() -> None:
    if has_module("distributed") and has_module("headwater.executors.dask"):
        pytest.skip("Dask is installed")
    done = cli("run", ETL, "--address", "tcp://127.0.0.1:1", "--quiet")
    assert done.returncode == 2
    assert "DaskExecutor" in done.stderr
    if has_module("headwater.executors.dask"):
        assert "pip install 'headwater[dask]'" in done.stderr


@pytest.mark.parametrize(
    ("name", "workers", "address", "message"),
    [
        (None, 2, None, "--workers needs --executor"),
        ("local", 2, None, "drop --workers"),
        ("threads", None, "tcp://h:1", "needs --executor dask"),
        ("dask", 2, "tcp://h:1", "cannot be combined"),
    ],
)
def test_contradictory_executor_options(
    name: str | None, workers: int | None, address: str | None, message: str
) -> None:
    with pytest.raises(CliError, match=message):
        make_executor(name, workers, address)


def test_missing_backend_messages() -> None:
    third_party = ModuleNotFoundError("No module named 'distributed'", name="distributed")
    assert "pip install 'headwater[dask]'" in _missing("DaskExecutor", "dask", third_party)
    ours = ModuleNotFoundError("no", name="headwater.executors.dask")
    assert "not available in this installation" in _missing("DaskExecutor", "dask", ours)


def test_workers_must_be_positive() -> None:
    done = cli("run", ETL, "--executor", "threads", "--workers", "0")
    assert done.returncode == 2
    assert "at least 1" in done.stderr


# -- loading flows ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("nope.py", "no such file"),
        ("etl.py:nope", "has no attribute 'nope'; its flows: flow"),
        ("etl.py:double", "is a task, not a Flow"),
        ("two_flows.py", "several flows (first, second); pick one"),
        ("no_flow.py", "holds no Flow"),
        ("no_flow.py:not_a_flow", "returned int, not a Flow"),
        ("broken.py", "broken on purpose"),
        ("no_such_module_anywhere", "no module named"),
        ("cyclic.py", "has a cycle: a-1 -> b-1 -> a-1"),
    ],
)
@pytest.mark.parametrize("command", ["run", "show"])
def test_load_errors_exit_2_with_a_clear_message(command: str, target: str, message: str) -> None:
    done = cli(command, target, cwd=FLOWS)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Running" not in done.stdout


@pytest.mark.parametrize(
    ("target", "flow_name"),
    [
        ("two_flows.py:second", "second"),
        ("no_flow.py:build_flow", "built"),
        ("etl:flow", "etl"),  # a module name, found from the working directory
        ("etl", "etl"),
    ],
)
def test_load_targets(target: str, flow_name: str) -> None:
    done = cli("run", target, "--quiet", cwd=FLOWS)
    assert done.returncode == 0, done.stderr
    assert f"flow {flow_name!r}: Success" in done.stdout


def test_load_flow_in_process() -> None:
    flow, module = load_flow(f"{FLOWS / 'two_flows.py'}:first")
    assert flow.name == "first"
    assert module.second.name == "second"


def test_split_target() -> None:
    assert split_target("a/b.py:flow") == ("a/b.py", "flow")
    assert split_target("pkg.mod:obj.flow") == ("pkg.mod", "obj.flow")
    assert split_target("pkg.mod") == ("pkg.mod", None)
    assert split_target("C:\\flows\\etl.py") == ("C:\\flows\\etl.py", None)


def test_parse_parameters() -> None:
    assert parse_parameters(["a=1", "b=x y", "c=", "d=[1]"]) == {
        "a": 1,
        "b": "x y",
        "c": "",
        "d": [1],
    }
    with pytest.raises(CliError, match="name=value"):
        parse_parameters(["=3"])


def test_main_returns_the_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(FLOWS / "nope.py")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["show", ETL]) == 0


# -- show and visualize -------------------------------------------------------------


def test_show_text_lists_parameters_and_tasks_in_run_order() -> None:
    done = cli("show", ETL)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "flow 'etl': 5 tasks, 2 parameters" in out
    assert "label  default 'sum'" in out
    assert "rows   default 3" in out
    positions = [out.index(f"\n  {slug} ") for slug in ("extract-1", "double-1", "total-1")]
    assert positions == sorted(positions)
    assert "extract-1  rows=rows  [retries 1]" in out
    assert "x=extract-1 (mapped)" in out
    assert "label=label, values=double-1  [reference]" in out


def test_show_text_marks_required_parameters() -> None:
    done = cli("show", PARAMS)
    assert "value  required" in done.stdout
    assert "note   default 'none'" in done.stdout


needs_drawing = pytest.mark.skipif(
    not has_module("headwater.drawing"), reason="headwater.drawing is not written yet"
)


@needs_drawing
def test_show_mermaid() -> None:
    done = cli("show", ETL, "--format", "mermaid")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("flowchart")
    assert "extract-1" in done.stdout


@needs_drawing
@pytest.mark.skipif(not has_module("graphviz"), reason="the graphviz package is not installed")
def test_show_dot() -> None:
    done = cli("show", ETL, "-f", "dot")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("digraph")
    assert "extract-1" in done.stdout


@pytest.mark.skipif(
    not has_module("headwater.serialization"), reason="headwater.serialization is not written yet"
)
def test_show_json() -> None:
    done = cli("show", ETL, "-f", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["name"] == "etl"


@needs_drawing
def test_visualize_without_dot_says_how_to_install_graphviz(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    output = tmp_path / "flow.svg"
    done = cli("visualize", ETL, "-o", str(output), env={"PATH": str(empty)})
    assert done.returncode == 2
    assert "apt-get install graphviz" in done.stderr
    assert "brew install graphviz" in done.stderr
    assert not output.exists()


@needs_drawing
def test_visualize_without_the_graphviz_package_says_pip_install(tmp_path: Path) -> None:
    fake = tmp_path / "graphviz"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'graphviz'\", name='graphviz')\n"
    )
    done = cli(
        "visualize", ETL, "-o", str(tmp_path / "flow.png"), env={"PYTHONPATH": str(tmp_path)}
    )
    assert done.returncode == 2
    assert "pip install 'headwater[viz]'" in done.stderr


@needs_drawing
@pytest.mark.skipif(not has_module("graphviz"), reason="the graphviz package is not installed")
def test_visualize_dot_source_needs_no_dot_program(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    output = tmp_path / "flow.dot"
    done = cli("visualize", ETL, "-o", str(output), env={"PATH": str(empty)})
    assert done.returncode == 0, done.stderr
    assert output.read_text().startswith("digraph")


@needs_drawing
def test_visualize_mermaid_file(tmp_path: Path) -> None:
    output = tmp_path / "flow.mmd"
    assert cli("visualize", ETL, "-o", str(output)).returncode == 0
    assert output.read_text().startswith("flowchart")


def test_visualize_needs_a_suffix(tmp_path: Path) -> None:
    done = cli("visualize", ETL, "-o", str(tmp_path / "flow"))
    assert done.returncode == 2
    assert "suffix" in done.stderr


# -- executors, with stand-ins for the optional backends ----------------------


class _PoolExecutor(Executor):
    """A stand-in ThreadExecutor/DaskExecutor: a thread pool that keeps its options."""

    def __init__(self, **options: object) -> None:
        self.options = options
        workers = options.get("max_workers") or options.get("n_workers") or 2
        self.max_workers = workers if isinstance(workers, int) else 2
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def start(self) -> None:
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(self.max_workers)

    def submit(self, fn: Any, *args: Any) -> concurrent.futures.Future[Any]:
        self.start()
        assert self._pool is not None
        return self._pool.submit(fn, *args)

    def shutdown(self, wait: bool = True) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait)
            self._pool = None


@pytest.fixture
def stand_in_executors(monkeypatch: pytest.MonkeyPatch) -> None:
    for module, name in [
        ("headwater.executors.threads", "ThreadExecutor"),
        ("headwater.executors.processes", "ProcessExecutor"),
        ("headwater.executors.dask", "DaskExecutor"),
    ]:
        fake = types.ModuleType(module)
        setattr(fake, name, type(name, (_PoolExecutor,), {}))
        monkeypatch.setitem(sys.modules, module, fake)


@pytest.mark.usefixtures("stand_in_executors")
@pytest.mark.parametrize(
    ("name", "workers", "address", "expected"),
    [
        ("threads", 3, None, {"max_workers": 3}),
        ("threads", None, None, {}),
        ("processes", 4, None, {"max_workers": 4}),
        ("dask", 2, None, {"n_workers": 2}),
        (None, None, "tcp://scheduler:8786", {"address": "tcp://scheduler:8786"}),
    ],
)
def test_executor_options_reach_the_executor(
    name: str | None, workers: int | None, address: str | None, expected: dict[str, object]
) -> None:
    executor = make_executor(name, workers, address)
    assert isinstance(executor, _PoolExecutor)
    assert executor.options == expected


@pytest.mark.usefixtures("stand_in_executors")
def test_run_in_process_with_a_concurrent_executor(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    code = main(["run", ETL, "--executor", "threads", "--workers", "4", "--events", str(events)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "'sum: 12'" in out
    assert "[5/5]" in out
    assert len(events.read_text().splitlines()) > 10


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery differs on Windows")
def test_ctrl_c_exits_130_with_the_states_so_far() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "headwater.cli", "run", str(FLOWS / "sleepy.py"), "--plain"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "sleepy-1: Pending -> Running" in line:
                process.send_signal(signal.SIGINT)
                break
        out, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "interrupted" in err
    assert re.search(r"quick-1\s+Success", out)
