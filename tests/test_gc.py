"""headwater._gc: big graphs are frozen out of full collections while built or run."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from collections.abc import Iterator

import pytest

from headwater import Flow, _gc, task


@task
def inc(x: int) -> int:
    return x + 1


@pytest.fixture(autouse=True)
def _collector_as_usual() -> Iterator[None]:
    gc.unfreeze()
    assert gc.isenabled()
    yield
    gc.unfreeze()
    gc.enable()


def is_frozen(thing: object) -> bool:
    """Whether ``thing`` is in the permanent generation (gc.get_objects skips it)."""
    return not any(candidate is thing for candidate in gc.get_objects())


def test_a_hold_freezes_and_the_last_release_gives_objects_back() -> None:
    made = [[0]]
    _gc.hold()
    assert is_frozen(made)
    _gc.hold()  # a second build or run, nested or in another thread
    _gc.release()
    assert is_frozen(made)
    _gc.release()
    assert not is_frozen(made)
    assert gc.get_freeze_count() == 0


def test_refreeze_takes_objects_made_since_only_while_held() -> None:
    before = [[0]]
    _gc.refreeze()
    assert not is_frozen(before)  # nothing holds: nothing happens
    with _gc.holding():
        made = [[0]]
        assert not is_frozen(made)
        _gc.refreeze()
        assert is_frozen(made)
    assert not is_frozen(made)
    assert gc.get_freeze_count() == 0


def test_objects_frozen_by_someone_else_are_left_alone() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self

    gc.freeze()
    with _gc.holding():
        node = Node()
        alive = weakref.ref(node)
        _gc.refreeze()
        del node
        gc.collect()
        assert alive() is None  # headwater froze nothing: the cycle was collected
    assert gc.get_freeze_count() > 0  # and unfroze nothing of theirs


def test_a_disabled_collector_is_left_alone() -> None:
    gc.disable()
    with _gc.holding():
        assert gc.get_freeze_count() == 0
    assert not gc.isenabled()


def test_building_and_running_a_flow_freeze_while_they_last() -> None:
    seen: list[int] = []
    with Flow("f") as flow:
        x = inc(0)
        for _ in range(2 * _gc.REFREEZE_EVERY):
            x = inc(x)
        seen.append(gc.get_freeze_count())
    assert seen[0] > 0
    assert gc.get_freeze_count() == 0

    @task
    def probe(x: int) -> int:
        seen.append(gc.get_freeze_count())
        return x

    with flow:
        probe(x)
    assert flow.run().is_successful()
    assert seen[-1] > 0
    assert gc.get_freeze_count() == 0


def test_a_failing_build_or_run_still_releases() -> None:
    with pytest.raises(RuntimeError), Flow("f"):
        raise RuntimeError("boom")
    assert gc.get_freeze_count() == 0
    with pytest.raises(TypeError), Flow("f") as flow:
        inc()  # type: ignore[call-arg]
    assert gc.get_freeze_count() == 0
    flow.add_task(inc.copy())  # missing its input: the run is refused
    with pytest.raises(Exception, match="missing required input"):
        flow.run()
    assert gc.get_freeze_count() == 0


def test_cyclic_garbage_made_while_frozen_is_collected_afterwards() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self

    with Flow("f"):
        node = Node()
        alive = weakref.ref(node)
        _gc.refreeze()
        del node  # unreachable now, but only the collector can free a cycle
        gc.collect()
        assert alive() is not None  # frozen: full collections do not see it
    gc.collect()
    assert alive() is None


def test_the_environment_can_turn_freezing_off() -> None:
    code = (
        "import gc\nfrom headwater import Flow\nwith Flow('f'):\n    print(gc.get_freeze_count())\n"
    )
    env = {"HEADWATER_GC_FREEZE": "0", "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "0"
