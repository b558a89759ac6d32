"""The README's first commands stay true: CI runs exactly its test command,
and the example its first command runs exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CI_SCRIPT = ROOT / ".ci" / "run"


def readme_commands() -> list[str]:
    """The commands of the README's first code block (it must come first)."""
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^```(?:bash|sh|console)?\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    assert match is not None, "README.md has no code block"
    before = text[: match.start()]
    assert not [
        line for line in before.splitlines() if line.strip() and not line.startswith("#")
    ], "the README must start (after its title) with the commands block"
    return [line.strip() for line in match.group(1).splitlines() if line.strip()]


def ci_test_command() -> str:
    """The command between the README-TEST-COMMAND markers of .ci/run."""
    text = CI_SCRIPT.read_text(encoding="utf-8")
    match = re.search(
        r"# README-TEST-COMMAND-BEGIN\n(.*?)# README-TEST-COMMAND-END", text, re.DOTALL
    )
    assert match is not None, ".ci/run lost its README-TEST-COMMAND markers"
    lines = [line.strip() for line in match.group(1).splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one command between the markers, got {lines}"
    return lines[0]


def test_readme_starts_with_the_two_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2, commands
    assert commands[0] == "pip install -e . && python examples/etl.py"
    assert commands[1] == 'pip install -e ".[dev]" && python -m pytest'


def test_ci_runs_the_readme_test_command() -> None:
    assert readme_commands()[1] == ci_test_command()


def test_readme_example_exists() -> None:
    first = readme_commands()[0]
    scripts = [word for word in shlex.split(first.replace("&&", " ")) if word.endswith(".py")]
    assert scripts, f"the README's first command runs no script: {first}"
    for script in scripts:
        assert (ROOT / script).is_file(), f"the README runs {script}, which does not exist"


def test_readme_links_resolve() -> None:
    text = README.read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [target for target in targets if "://" not in target]
    assert local
    missing = [target for target in local if not (ROOT / target).exists()]
    assert not missing, f"README.md links to missing files: {missing}"
