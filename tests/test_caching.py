"""Caching: each validator over repeated runs, expiry on a fake clock,
unfingerprintable inputs, and custom stores."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import headwater
import headwater._cache
from headwater import CacheStore, Flow, MemoryCacheStore, Parameter, Task, cache_validators, task
from headwater._taskrun import new_cache_entry
from headwater.states import Cached, State, Success

HOUR = timedelta(hours=1)


class FakeClock:
    """A clock for ``cache_validators._now`` that moves only when told."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    fake = FakeClock()
    monkeypatch.setattr(cache_validators, "_now", fake)
    yield fake


class Counted:
    """A function whose calls are counted; returns a new value on each call."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **inputs: Any) -> int:
        self.calls.append(inputs)
        return len(self.calls) * 100


def cached_task(counted: Counted, validator: Any = None, **options: Any) -> Task[Any]:
    @task(cache_for=options.pop("cache_for", HOUR), cache_validator=validator, **options)
    def compute(x: Any = None, y: Any = None) -> int:
        return counted(x=x, y=y)

    return compute


def build(compute: Task[Any], **inputs: Any) -> tuple[Flow, Task[Any]]:
    with Flow("cache") as flow:
        t = compute(**inputs)
    return flow, t


def parameter_flow(compute: Task[Any]) -> tuple[Flow, Task[Any]]:
    with Flow("cache-params") as flow:
        x = Parameter("x", default=1)
        Parameter("other", default=0)
        t = compute(x=x)
    return flow, t


# -- each validator ----------------------------------------------------------


def test_without_cache_for_nothing_is_cached() -> None:
    counted = Counted()

    @task
    def plain() -> int:
        return counted()

    flow, _ = build(plain)
    for _ in range(3):
        flow.run()
    assert len(counted.calls) == 3
    assert len(headwater._cache.default_cache_store) == 0


def test_never_use() -> None:
    counted = Counted()
    flow, t = build(cached_task(counted, cache_validators.never_use), x=1)
    states = [flow.run().result[t] for _ in range(3)]
    assert len(counted.calls) == 3
    assert [type(s) for s in states] == [Success, Success, Success]


@pytest.mark.parametrize("validator", [None, cache_validators.duration_only])
def test_duration_only_reuses_whatever_the_inputs(validator: Any) -> None:
    counted = Counted()
    compute = cached_task(counted, validator)
    first_flow, first = build(compute, x=1)
    state = first_flow.run().result[first]
    assert type(state) is Success
    assert state.result == 100
    for x in (1, 2, 3):
        flow, t = build(compute, x=x)
        again = flow.run().result[t]
        assert type(again) is Cached
        assert again.result == 100
    assert len(counted.calls) == 1


def test_cached_state_carries_the_stored_result_and_names_the_validator() -> None:
    counted = Counted()
    flow, t = build(cached_task(counted, cache_validators.all_inputs), x=[1, 2])
    first = flow.run().result[t]
    second = flow.run().result[t]
    assert type(second) is Cached
    assert second.is_successful()
    assert second.is_cached()
    assert second.result == first.result == 100
    assert "all_inputs" in (second.message or "")
    assert second.expiration is not None
    assert second.cached_inputs is not None
    assert set(second.cached_inputs) == {"x"}  # defaults are not inputs


def test_cached_result_feeds_downstream_tasks() -> None:
    counted = Counted()
    compute = cached_task(counted)

    @task
    def plus_one(v: int) -> int:
        return v + 1

    with Flow("downstream") as flow:
        c = compute(x=1)
        p = plus_one(c)
    flow.run()
    state = flow.run()
    assert type(state.result[c]) is Cached
    assert state.result[p].result == 101
    assert type(state) is Success


def test_all_inputs() -> None:
    counted = Counted()
    compute = cached_task(counted, cache_validators.all_inputs)
    results = []
    for x in (1, 1, 2, 1, 2, {"k": [1, 2]}, {"k": [1, 2]}):
        flow, t = build(compute, x=x)
        results.append(flow.run().result[t])
    assert [c["x"] for c in counted.calls] == [1, 2, {"k": [1, 2]}]
    assert [type(s) for s in results] == [
        Success,
        Cached,
        Success,
        Cached,
        Cached,
        Success,
        Cached,
    ]
    assert [s.result for s in results] == [100, 100, 200, 100, 200, 300, 300]


def test_all_inputs_compares_upstream_results() -> None:
    counted = Counted()
    compute = cached_task(counted, cache_validators.all_inputs)
    with Flow("upstream") as flow:
        x = Parameter("x")
        t = compute(x=x)
    flow.run(parameters={"x": 1})
    assert type(flow.run(parameters={"x": 1}).result[t]) is Cached
    assert type(flow.run(parameters={"x": 2}).result[t]) is Success
    assert len(counted.calls) == 2


def test_all_parameters() -> None:
    counted = Counted()
    flow, t = parameter_flow(cached_task(counted, cache_validators.all_parameters))
    kinds = [
        type(flow.run(parameters=p).result[t])
        for p in ({"x": 1}, {"x": 1}, {"x": 1, "other": 5}, {"x": 2, "other": 5}, {"x": 1})
    ]
    assert kinds == [Success, Cached, Success, Success, Cached]
    assert len(counted.calls) == 3


def test_partial_inputs_only() -> None:
    counted = Counted()
    compute = cached_task(counted, cache_validators.partial_inputs_only(["x"]))
    kinds = []
    for x, y in ((1, "a"), (1, "b"), (2, "b"), (1, "c")):
        flow, t = build(compute, x=x, y=y)
        kinds.append(type(flow.run().result[t]))
    assert kinds == [Success, Cached, Success, Cached]
    assert len(counted.calls) == 2


def test_partial_parameters_only() -> None:
    counted = Counted()
    flow, t = parameter_flow(
        cached_task(counted, cache_validators.partial_parameters_only(["other"]))
    )
    kinds = [
        type(flow.run(parameters=p).result[t])
        for p in ({"x": 1}, {"x": 2}, {"x": 2, "other": 1}, {"x": 3, "other": 1})
    ]
    assert kinds == [Success, Cached, Success, Cached]
    assert len(counted.calls) == 2


def test_partial_validators_reject_a_bare_string() -> None:
    with pytest.raises(TypeError, match="list of names"):
        cache_validators.partial_inputs_only("x")
    with pytest.raises(TypeError, match="list of names"):
        cache_validators.partial_parameters_only("x")


def test_failed_runs_are_not_cached() -> None:
    attempts: list[int] = []

    @task(cache_for=HOUR)
    def sometimes() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("first run fails")
        return 7

    flow, t = build(sometimes)
    assert flow.run().result[t].is_failed()
    assert type(flow.run().result[t]) is Success
    assert type(flow.run().result[t]) is Cached
    assert len(attempts) == 2


def test_each_task_has_its_own_cache() -> None:
    counted_a, counted_b = Counted(), Counted()
    a = cached_task(counted_a)
    b = cached_task(counted_b)
    with Flow("two") as flow:
        ta = a(x=1)
        tb = b.copy(slug="other")(x=1)
    flow.run()
    state = flow.run()
    assert type(state.result[ta]) is Cached
    assert type(state.result[tb]) is Cached
    assert (len(counted_a.calls), len(counted_b.calls)) == (1, 1)


def test_cache_key_is_shared_across_flows() -> None:
    counted = Counted()
    compute = cached_task(counted, cache_key="shared")
    with Flow("one") as one:
        compute(x=1)
    with Flow("two") as two:
        t = compute(x=1)
    one.run()
    assert type(two.run().result[t]) is Cached
    assert len(counted.calls) == 1


def test_mapped_children_are_cached_one_by_one() -> None:
    counted = Counted()
    compute = cached_task(counted, cache_validators.all_inputs)
    with Flow("mapped-cache") as flow:
        m = compute.map(x=[1, 2, 3])
    flow.run()
    state = flow.run().result[m]
    assert [type(s) for s in state.map_states] == [Cached, Cached, Cached]
    assert state.result == [100, 200, 300]
    assert len(counted.calls) == 3


# -- expiry on a fake clock --------------------------------------------------


def test_entries_expire_after_cache_for(clock: FakeClock) -> None:
    counted = Counted()
    flow, t = build(cached_task(counted, cache_for=timedelta(minutes=10)), x=1)
    first = flow.run().result[t]
    assert type(first) is Success
    clock.advance(timedelta(minutes=9, seconds=59))
    hit = flow.run().result[t]
    assert type(hit) is Cached
    assert hit.expiration == datetime(2030, 1, 1, 0, 10, tzinfo=timezone.utc)
    clock.advance(timedelta(seconds=1))
    assert type(flow.run().result[t]) is Success
    assert len(counted.calls) == 2
    # the new entry lives ten minutes from now
    clock.advance(timedelta(minutes=5))
    assert type(flow.run().result[t]) is Cached
    assert len(counted.calls) == 2


@pytest.mark.parametrize(
    "validator",
    [
        cache_validators.duration_only,
        cache_validators.all_inputs,
        cache_validators.all_parameters,
        cache_validators.partial_inputs_only(["x"]),
        cache_validators.partial_parameters_only(["x"]),
    ],
    ids=["duration_only", "all_inputs", "all_parameters", "partial_inputs", "partial_params"],
)
def test_every_validator_honours_expiry(clock: FakeClock, validator: Any) -> None:
    counted = Counted()
    flow, t = parameter_flow(cached_task(counted, validator))
    flow.run()
    assert type(flow.run().result[t]) is Cached
    clock.advance(HOUR)
    assert type(flow.run().result[t]) is Success
    assert len(counted.calls) == 2


def test_memory_store_drops_expired_entries(clock: FakeClock) -> None:
    store = MemoryCacheStore()
    entry = Cached("c", 1, {}, {}, clock.now + timedelta(seconds=10))
    store.put("k", entry)
    assert list(store.get("k")) == [entry]
    clock.advance(timedelta(seconds=10))
    assert list(store.get("k")) == []
    assert len(store) == 0


def test_memory_store_keeps_newest_first_and_bounded() -> None:
    store = MemoryCacheStore(max_entries_per_key=2)
    entries = [Cached(str(i), i) for i in range(3)]
    for entry in entries:
        store.put("k", entry)
    assert [e.result for e in store.get("k")] == [2, 1]
    store.clear()
    assert store.get("k") == []


# -- inputs without a stable fingerprint -------------------------------------


class Opaque:
    """A value without a stable fingerprint."""


def test_all_inputs_does_not_reuse_unfingerprintable_inputs_and_says_why() -> None:
    counted = Counted()
    compute = cached_task(counted, cache_validators.all_inputs)
    value = Opaque()
    flow, t = build(compute, x=value)
    states = [flow.run().result[t] for _ in range(3)]
    assert len(counted.calls) == 3
    assert [type(s) for s in states] == [Success, Success, Success]
    for state in states:
        assert state.message is not None
        assert "input x has no stable fingerprint" in state.message
        assert "all_inputs" in state.message


def test_duration_only_still_reuses_with_unfingerprintable_inputs() -> None:
    counted = Counted()
    flow, t = build(cached_task(counted), x=Opaque())
    flow.run()
    assert type(flow.run().result[t]) is Cached
    assert len(counted.calls) == 1


def test_partial_inputs_ignores_unfingerprintable_inputs_it_does_not_compare() -> None:
    counted = Counted()
    compute = cached_task(counted, cache_validators.partial_inputs_only(["x"]))
    flow, t = build(compute, x=1, y=Opaque())
    flow.run()
    assert type(flow.run().result[t]) is Cached
    assert len(counted.calls) == 1


def test_fingerprintable_inputs_leave_the_message_alone() -> None:
    flow, t = build(cached_task(Counted(), cache_validators.all_inputs), x=[1, {"a": 2}])
    assert flow.run().result[t].message is None


def test_new_cache_entry_records_missing_fingerprints() -> None:
    @task(cache_for=HOUR)
    def f(a: Any, b: Any) -> None: ...

    entry = new_cache_entry(f, 1, {"a": 1, "b": Opaque()}, {"p": 2})
    assert entry.cached_inputs is not None
    assert entry.cached_inputs["a"] is not None
    assert entry.cached_inputs["b"] is None
    assert "b has no stable fingerprint" in (entry.message or "")
    assert not cache_validators.all_inputs(entry, {"a": 1, "b": Opaque()}, {"p": 2})
    assert cache_validators.all_parameters(entry, {}, {"p": 2})


# -- validators as pure functions ---------------------------------------------


def entry_for(inputs: dict[str, Any], parameters: dict[str, Any]) -> Cached:
    @task(cache_for=HOUR)
    def f(**kwargs: Any) -> None: ...

    return new_cache_entry(f, "result", inputs, parameters)


VALIDATOR_CASES: list[tuple[str, Callable[..., bool], dict[str, Any], dict[str, Any], bool]] = [
    ("never", cache_validators.never_use, {"x": 1}, {"p": 1}, False),
    ("duration", cache_validators.duration_only, {"x": 9}, {"p": 9}, True),
    ("inputs-same", cache_validators.all_inputs, {"x": 1, "y": 2}, {"p": 9}, True),
    ("inputs-differ", cache_validators.all_inputs, {"x": 1, "y": 3}, {"p": 1}, False),
    ("inputs-extra", cache_validators.all_inputs, {"x": 1, "y": 2, "z": 0}, {"p": 1}, False),
    ("params-same", cache_validators.all_parameters, {"x": 0}, {"p": 1}, True),
    ("params-differ", cache_validators.all_parameters, {"x": 1, "y": 2}, {"p": 2}, False),
    ("params-extra", cache_validators.all_parameters, {}, {"p": 1, "q": 1}, False),
    ("partial-in", cache_validators.partial_inputs_only(["x"]), {"x": 1, "y": 0}, {}, True),
    ("partial-in-no", cache_validators.partial_inputs_only(["y"]), {"x": 1, "y": 0}, {}, False),
    ("partial-p", cache_validators.partial_parameters_only(["p"]), {}, {"p": 1, "q": 5}, True),
]


@pytest.mark.parametrize(
    ("validator", "inputs", "parameters", "expected"),
    [case[1:] for case in VALIDATOR_CASES],
    ids=[case[0] for case in VALIDATOR_CASES],
)
def test_validators_as_pure_functions(
    validator: Callable[..., bool],
    inputs: dict[str, Any],
    parameters: dict[str, Any],
    expected: bool,
) -> None:
    entry = entry_for({"x": 1, "y": 2}, {"p": 1})
    assert validator(entry, inputs, parameters) is expected


def test_validators_refuse_expired_entries(clock: FakeClock) -> None:
    entry = entry_for({"x": 1}, {"p": 1})
    clock.advance(HOUR + timedelta(seconds=1))
    for validator in (
        cache_validators.duration_only,
        cache_validators.all_inputs,
        cache_validators.all_parameters,
    ):
        assert validator(entry, {"x": 1}, {"p": 1}) is False


# -- custom stores -----------------------------------------------------------


class RecordingStore:
    """A CacheStore that records what the runner asks of it."""

    def __init__(self) -> None:
        self.entries: dict[str, list[Cached]] = {}
        self.gets: list[str] = []
        self.puts: list[str] = []

    def get(self, key: str) -> Sequence[Cached]:
        self.gets.append(key)
        return list(self.entries.get(key, []))

    def put(self, key: str, state: Cached) -> None:
        self.puts.append(key)
        self.entries.setdefault(key, []).insert(0, state)


def test_custom_cache_store_is_used() -> None:
    store = RecordingStore()
    assert isinstance(store, CacheStore)
    counted = Counted()
    flow, t = build(cached_task(counted), x=1)
    first = flow.run(cache_store=store).result[t]
    second = flow.run(cache_store=store).result[t]
    assert type(first) is Success
    assert type(second) is Cached
    assert len(store.puts) == 1
    assert len(store.gets) == 2
    assert store.gets[0] == store.puts[0]
    assert "compute" in store.puts[0]
    assert len(headwater._cache.default_cache_store) == 0
    # the default store knows nothing of it: a run without the store reruns
    assert type(flow.run().result[t]) is Success
    assert len(counted.calls) == 2


def test_stores_do_not_share_entries() -> None:
    counted = Counted()
    flow, t = build(cached_task(counted), x=1)
    one, two = MemoryCacheStore(), MemoryCacheStore()
    flow.run(cache_store=one)
    assert type(flow.run(cache_store=two).result[t]) is Success
    assert type(flow.run(cache_store=one).result[t]) is Cached
    assert len(counted.calls) == 2


def test_a_handler_replacing_success_prevents_caching() -> None:
    def fail_it(t: Task[Any], old: State, new: State) -> State | None:
        from headwater.states import Failed

        return Failed("refused by handler") if isinstance(new, Success) else None

    counted = Counted()
    flow, t = build(cached_task(counted, state_handlers=[fail_it]), x=1)
    flow.run()
    flow.run()
    assert len(counted.calls) == 2
    assert len(headwater._cache.default_cache_store) == 0


def test_clear_cache_forgets_the_default_store_only() -> None:
    counted = Counted()
    flow, t = build(cached_task(counted), x=1)
    own_store = MemoryCacheStore()
    flow.run()
    flow.run(cache_store=own_store)
    assert len(headwater._cache.default_cache_store) == 1 and len(own_store) == 1
    headwater.clear_cache()
    assert len(headwater._cache.default_cache_store) == 0
    assert type(flow.run(cache_store=own_store).result[t]) is Cached
    assert type(flow.run().result[t]) is Success
    assert len(counted.calls) == 3
