"""Tests for headwater.serialization and its codec (headwater._codec)."""

from __future__ import annotations

import functools
import json
import math
import warnings
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import _ser_tasks as T
from headwater import (
    Flow,
    Parameter,
    SerializationError,
    Task,
    cache_validators,
    task,
    triggers,
    unmapped,
)
from headwater._operators import Collect, Constant, Slot
from headwater._options import OPTIONS
from headwater.errors import CycleError
from headwater.serialization import (
    FORMAT,
    decode,
    deserialize_flow,
    deserialize_task,
    encode,
    serialize_flow,
    serialize_task,
)


def through_json(data: Any) -> Any:
    return json.loads(json.dumps(data))


def roundtrip(value: Any) -> Any:
    return decode(through_json(encode(value)))


def roundtrip_flow(flow: Flow) -> Flow:
    return Flow.deserialize(through_json(flow.serialize()))


def outcome(flow_state: Any) -> dict[str, tuple[str, Any]]:
    """Each task's final state class and result, by slug (exceptions by repr)."""
    shown = {}
    for t, state in flow_state.result.items():
        result = state.result
        if isinstance(result, BaseException):
            result = repr(result)
        shown[t.slug] = (type(state).__name__, result)
    return shown


def graph_of(flow: Flow) -> dict[str, Any]:
    return {
        "tasks": [(t.slug, t.name, type(t).__name__) for t in flow.tasks],
        "edges": sorted(
            (e.upstream_task.slug, e.downstream_task.slug, e.key or "", e.mapped)
            for e in flow.edges
        ),
        "constants": {t.slug: dict(c) for t, c in flow.constants.items()},
    }


# -- the codec ------------------------------------------------------------------

VALUES = [
    None,
    True,
    False,
    0,
    -17,
    2**80,
    1.5,
    -0.25,
    "",
    "text ✓",
    [],
    [1, [2, "3"], None],
    {},
    {"a": 1, "b": [True]},
    (),
    (1, "two", (3.0,)),
    {3, 1, 2},
    set(),
    frozenset({"a", "b"}),
    {1: "int key", (1, 2): "tuple key", None: "none key", frozenset({1}): 1},
    {"__headwater__": "a user key that looks like the tag"},
    {"nested": {"__headwater__": {"__headwater__": "tuple", "items": [1]}}},
    timedelta(days=2, seconds=3, microseconds=7),
    timedelta(-1, 5),
    timedelta(0),
    datetime(2024, 2, 29, 12, 30, 15, 123456),
    datetime(2024, 1, 1, tzinfo=timezone.utc),
    datetime(2024, 1, 1, 8, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    date(1999, 12, 31),
    time(23, 59, 1, 5),
    b"\x00bytes\xff",
    T.Color.RED,
    T.Color.GREEN,
    T.plain_function,
    triggers.all_successful,
    cache_validators.duration_only,
    int,
    Task,
    json.dumps,
    T.add,  # a module-level task object is importable too
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_codec_round_trips_every_value_type(value: Any) -> None:
    back = roundtrip(value)
    assert back == value
    assert type(back) is type(value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_codec_round_trips_non_finite_floats_as_strict_json(value: float) -> None:
    encoded = encode(value)
    json.dumps(encoded, allow_nan=False)
    back = roundtrip(value)
    assert type(back) is float
    assert repr(back) == repr(value)


def test_codec_keeps_items_types_inside_containers() -> None:
    value = {"t": (1, {2}), "l": [(3,), frozenset({4})], 5: timedelta(seconds=1)}
    back = roundtrip(value)
    assert back == value
    assert type(back["t"]) is tuple and type(back["t"][1]) is set
    assert type(back["l"][0]) is tuple and type(back["l"][1]) is frozenset


def test_codec_encodes_sets_in_a_stable_order() -> None:
    assert encode({3, 1, 2}) == {"__headwater__": "set", "items": [1, 2, 3]}
    assert encode(frozenset({"b", "a"}))["items"] == ["a", "b"]


def test_codec_escapes_user_dicts_holding_the_tag_key() -> None:
    value = {"__headwater__": "timedelta", "days": 1, "seconds": 0, "microseconds": 0}
    assert roundtrip(value) == value  # still a dict, not a timedelta


def test_codec_writes_timedeltas_and_callables_readably() -> None:
    assert encode(timedelta(seconds=1.5)) == {
        "__headwater__": "timedelta",
        "days": 0,
        "seconds": 1,
        "microseconds": 500000,
    }
    assert encode(T.plain_function) == {
        "__headwater__": "import",
        "path": "_ser_tasks:plain_function",
    }


def test_codec_round_trips_partials_of_importable_functions() -> None:
    value = functools.partial(T.plain_function, 5, y=2)
    back = roundtrip(value)
    assert isinstance(back, functools.partial)
    assert (back.func, back.args, back.keywords) == (T.plain_function, (5,), {"y": 2})
    assert back() == 3


def test_codec_round_trips_slots() -> None:
    back = roundtrip([Slot("item_0"), {Slot("item_1"): 1}])
    assert type(back[0]) is Slot and back[0].key == "item_0"
    (key,) = back[1]
    assert type(key) is Slot and key.key == "item_1"


@pytest.mark.parametrize(
    ("factory", "field"),
    [
        (cache_validators.partial_inputs_only, "cached_inputs"),
        (cache_validators.partial_parameters_only, "cached_parameters"),
    ],
)
def test_codec_round_trips_partial_validator_closures(factory: Any, field: str) -> None:
    from headwater._fingerprint import fingerprint
    from headwater.states import Cached

    validator = factory(["a"])
    encoded = encode(validator)
    assert encoded["factory"] == f"headwater.cache_validators:{factory.__name__}"
    assert encoded["args"] == [["a"]]
    back = decode(through_json(encoded))
    assert back.__qualname__ == validator.__qualname__
    state = Cached(**{field: {"a": fingerprint(1)}})
    values = {"a": 1, "b": 2}
    assert back(state, values, values) is True
    assert back(state, {"a": 2}, {"a": 2}) is False


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (object(), r"cannot encode <object object .*> of type object; use JSON-like"),
        (lambda x: x, r"is a lambda, which cannot be imported; define it with def"),
        (T.make_nested_function(), r"defined inside another function.*define it at module"),
        (T.make_nested_class(), r"defined inside another function"),
        (T.shadowed_task.__wrapped__, r"importing _ser_tasks:shadowed gives another object"),
        (T.Color.RED.name.upper, r"builtin|another object|no module"),
        ([1, {"k": object()}], r"where\[1\]\['k'\]: cannot encode"),
    ],
)
def test_codec_refuses_what_it_cannot_encode(value: Any, match: str) -> None:
    with pytest.raises(SerializationError, match=match):
        encode(value, "where")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"__headwater__": "nope"}, r"unknown tag 'nope'"),
        ({"__headwater__": "timedelta", "days": 1}, r"malformed 'timedelta' object"),
        ({"__headwater__": "import", "path": "no_such_module_x:f"}, r"cannot import module"),
        ({"__headwater__": "import", "path": "json:no_such_name"}, r"has no attribute"),
        ({"__headwater__": "import", "path": "json"}, r"not an import path"),
        ({"__headwater__": "call", "factory": "os:system", "args": ["x"]}, r"refusing to call"),
    ],
)
def test_codec_refuses_malformed_data(data: Any, match: str) -> None:
    with pytest.raises(SerializationError, match=match):
        decode(data)


# -- tasks ----------------------------------------------------------------------


def every_option_task() -> Task[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return T.fancy.copy(
            slug="fancy-explicit",
            trigger=T.at_least_one,
            cache_for=timedelta(hours=1),
            cache_validator=cache_validators.partial_inputs_only(["x"]),
            state_handlers=[T.handler],
            on_failure=T.failure_hook,
        )


def test_serialize_task_records_every_option_as_json() -> None:
    data = through_json(serialize_task(every_option_task()))
    assert data["class"] == "headwater._decorator:FunctionTask"
    assert data["function"] == "_ser_tasks:fancy"
    assert {key: data[key] for key in ("name", "slug", "description", "group")} == {
        "name": "fancy",
        "slug": "fancy-explicit",
        "description": "every option",
        "group": "grp",
    }
    assert data["tags"] == ["io", "slow"]
    assert data["max_retries"] == 2
    assert data["timeout"] == 5.0
    assert data["trigger"] == {"__headwater__": "import", "path": "_ser_tasks:at_least_one"}
    assert data["state_handlers"] == [{"__headwater__": "import", "path": "_ser_tasks:handler"}]
    assert data["nout"] == 2 and data["cache_key"] == "shared" and data["propagate_skip"]
    assert data["explicit_slug"] is True and data["mapped"] is False
    assert data["inputs"] == {"x": {"required": True, "type": "int"}}
    assert set(OPTIONS) <= set(data)


def test_task_round_trip_keeps_every_option() -> None:
    original = every_option_task()
    rebuilt = deserialize_task(through_json(original.serialize()))
    assert type(rebuilt) is type(original)
    for option in OPTIONS:
        if option == "cache_validator":
            continue  # a new closure: compared by behaviour above
        assert getattr(rebuilt, option) == getattr(original, option), option
    assert rebuilt.cache_validator.__qualname__ == original.cache_validator.__qualname__
    assert rebuilt._explicit_slug
    assert rebuilt.run(3) == (3, 3)
    assert rebuilt.__wrapped__ is T.fancy.__wrapped__
    assert rebuilt.inputs() == original.inputs()


def test_task_round_trip_of_defaults_stores_nothing_extra() -> None:
    rebuilt = deserialize_task(through_json(serialize_task(T.add)))
    assert rebuilt.__dict__.keys() == T.add.__dict__.keys()
    assert rebuilt.trigger is triggers.all_successful
    assert rebuilt.retry_delay == timedelta(minutes=1)


def test_task_round_trip_keeps_the_mapped_flag() -> None:
    with Flow("m") as flow:
        mapped = T.inc.map([1, 2])
    assert deserialize_task(through_json(mapped.serialize())).mapped is True
    assert flow.run().result[mapped].result == [2, 3]


def test_task_subclass_round_trip_keeps_instance_attributes() -> None:
    original = T.Scale(factor=timedelta(seconds=2), name="scale", tags={"x"})
    data = through_json(serialize_task(original))
    assert data["class"] == "_ser_tasks:Scale"
    assert "function" not in data
    assert data["attributes"] == {"factor": encode(timedelta(seconds=2))}
    rebuilt = deserialize_task(data)
    assert type(rebuilt) is T.Scale
    assert rebuilt.factor == timedelta(seconds=2)
    assert rebuilt.max_retries == original.max_retries
    assert (rebuilt.name, rebuilt.tags) == ("scale", frozenset({"x"}))
    assert (
        rebuilt.description == original.description == "Multiply by a factor kept on the instance."
    )
    assert rebuilt.run(2) == timedelta(seconds=4)


def test_task_subclass_class_level_options_stay_on_the_class() -> None:
    original = object.__new__(T.Scale)  # as if __init__ set no option
    original.factor = 2
    rebuilt = deserialize_task(through_json(serialize_task(original)))
    assert rebuilt.max_retries == 1 and "max_retries" not in rebuilt.__dict__
    assert rebuilt.__dict__ == {"factor": 2}


@pytest.mark.parametrize(
    ("kwargs", "default", "required"),
    [
        ({}, None, True),
        ({"default": 3}, 3, False),
        ({"default": (1, 2), "required": True}, (1, 2), True),
        ({"required": False}, None, False),
    ],
)
def test_parameter_round_trip(kwargs: dict[str, Any], default: Any, required: bool) -> None:
    original = Parameter("p", tags={"input"}, **kwargs)
    data = through_json(original.serialize())
    assert "default" not in data["attributes"]
    rebuilt = deserialize_task(data)
    assert type(rebuilt) is Parameter
    assert rebuilt.info() == {"name": "p", "required": required, "default": default}
    assert rebuilt.slug == "p" and rebuilt.tags == frozenset({"input"})


def test_deserializing_a_parameter_inside_a_flow_does_not_add_it_there() -> None:
    data = through_json(Parameter("p").serialize())
    with Flow("outer") as outer:
        deserialize_task(data)
    assert not outer.tasks


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: task(lambda x: x), r"task 'flow-lambda.*' cannot be serialized: .*is a lambda"),
        (
            lambda: task(T.make_nested_function()),
            r"task 'nested-1' cannot be serialized: .*make_nested_function.<locals>.nested "
            r"is defined inside another function.*define it at module level",
        ),
        (
            T.make_nested_class(),
            r"task 'Nested-1' cannot be serialized: .*define it at module level",
        ),
        (lambda: T.shadowed_task, r"task 'shadowed-1'.*gives another object"),
    ],
)
def test_serialize_refuses_tasks_that_are_not_importable(make: Any, match: str) -> None:
    the_task = make()
    if the_task.name == "<lambda>":
        the_task = the_task.copy(name="flow-lambda")
    with Flow("f") as flow:
        the_task.bind() if not the_task._signature.required else the_task.bind(1)
    with pytest.raises(SerializationError, match=match):
        flow.serialize()


def test_serialize_names_the_task_and_option_of_an_unencodable_value() -> None:
    handler_task = T.inc.copy(state_handlers=[lambda *a: None])
    with pytest.raises(SerializationError, match=r"task 'inc', option 'state_handlers'.*lambda"):
        handler_task.serialize()
    with Flow("f") as flow:
        T.identity(object())
    with pytest.raises(
        SerializationError,
        match=r"task 'identity-1', constant input 'x': cannot encode <object .*>.*Parameter",
    ):
        flow.serialize()
    with Flow("g") as flow:
        T.Scale(factor=object())(1)
    with pytest.raises(SerializationError, match=r"task 'Scale-1', attribute 'factor'"):
        flow.serialize()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"class": "no_such_module_x:Task"}, r"task 'add-1': cannot import module"),
        ({"function": "_ser_tasks:missing"}, r"task 'add-1': module '_ser_tasks' has no attr"),
        ({"class": "_ser_tasks:plain_function"}, r"is not a Task class"),
        ({"class": "_ser_tasks:Scale"}, r"is not a FunctionTask class"),
        ({"max_retries": -1}, r"max_retries must be 0 or more"),
        ({"attributes": {"_signature": 1}}, r"attribute '_signature' is reserved"),
    ],
)
def test_deserialize_task_names_the_task_it_cannot_rebuild(
    change: dict[str, Any], match: str
) -> None:
    with Flow("f"):
        added = T.add(1)
    data = {**serialize_task(added), **change}
    with pytest.raises(SerializationError, match=match):
        deserialize_task(data)


# -- flows ----------------------------------------------------------------------


def example_flow() -> tuple[Flow, dict[str, Task[Any]]]:
    with Flow("example") as flow:
        p = Parameter("p", default=2)
        q = Parameter("q", default={"k": (1, 2)}, required=False)
        a = T.add(p, y=10)
        b = T.mul(a, p)
        scaled = T.Scale(factor=3)(b)
        pieces = T.inc.map([a, b, 5])
        both = T.total(pieces, upstream_tasks=[scaled])
        shifted = T.add.map(pieces, y=unmapped(a))
        collected = T.Echo()(
            first=[a, (b, {"z": scaled})],
            second={a: "task key", "__headwater__": {b, 3}},
            third=q,
        )
        ops = ((a + b) * 2 - 1) // 3 % 5 < scaled
        negation = ~(a > b)
        item = pieces[1]
        equal = a.is_equal(b)
        constant = T.identity({"when": datetime(2024, 1, 1), "how_long": timedelta(seconds=3)})
    named = dict(
        p=p,
        a=a,
        both=both,
        shifted=shifted,
        collected=collected,
        ops=ops,
        negation=negation,
        item=item,
        equal=equal,
        constant=constant,
    )
    return flow, named


def test_flow_serializes_to_the_documented_format() -> None:
    flow, named = example_flow()
    data = serialize_flow(flow)
    json.dumps(data, allow_nan=False)
    assert data["format"] == FORMAT == "headwater.flow/1"
    assert data["name"] == "example"
    assert [t["slug"] for t in data["tasks"]] == [t.slug for t in flow.tasks]
    assert data["edges"][0] == {"upstream": "p", "downstream": "add-1", "key": "x", "mapped": False}
    assert [e for e in data["edges"] if e["mapped"]] == [
        {"upstream": "List-1", "downstream": "inc-1", "key": "x", "mapped": True},
        {"upstream": "inc-1", "downstream": "add-2", "key": "x", "mapped": True},
    ]
    assert data["constants"]["add-1"] == {"y": 10}
    assert "reference_tasks" not in data
    collect = next(t for t in data["tasks"] if t["class"] == "headwater._operators:Collect")
    assert "template" in collect["attributes"]
    operators = {t["class"] for t in data["tasks"]}
    assert {"headwater._operators:Add", "headwater._operators:Lt"} <= operators


def test_flow_round_trip_keeps_graph_and_results() -> None:
    flow, named = example_flow()
    rebuilt = roundtrip_flow(flow)
    assert graph_of(rebuilt) == graph_of(flow)
    assert [t.slug for t in rebuilt.sorted_tasks()] == [t.slug for t in flow.sorted_tasks()]
    first, second = flow.run(), rebuilt.run()
    assert first.is_successful() and second.is_successful()
    assert outcome(second) == outcome(first)
    results = {t.slug: s.result for t, s in second.result.items()}
    assert results[named["collected"].slug] == {
        "first": [12, (24, {"z": 72})],
        "second": {12: "task key", "__headwater__": {24, 3}},
        "third": {"k": (1, 2)},
    }
    assert results[named["shifted"].slug] == [25, 37, 18]
    parameters = {"p": 3, "q": None}
    assert outcome(rebuilt.run(parameters=parameters)) == outcome(flow.run(parameters=parameters))


def test_flow_round_trip_is_stable() -> None:
    flow, _ = example_flow()
    data = serialize_flow(flow)
    assert serialize_flow(roundtrip_flow(flow)) == through_json(data)
    assert serialize_flow(flow) == data


def test_flow_round_trip_keeps_failures_skips_and_triggers() -> None:
    with Flow("failing") as flow:
        failed = T.boom(1)
        after = T.add(failed)
        cleanup = T.identity.copy(trigger=triggers.always_run)(1, upstream_tasks=[after])
        skip = T.skipper()
        propagated = T.inc.copy(propagate_skip=True)(skip)
        rescued = T.inc.copy(trigger=triggers.all_failed)(2, upstream_tasks=[failed])
    rebuilt = roundtrip_flow(flow)
    assert outcome(rebuilt.run()) == outcome(flow.run())
    states = {t.slug: type(s).__name__ for t, s in rebuilt.run().result.items()}
    assert states[after.slug] == "TriggerFailed"
    assert states[propagated.slug] == "Skipped"
    assert states[rescued.slug] == states[cleanup.slug] == "Success"
    assert states[failed.slug] == "Failed"


def test_flow_round_trip_keeps_reference_tasks_and_flow_handlers() -> None:
    with Flow("refs", state_handlers=[T.handler], on_failure=T.failure_hook) as flow:
        ok = T.inc(1)
        T.boom(ok)
    flow.set_reference_tasks([ok])
    data = through_json(flow.serialize())
    assert data["reference_tasks"] == ["inc-1"]
    rebuilt = Flow.deserialize(data)
    assert [t.slug for t in rebuilt.reference_tasks()] == ["inc-1"]
    assert rebuilt.state_handlers == (T.handler,) and rebuilt.on_failure is T.failure_hook
    assert rebuilt.run().is_successful() and flow.run().is_successful()


def test_flow_round_trip_keeps_explicit_slugs_and_copy_behaviour() -> None:
    with Flow("slugs") as flow:
        named = T.inc.copy(slug="first")(1)
        generated = T.inc(named)
    rebuilt = roundtrip_flow(flow)
    first = rebuilt.get_tasks(slug="first")[0]
    second = rebuilt.get_tasks(slug=generated.slug)[0]
    assert first.copy().slug == "first"
    assert second.copy().slug is None


def test_deserialized_flow_can_grow_without_slug_clashes() -> None:
    with Flow("grow") as flow:
        T.inc(T.inc(1))
    rebuilt = roundtrip_flow(flow)
    with rebuilt:
        extra = T.inc(2)
    assert extra.slug not in {"inc-1", "inc-2"}
    assert len({t.slug for t in rebuilt.tasks}) == 3


def test_empty_flow_round_trips() -> None:
    rebuilt = roundtrip_flow(Flow("empty"))
    assert rebuilt.name == "empty" and not rebuilt.tasks
    assert rebuilt.run().is_successful()


@pytest.mark.parametrize(
    ("mutate", "error", "match"),
    [
        (lambda d: [], SerializationError, r"expected the dict made by Flow.serialize\(\)"),
        (lambda d: {**d, "format": "x/2"}, SerializationError, r"unsupported flow format 'x/2'"),
        (lambda d: {k: v for k, v in d.items() if k != "edges"}, SerializationError, "'edges'"),
        (
            lambda d: {**d, "edges": [{"upstream": "ghost", "downstream": "inc-1"}]},
            SerializationError,
            r"refers to task 'ghost'",
        ),
        (
            lambda d: {**d, "tasks": d["tasks"] * 2},
            SerializationError,
            r"duplicate slug 'inc-1'",
        ),
        (
            lambda d: {**d, "constants": {"inc-1": {"x": {"__headwater__": "nope"}}}},
            SerializationError,
            r"task 'inc-1', constant input 'x': unknown tag",
        ),
        (
            lambda d: {**d, "edges": [*d["edges"], {"upstream": "inc-2", "downstream": "inc-1"}]},
            CycleError,
            r"cycle",
        ),
    ],
)
def test_deserialize_flow_refuses_bad_data(mutate: Any, error: type, match: str) -> None:
    with Flow("bad") as flow:
        T.inc(T.inc(1))
    with pytest.raises(error, match=match):
        deserialize_flow(mutate(through_json(flow.serialize())))


def test_standalone_collect_and_constant_round_trip() -> None:
    collect = Collect({Slot("item_0"): (Slot("item_1"), {1, 2})}, name="Dict")
    rebuilt = deserialize_task(through_json(collect.serialize()))
    assert rebuilt.run(item_0="a", item_1="b") == {"a": ("b", {1, 2})}
    constant = Constant(frozenset({timedelta(1)}))
    assert deserialize_task(through_json(constant.serialize())).run() == frozenset({timedelta(1)})


# -- property: random DAGs of module-level tasks -----------------------------------


@st.composite
def random_flows(draw: st.DrawFn) -> Flow:
    """A random DAG built by calls of module-level tasks on earlier results."""
    small = st.integers(-3, 3)
    with Flow("random") as flow:
        results: list[Any] = [Parameter("p", default=draw(small))]

        def pick() -> Any:
            return draw(st.one_of(st.sampled_from(results), small))

        for _ in range(draw(st.integers(1, 8))):
            kind = draw(st.sampled_from(["add", "mul", "inc", "total", "map", "op", "order"]))
            if kind == "add":
                results.append(T.add(pick(), y=pick()))
            elif kind == "mul":
                results.append(T.mul(pick(), pick()))
            elif kind == "inc":
                results.append(T.inc(pick()))
            elif kind == "total":
                results.append(T.total([pick(), pick()]))
            elif kind == "map":
                results.append(T.total(T.inc.map([pick(), pick(), pick()])))
            elif kind == "op":
                results.append(T.add(pick()) - pick())
            else:
                upstream = [r for r in results if isinstance(r, Task)][-2:]
                results.append(T.identity(pick(), upstream_tasks=upstream))
    return flow


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_flows(), st.integers(-5, 5))
def test_random_flows_round_trip(flow: Flow, p: int) -> None:
    rebuilt = Flow.deserialize(json.loads(json.dumps(flow.serialize())))
    assert graph_of(rebuilt) == graph_of(flow)
    assert [t.slug for t in rebuilt.sorted_tasks()] == [t.slug for t in flow.sorted_tasks()]
    assert outcome(rebuilt.run(parameters={"p": p})) == outcome(flow.run(parameters={"p": p}))
