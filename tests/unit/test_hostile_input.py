"""Hostile input at the API: each case has its documented outcome, never a crash of the caller.

The outcomes (README, "Reliability" section, "Hostile input at the API"):

* a value the contract cannot carry, given to the builder (wrong attribute type, non-str key,
  a long or timestamp outside Avro's signed 64-bit range, a non-str name): ``TypeError`` or
  ``ValueError`` at once, from the builder, naming the key;
* a tree deeper than ``MAX_SPAN_DEPTH``: ``SpanTooDeepError`` from ``build()``; through
  ``MetricGroup.add_span`` it never raises and is counted in ``ReporterRegistry.stats()``;
* a hand-made ``Span`` that breaks the contract (its constructor checks only the ids): it
  reaches the reporter, whose encoder refuses it (``EncodeError``); the Kafka reporter counts it
  dropped ``encode-error`` (``tests/integration/test_reliability_hostile_input.py``);
* NaN and the infinities: carried as IEEE doubles and decoded equal;
* big values (10 MB strings, 100,000 children): built and encoded; the Kafka reporter drops a
  record over ``record.max.bytes`` (1 MB by default, and never above the topic's limit) as
  ``too-large``.
"""

from __future__ import annotations

import decimal
import enum
import math

import pytest
from _spans import chain, hand_made_span

from spanstream.producer import (
    InMemoryTraceReporter,
    MetricConfig,
    ReporterRegistry,
    ReporterSetup,
)
from spanstream.producer._span_limits import SpanLimits
from spanstream.schemas import (
    MAX_SPAN_DEPTH,
    ConfigError,
    EncodeError,
    Span,
    SpanBuilder,
    SpanTooDeepError,
    decode_span,
    encode_span,
)

TEN_MB = 10 * 1024 * 1024


class _Colour(enum.Enum):
    RED = 1


_WRONG_VALUES = [
    None,
    [1, 2],
    (1,),
    {"a": 1},
    {1, 2},
    b"bytes",
    bytearray(b"x"),
    decimal.Decimal("1.5"),
    complex(1, 2),
    _Colour.RED,
    object(),
]


def _registry() -> tuple[ReporterRegistry, InMemoryTraceReporter]:
    reporter = InMemoryTraceReporter()
    return ReporterRegistry([ReporterSetup("mem", reporter)]), reporter


@pytest.mark.parametrize("value", _WRONG_VALUES, ids=lambda v: type(v).__name__)
def test_a_wrong_attribute_type_is_a_type_error_at_the_builder(value):
    """Values other than str, int, float and bool are refused by set_attribute, naming the key."""
    with pytest.raises(TypeError, match="'key'"):
        Span.builder("s", "n").set_attribute("key", value)


@pytest.mark.parametrize("key", [1, 1.5, None, b"k", ("a",), True])
def test_a_non_str_key_is_a_type_error_at_the_builder(key):
    """Attribute keys must be str."""
    with pytest.raises(TypeError, match="keys must be str"):
        Span.builder("s", "n").set_attribute(key, 1)


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30])
def test_a_long_outside_64_bits_is_a_value_error_at_the_builder(value):
    """Python ints beyond Avro's long are refused, not wrapped."""
    with pytest.raises(ValueError, match="64-bit"):
        Span.builder("s", "n").set_attribute("big", value)


@pytest.mark.parametrize("ts", [2**63, -(2**63) - 1, 2**100])
def test_a_timestamp_out_of_range_is_a_value_error_at_the_builder(ts):
    """Start and end beyond Avro's long are refused."""
    with pytest.raises(ValueError, match="64-bit"):
        Span.builder("s", "n").set_start_ts_millis(ts)
    with pytest.raises(ValueError, match="64-bit"):
        Span.builder("s", "n").set_end_ts_millis(ts)


@pytest.mark.parametrize("ts", [1.5, "0", None, math.nan])
def test_a_timestamp_of_another_type_is_a_type_error_at_the_builder(ts):
    """Timestamps are int epoch milliseconds only."""
    with pytest.raises(TypeError):
        Span.builder("s", "n").set_start_ts_millis(ts)


def test_extreme_but_valid_timestamps_round_trip():
    """The ends of the long range (and an end before the start) are carried as they are."""
    span = Span.builder("s", "n").set_start_ts_millis(2**63 - 1).set_end_ts_millis(-(2**63)).build()
    assert decode_span(encode_span(span)) == span


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308]
)
def test_nan_and_infinities_are_carried_as_doubles(value):
    """Special doubles survive the wire (NaN compares equal in a span)."""
    span = Span.builder("s", "n").set_attribute("x", value).build()
    decoded = decode_span(encode_span(span))
    assert decoded == span
    got = decoded.attributes["x"]
    assert isinstance(got, float)
    assert (math.isnan(got) and math.isnan(value)) or got == value
    assert math.copysign(1.0, got) == math.copysign(1.0, value)


def test_a_span_name_that_is_not_a_str_is_a_type_error():
    """The builder refuses a non-str name (and a scope that is neither a class nor a str)."""
    with pytest.raises(TypeError):
        SpanBuilder("s", 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Span.builder(42, "n")  # type: ignore[arg-type]


def test_a_tree_ten_thousand_levels_deep_fails_to_build_without_recursion_error():
    """10,000 nested builders: SpanTooDeepError, not RecursionError or a crash."""
    root = Span.builder("s", "level-0")
    current = root
    for level in range(1, 10_000):
        child = Span.builder("s", f"level-{level}")
        current.add_child(child)
        current = child
    with pytest.raises(SpanTooDeepError):
        root.build()


def test_add_span_of_a_too_deep_tree_never_raises_and_is_counted():
    """Through MetricGroup.add_span: nothing raised, nothing reported, one failure counted."""
    registry, reporter = _registry()
    root = Span.builder("s", "deep")
    current = root
    for _ in range(10_000):
        child = Span.builder("s", "d")
        current.add_child(child)
        current = child
    registry.root_group().add_span(root)
    assert not reporter.spans
    stats = registry.stats()["mem"]
    assert stats.failures == 1
    assert stats.last_error is not None
    assert stats.last_error.startswith("SpanTooDeepError")


def test_a_builder_that_contains_itself_fails_to_build():
    """A cycle is caught by the depth limit."""
    builder = Span.builder("s", "loop")
    builder.add_child(builder)
    with pytest.raises(SpanTooDeepError):
        builder.build()


def test_a_tree_at_the_depth_limit_builds_and_round_trips():
    """MAX_SPAN_DEPTH levels of children are fine, and the decoder reads them."""
    span = chain(MAX_SPAN_DEPTH).build()
    assert decode_span(encode_span(span)) == span


def test_a_hand_made_tree_ten_thousand_deep_is_an_encode_error():
    """Spans nested by hand past the limit are refused by the encoder (no RecursionError)."""
    span = hand_made_span()
    for _ in range(10_000):
        span = hand_made_span(children=(span,))
    with pytest.raises(EncodeError):
        encode_span(span)


def test_a_hundred_thousand_children_build_encode_and_decode():
    """A 100,000-wide tree is within the contract: built, encoded (a few MB), decoded equal."""
    span = (
        Span.builder("s", "wide")
        .add_children(Span.builder("s", "c").set_start_ts_millis(1) for _ in range(100_000))
        .build()
    )
    message = encode_span(span)
    assert len(message) > 1_000_000  # more than the reporter's default record.max.bytes
    assert decode_span(message) == span


def test_a_ten_megabyte_string_builds_and_round_trips():
    """A 10 MB attribute is carried by the codec; the Kafka reporter's size limit drops it."""
    span = Span.builder("s", "n").set_attribute("blob", "x" * TEN_MB).build()
    message = encode_span(span)
    assert len(message) > TEN_MB
    assert decode_span(message) == span


@pytest.mark.parametrize(
    "overrides",
    [
        {"attributes": {"k": [1, 2]}},
        {"attributes": {"k": None}},
        {"attributes": {1: "int key"}},
        {"attributes": {"k": 2**64}},
        {"attributes": {"k": "\ud800 lone surrogate"}},
        {"name": "\udfff"},
        {"start_ts_millis": 2**64},
        {"end_ts_millis": 1.5},
    ],
    ids=lambda o: next(iter(o)) + ":" + type(next(iter(o.values()))).__name__,
)
def test_a_hand_made_span_outside_the_contract_is_an_encode_error(overrides):
    """Only the encoder sees a hand-made Span's values: it refuses them with EncodeError."""
    with pytest.raises(EncodeError):
        encode_span(hand_made_span(**overrides))


def test_a_lone_surrogate_is_accepted_by_the_builder_and_refused_by_the_encoder():
    """A str with a lone surrogate is a str (the builder takes it); UTF-8 cannot carry it."""
    span = Span.builder("s", "n").set_attribute("k", "\ud800").build()
    with pytest.raises(EncodeError):
        encode_span(span)


@pytest.mark.parametrize("value", _WRONG_VALUES[:4], ids=lambda v: type(v).__name__)
def test_group_span_with_a_wrong_attribute_drops_it_and_never_raises(value):
    """MetricGroup.span(attributes=...) drops and counts a bad value; the span is reported."""
    registry, reporter = _registry()
    with registry.root_group().span("s", "n", attributes={"k": value, "ok": 1}):
        pass
    assert [dict(span.attributes) for span in reporter.spans] == [{"ok": 1}]
    assert registry.attribute_drops == 1


@pytest.mark.parametrize("thing", [None, 42, "a string", object(), Span])
def test_add_span_of_something_that_is_not_a_span_never_raises(thing):
    """add_span takes anything without raising; nothing is reported."""
    registry, reporter = _registry()
    registry.root_group().add_span(thing)  # type: ignore[arg-type]
    assert not reporter.spans


def test_an_exception_with_a_huge_message_is_recorded_and_reraised():
    """group.span() records an escaping exception's message, however long, and re-raises it."""
    registry, reporter = _registry()
    with pytest.raises(RuntimeError), registry.root_group().span("s", "n"):
        raise RuntimeError("x" * TEN_MB)
    (span,) = reporter.spans
    assert len(str(span.attributes["exception.message"])) >= TEN_MB


# -- the configurable limits (the Kafka reporter's span.max.* keys) ----------------------------


def _limits(**values: object) -> SpanLimits:
    return SpanLimits.from_metric_config(MetricConfig(values, prefix="traces.reporter.kafka."))


def test_no_span_limit_is_active_by_default():
    """Without span.max.* keys nothing beyond the contract is checked (and nothing costs)."""
    limits = _limits()
    assert limits == SpanLimits()
    assert not limits.active
    assert limits.violation(chain(MAX_SPAN_DEPTH).build()) is None


def test_span_max_depth_limits_the_levels_of_children():
    """span.max.depth=3: three levels below the root pass, four do not."""
    limits = _limits(**{"span.max.depth": "3"})
    assert limits.active
    assert limits.violation(chain(3).build()) is None
    assert "span.max.depth" in (limits.violation(chain(4).build()) or "")


def test_span_max_children_limits_the_children_of_any_span():
    """span.max.children=10: a grandchild with 11 children breaks it."""
    limits = _limits(**{"span.max.children": 10})
    ok = Span.builder("s", "r").add_children(Span.builder("s", "c") for _ in range(10)).build()
    wide = Span.builder("s", "w").add_children(Span.builder("s", "c") for _ in range(11))
    nested = Span.builder("s", "r").add_child(Span.builder("s", "m").add_child(wide)).build()
    assert limits.violation(ok) is None
    assert "11 children" in (limits.violation(nested) or "")


def test_span_max_attribute_value_bytes_counts_utf8_bytes():
    """The limit is on UTF-8 bytes: 10 three-byte characters are 30 bytes."""
    limits = _limits(**{"span.max.attribute.value.bytes": "29"})
    assert limits.violation(Span.builder("s", "n").set_attribute("k", "x" * 29).build()) is None
    assert limits.violation(Span.builder("s", "n").set_attribute("k", "€" * 10).build())
    assert limits.violation(Span.builder("s", "n").set_attribute("k", 10**18).build()) is None
    child = Span.builder("s", "c").set_attribute("blob", "x" * TEN_MB)
    assert "'blob'" in (limits.violation(Span.builder("s", "n").add_child(child).build()) or "")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("span.max.depth", MAX_SPAN_DEPTH + 1),
        ("span.max.depth", -1),
        ("span.max.depth", 0),
        ("span.max.children", "many"),
        ("span.max.attribute.value.bytes", -5),
    ],
)
def test_a_bad_span_limit_is_a_config_error_naming_the_key(key, value):
    """Out of range or not an integer: ConfigError with the full key."""
    with pytest.raises(ConfigError, match=f"traces.reporter.kafka.{key}"):
        _limits(**{key: value})
