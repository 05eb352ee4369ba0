"""The Event value and EventBuilder: Flink's events API as pure data."""

from __future__ import annotations

import dataclasses

import pytest

from spanstream.schemas import EVENT_ID_BYTES, Event, EventBuilder


def test_builder_defaults_follow_flink() -> None:
    """Body and severity default to "", and an unset observed time becomes now at build."""
    event = Event.builder("my.Job", "Started").build()
    assert (event.body, event.severity) == ("", "")
    assert event.observed_ts_millis > 1_600_000_000_000


def test_observed_time_zero_means_now() -> None:
    """An explicit observed time of 0 is unset, as in Flink's EventBuilder."""
    event = EventBuilder("my.Job", "Started").set_observed_ts_millis(0).build()
    assert event.observed_ts_millis > 1_600_000_000_000


def test_negative_observed_time_is_kept() -> None:
    """-1 (Flink's CheckpointEvent of an unacknowledged checkpoint) is a real value."""
    event = EventBuilder("my.Job", "CheckpointEvent").set_observed_ts_millis(-1).build()
    assert event.observed_ts_millis == -1


def test_variables_overwrite_attributes() -> None:
    """A scope variable wins over an attribute of the same key (Flink's build(Map) order)."""
    builder = EventBuilder("my.Job", "E").set_attribute("<host>", "mine").set_attribute("n", 1)
    event = builder.build(variables={"<host>": "tm-1"})
    assert dict(event.attributes) == {"<host>": "tm-1", "n": 1}
    assert builder.attributes["<host>"] == "mine"


def test_class_scope_is_module_qualified_name() -> None:
    """A class scope becomes its module-qualified name, like a span's."""
    assert EventBuilder(EventBuilder, "E").scope == "spanstream.schemas._event.EventBuilder"


def test_event_id_is_fresh_and_sized() -> None:
    """Each build gets its own 16-byte event id and no trace unless given one."""
    builder = EventBuilder("my.Job", "E")
    first, second = builder.build(), builder.build()
    assert len(first.event_id) == EVENT_ID_BYTES
    assert first.event_id != second.event_id
    assert (first.trace_id, first.span_id) == (None, None)


def test_enclosing_span_ids_are_checked() -> None:
    """A trace id of the wrong size is a ValueError naming the field."""
    with pytest.raises(ValueError, match="trace_id"):
        EventBuilder("my.Job", "E").build(trace_id=b"short")


@pytest.mark.parametrize("value", [None, [1], {"a": 1}, 2**63])
def test_bad_attribute_values_are_rejected(value: object) -> None:
    """Values outside Flink's String/Long/Double/boolean raise naming the key."""
    with pytest.raises((TypeError, ValueError), match="'k'"):
        EventBuilder("my.Job", "E").set_attribute("k", value)  # type: ignore[arg-type]


def test_event_is_immutable() -> None:
    """A finished event cannot be changed, nor its attributes."""
    event = EventBuilder("my.Job", "E").set_attribute("k", "v").build()
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        event.attributes["k"] = "w"  # type: ignore[index]


def test_equality_is_structural() -> None:
    """Two events with the same fields and id are equal; a bool never equals an int."""
    event = EventBuilder("my.Job", "E").set_attribute("flag", True).build()
    same = dataclasses.replace(event)
    assert event == same
    assert hash(event) == hash(same)
    other = dataclasses.replace(event, attributes={"flag": 1})
    assert event != other
