"""The public surface of ``headwater``: guarded so that it changes on purpose only."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest

import headwater

EXPECTED = {
    "CacheStore",
    "CycleError",
    "DuplicateEdgeKeyError",
    "DuplicateSlugError",
    "Edge",
    "Flow",
    "FlowValidationError",
    "FunctionTask",
    "GraphError",
    "HeadwaterError",
    "HeadwaterWarning",
    "MemoryCacheStore",
    "NoActiveFlowError",
    "Parameter",
    "ParameterError",
    "SerializationError",
    "Task",
    "TaskDefinitionError",
    "__version__",
    "cache_validators",
    "clear_cache",
    "context",
    "executors",
    "read_events",
    "signals",
    "states",
    "task",
    "triggers",
    "unmapped",
}

# The names API.md's import block lists (section "the public contract").
CONTRACT = [
    "Flow",
    "Task",
    "Parameter",
    "task",
    "unmapped",
    "signals",
    "triggers",
    "states",
    "cache_validators",
    "context",
    "executors",
]

API_MD = Path("/work/shared/API.md")


def test_all_is_exactly_the_expected_surface() -> None:
    assert set(headwater.__all__) == EXPECTED
    assert len(headwater.__all__) == len(set(headwater.__all__)), "duplicates in __all__"


def test_all_is_sorted() -> None:
    assert list(headwater.__all__) == sorted(headwater.__all__)


def test_every_contract_name_is_exported() -> None:
    missing = [name for name in CONTRACT if name not in headwater.__all__]
    assert not missing


@pytest.mark.skipif(not API_MD.exists(), reason="the contract file is not in this checkout")
def test_the_contract_import_block_matches() -> None:
    text = API_MD.read_text()
    block = re.search(r"from headwater import \((.*?)\)", text, re.DOTALL)
    assert block is not None
    names = re.findall(r"\b([A-Za-z_]\w*)\b,", re.sub(r"#.*", "", block.group(1)))
    assert sorted(names) == sorted(CONTRACT)


def test_every_exported_name_exists() -> None:
    for name in headwater.__all__:
        assert hasattr(headwater, name), name


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from headwater import *", namespace)
    namespace.pop("__builtins__")
    assert set(namespace) == set(headwater.__all__)


@pytest.mark.parametrize(
    "module", ["signals", "triggers", "states", "cache_validators", "executors"]
)
def test_behaviour_names_are_modules(module: str) -> None:
    assert isinstance(getattr(headwater, module), types.ModuleType)


def test_classes_are_reexported_from_private_modules() -> None:
    for name in ("Flow", "Task", "Parameter", "FunctionTask", "Edge"):
        value = getattr(headwater, name)
        assert value.__module__.startswith("headwater._"), (name, value.__module__)


def test_version_is_a_string() -> None:
    assert isinstance(headwater.__version__, str)
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", headwater.__version__)
