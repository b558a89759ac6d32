"""States: the class tree, the is_* tests, immutability, repr and pickling."""

from __future__ import annotations

import copy
import pickle
from datetime import datetime, timezone

import pytest

from headwater import states
from headwater.states import (
    Cached,
    Failed,
    Finished,
    Mapped,
    Pending,
    Retrying,
    Running,
    Skipped,
    State,
    Success,
    TimedOut,
    TriggerFailed,
    Waiting,
)

PARENTS: dict[type[State], type[State]] = {
    Pending: State,
    Retrying: Pending,
    Waiting: Pending,
    Running: State,
    Finished: State,
    Success: Finished,
    Skipped: Success,
    Cached: Success,
    Mapped: Success,
    Failed: Finished,
    TriggerFailed: Failed,
    TimedOut: Failed,
}

ALL_STATES = [State, *PARENTS]

# For each is_* test, the classes for which it is true (with their subclasses).
TRUE_FOR: dict[str, tuple[type[State], ...]] = {
    "is_pending": (Pending, Retrying, Waiting),
    "is_running": (Running,),
    "is_finished": (Finished, Success, Skipped, Cached, Mapped, Failed, TriggerFailed, TimedOut),
    "is_successful": (Success, Skipped, Cached, Mapped),
    "is_failed": (Failed, TriggerFailed, TimedOut),
    "is_skipped": (Skipped,),
    "is_retrying": (Retrying,),
    "is_cached": (Cached,),
    "is_waiting": (Waiting,),
    "is_mapped": (Mapped,),
}


def test_every_state_class_is_exported_from_the_module() -> None:
    assert set(states.__all__) == {cls.__name__ for cls in ALL_STATES}
    for cls in ALL_STATES:
        assert getattr(states, cls.__name__) is cls


@pytest.mark.parametrize(("cls", "parent"), list(PARENTS.items()), ids=lambda c: c.__name__)
def test_class_tree_matches_the_contract(cls: type[State], parent: type[State]) -> None:
    assert cls.__bases__ == (parent,)


@pytest.mark.parametrize("method", sorted(TRUE_FOR))
@pytest.mark.parametrize("cls", ALL_STATES, ids=lambda c: c.__name__)
def test_is_methods(cls: type[State], method: str) -> None:
    expected = cls in TRUE_FOR[method]
    assert getattr(cls(), method)() is expected


def test_constructor_defaults_and_fields() -> None:
    state = State()
    assert state.message is None
    assert state.result is None
    assert Success("done", result=[1]).result == [1]
    assert Success("done").message == "done"


def test_failed_keeps_exception_and_traceback() -> None:
    error = ValueError("boom")
    state = Failed("it failed", result=error, traceback="Traceback ...")
    assert state.result is error
    assert state.traceback == "Traceback ..."
    assert Failed().traceback is None


def test_retrying_fields() -> None:
    state = Retrying("again", result=ValueError("x"), start_time=12.5, run_count=2)
    assert (state.start_time, state.run_count) == (12.5, 2)
    assert Retrying().run_count == 1


def test_cached_fields() -> None:
    expires = datetime(2030, 1, 1, tzinfo=timezone.utc)
    state = Cached("hit", 3, {"x": "abc"}, {"p": "def"}, expires)
    assert state.result == 3
    assert state.cached_inputs == {"x": "abc"}
    assert state.cached_parameters == {"p": "def"}
    assert state.expiration == expires


def test_mapped_keeps_children_as_a_tuple() -> None:
    children = [Success(result=1), Failed("no")]
    state = Mapped("mapped", [1, None], children)
    assert state.map_states == tuple(children)
    assert Mapped().map_states == ()


@pytest.mark.parametrize("cls", ALL_STATES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", ["message", "result", "new_attribute"])
def test_states_are_immutable(cls: type[State], name: str) -> None:
    state = cls("m")
    with pytest.raises(AttributeError, match="immutable"):
        setattr(state, name, 1)
    assert state.message == "m"


def test_subclass_fields_are_immutable_too() -> None:
    with pytest.raises(AttributeError, match=r"immutable.*'traceback'"):
        Failed("x").traceback = "y"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        Mapped().map_states = ()  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        Retrying().run_count = 3  # type: ignore[misc]


def test_states_have_no_instance_dict() -> None:
    # Small and immutable: slots only.
    with pytest.raises(AttributeError):
        _ = Success().__dict__


def test_repr_is_readable() -> None:
    assert repr(Success(result=3)) == "Success(result=3)"
    assert repr(Failed("boom")) == "Failed('boom')"
    assert repr(Pending()) == "Pending()"
    assert str(Skipped("nothing to do")) == "Skipped('nothing to do')"
    assert repr(Success("ok", result="x")) == "Success('ok', result='x')"


def test_repr_shortens_large_results() -> None:
    text = repr(Success(result=list(range(10_000))))
    assert len(text) < 100
    assert text.startswith("Success(result=[0, 1, 2")


def test_repr_of_failed_hides_the_exception_result() -> None:
    text = repr(Failed("task failed", result=ValueError("secret detail")))
    assert text == "Failed('task failed')"


@pytest.mark.parametrize("cls", ALL_STATES, ids=lambda c: c.__name__)
def test_pickle_round_trip_of_every_class(cls: type[State]) -> None:
    state = cls("message", 42)
    clone = pickle.loads(pickle.dumps(state))
    assert type(clone) is cls
    assert (clone.message, clone.result) == ("message", 42)
    with pytest.raises(AttributeError, match="immutable"):
        clone.message = "changed"


def test_pickle_keeps_subclass_fields() -> None:
    expires = datetime(2030, 1, 1, tzinfo=timezone.utc)
    failed = pickle.loads(pickle.dumps(Failed("x", ValueError("v"), "tb")))
    assert failed.traceback == "tb"
    assert isinstance(failed.result, ValueError)
    assert str(failed.result) == "v"
    cached = pickle.loads(pickle.dumps(Cached("c", 1, {"a": "b"}, None, expires)))
    assert (cached.cached_inputs, cached.cached_parameters, cached.expiration) == (
        {"a": "b"},
        None,
        expires,
    )
    retrying = pickle.loads(pickle.dumps(Retrying("r", None, 9.0, 4)))
    assert (retrying.start_time, retrying.run_count) == (9.0, 4)
    mapped = pickle.loads(pickle.dumps(Mapped("m", [1], [Success(result=1)])))
    assert type(mapped.map_states[0]) is Success
    assert mapped.map_states[0].result == 1


def test_copy_and_deepcopy() -> None:
    state = Mapped("m", [1], [Success(result=1)])
    assert copy.copy(state).map_states == state.map_states
    deep = copy.deepcopy(state)
    assert deep.result == [1]
    assert deep.result is not state.result
