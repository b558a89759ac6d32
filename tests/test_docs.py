"""Every code example in the docs and the README runs, and says what it prints.

Two collectors:

- **Pages**: every Markdown file under ``docs/`` and ``README.md``. The
  ```` ```python ```` blocks of a page run in order, in one fresh namespace per
  page, in a temporary working directory. A ```` ```text title="Output" ````
  block right after a python block must equal what that block printed
  (``...`` in it matches anything, as in doctests).
  A python block is skipped only when it cannot run here (it needs a Dask
  scheduler, say): mark it with a ``title="..."`` (it then shows a file or a
  command's context) or put ``<!-- skip -->`` on the line before it.
- **Doctests**: the ``>>>`` examples in the docstrings of every module of the
  ``headwater`` package, run with :mod:`doctest` (``ELLIPSIS`` on).
"""

from __future__ import annotations

import contextlib
import doctest
import importlib
import importlib.util
import io
import logging
import pkgutil
import re
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import headwater

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(
    [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")],
    key=lambda path: str(path.relative_to(ROOT)),
)

# Optional dependencies (extras): a module that needs a missing one has no
# doctests to run here.
OPTIONAL_DEPENDENCIES = frozenset({"distributed", "dask", "graphviz", "cloudpickle"})

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_SKIP_MARK = "<!-- skip -->"
_ELLIPSIS = doctest.OutputChecker()


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown page."""

    language: str
    info: str
    code: str
    line: int  # 1-based line of the first line of code
    skip: bool

    @property
    def is_output(self) -> bool:
        return self.language in {"text", "console"} and 'title="Output"' in self.info


def parse_blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, in order (indented ones too)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    position = 0
    previous_text = ""
    while position < len(lines):
        match = _FENCE.match(lines[position])
        if match is None:
            if lines[position].strip():
                previous_text = lines[position].strip()
            position += 1
            continue
        indent, fence, info = match["indent"], match["fence"], match["info"].strip()
        body: list[str] = []
        start = position + 1
        position += 1
        while position < len(lines):
            line = lines[position]
            if line.strip().startswith(fence) and line.strip().strip(fence[0]) == "":
                break
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            position += 1
        position += 1
        language = info.split()[0].lower() if info else ""
        skip = previous_text == _SKIP_MARK or (language == "python" and "title=" in info)
        blocks.append(Block(language, info, "\n".join(body) + "\n", start + 1, skip))
        previous_text = ""
    return blocks


def test_parse_blocks() -> None:
    text = textwrap.dedent(
        """\
        Intro.

        ```python
        x = 1
        ```

        ```text title="Output"
        1
        ```

        <!-- skip -->
        ```python
        needs_a_cluster()
        ```

        !!! note
            ```python title="flows.py"
            y = 2
            ```
        """
    )
    blocks = parse_blocks(text)
    assert [(b.language, b.skip, b.line) for b in blocks] == [
        ("python", False, 4),
        ("text", False, 8),
        ("python", True, 13),
        ("python", True, 18),
    ]
    assert blocks[1].is_output
    assert blocks[3].code == "y = 2\n"


@contextlib.contextmanager
def _preserved_logging() -> Iterator[None]:
    """Undo the changes a page makes to loggers (handlers, levels)."""
    manager = logging.Logger.manager
    loggers = [logging.getLogger()] + [
        logger for logger in manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    saved = {id(logger): (list(logger.handlers), logger.level) for logger in loggers}
    try:
        yield
    finally:
        for logger in [logging.getLogger(), *manager.loggerDict.values()]:
            if not isinstance(logger, logging.Logger):
                continue
            handlers, level = saved.get(id(logger), ([], logging.NOTSET))
            for handler in list(logger.handlers):
                if handler not in handlers:
                    logger.removeHandler(handler)
            logger.setLevel(level)


def _run_page(path: Path) -> None:
    relative = path.relative_to(ROOT)
    blocks = parse_blocks(path.read_text(encoding="utf-8"))
    namespace: dict[str, object] = {"__name__": "__main__"}
    printed: str | None = None
    for block in blocks:
        if block.is_output:
            assert printed is not None, (
                f"{relative}:{block.line}: an Output block must follow a python block that runs"
            )
            expected = block.code.rstrip()
            actual = "\n".join(line.rstrip() for line in printed.rstrip().splitlines())
            matches = actual == expected or _ELLIPSIS.check_output(
                expected + "\n", actual + "\n", doctest.ELLIPSIS
            )
            assert matches, (
                f"{relative}:{block.line}: the block above printed\n{actual}\n"
                f"but the page shows\n{expected}"
            )
            printed = None
            continue
        printed = None
        if block.language != "python" or block.skip:
            continue
        # Pad with blank lines so that tracebacks give the line in the page.
        source = "\n" * (block.line - 1) + block.code
        code = compile(source, str(relative), "exec")
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            exec(code, namespace)
        printed = buffer.getvalue()


@pytest.mark.parametrize("path", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_page_examples_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(path)])
    with _preserved_logging():
        _run_page(path)


def test_docs_exist() -> None:
    names = {str(path.relative_to(ROOT / "docs")) for path in PAGES if path != ROOT / "README.md"}
    assert {"index.md", "tutorial.md"} <= names
    assert any(name.startswith("concepts/") for name in names)
    assert any(name.startswith("how-to/") for name in names)
    assert any(name.startswith("api/") for name in names)


def test_every_page_is_in_the_nav() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    in_nav = set(re.findall(r"^\s*- (?:[^:\n]+: )?(\S+\.md)\s*$", config, re.MULTILINE))
    pages = {str(path.relative_to(ROOT / "docs")) for path in PAGES if path != ROOT / "README.md"}
    assert pages - in_nav == set(), "pages missing from mkdocs.yml's nav"
    assert in_nav - pages == set(), "nav entries without a page"


def test_docstring_rewriting_for_mkdocstrings() -> None:
    pytest.importorskip("griffe")
    spec = importlib.util.spec_from_file_location(
        "_docstrings", ROOT / "docs" / "_griffe" / "docstrings.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = textwrap.dedent(
        """\
        Use :class:`~headwater.Flow`, as in::

            flow.run()

        Free text:

            >>> 1 + 1
            2

        Example:
            >>> print("hi")
            hi
        """
    )
    assert module.rewrite(text).splitlines() == [
        "Use ``headwater.Flow``, as in:",
        "",
        "    flow.run()",
        "",
        "Free text:",
        "",
        "```pycon",
        ">>> 1 + 1",
        "2",
        "```",
        "",
        "Example:",
        "    ```pycon",
        '    >>> print("hi")',
        "    hi",
        "    ```",
    ]


# -- doctests ------------------------------------------------------------------


def _doctest_modules() -> list[object]:
    """Every module of the package that has docstring examples (as params)."""
    prefix = headwater.__name__ + "."
    names = [headwater.__name__] + sorted(
        info.name
        for info in pkgutil.walk_packages(headwater.__path__, prefix)
        if not info.name.endswith(".__main__")
    )
    params: list[object] = []
    finder = doctest.DocTestFinder()
    for name in names:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name in OPTIONAL_DEPENDENCIES:
                reason = f"{name} needs the optional {error.name}"
                params.append(pytest.param(name, marks=pytest.mark.skip(reason=reason)))
                continue
            params.append(name)  # the test reports the import error
            continue
        if any(test.examples for test in finder.find(module, name)):
            params.append(name)
    return params


@pytest.mark.parametrize("module_name", _doctest_modules())
def test_docstring_examples(module_name: str) -> None:
    module = importlib.import_module(module_name)
    tests = [t for t in doctest.DocTestFinder().find(module, module_name) if t.examples]
    report = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in sorted(tests, key=lambda t: t.name):
        runner.run(test, out=report.write)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0, f"{module_name} has no docstring examples any more"
    assert result.failed == 0, report.getvalue()
