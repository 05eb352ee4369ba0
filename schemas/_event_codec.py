"""The event codec: Event to message bytes and back, in either framing (pure Python, fastavro).

Events are rare next to spans (a job reports a few a minute, not thousands a second), so they
take fastavro's generic writer and, after the same bounds-checking walk the span codec's generic
path makes, its resolving reader. ``event.avsc`` is its own record with its own fingerprint: a
span message handed to :func:`decode_event` fails with ``unknown-fingerprint`` (and the other
way round), which is how a consumer tells the two apart on one topic.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Final

from spanstream.schemas._decoder import BodyError
from spanstream.schemas._event import EVENT_FIELDS, Event
from spanstream.schemas._framed_codec import FramedCodec, to_record
from spanstream.schemas._schema_history import default_event_history

__all__ = [
    "EVENT_SCHEMA_FINGERPRINT",
    "EventCodec",
    "decode_event",
    "encode_event",
    "event_from_record",
    "event_to_record",
]


def event_to_record(event: Event) -> dict[str, Any]:
    """Return the event as the dict fastavro writes."""
    return to_record(event, EVENT_FIELDS)


def event_from_record(record: Any) -> Event:  # noqa: ANN401 - a record fastavro read
    """Build an Event from a record read with a reader schema of the Event family.

    Raises:
        BodyError: the record does not make a valid Event.
    """
    try:
        return Event(
            record["scope"],
            record["name"],
            record["observed_ts_millis"],
            record["body"],
            record["severity"],
            MappingProxyType(record["attributes"]),
            record["event_id"],
            record["trace_id"],
            record["span_id"],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BodyError("malformed", f"the record is not an event: {exc}") from exc


class EventCodec(FramedCodec):
    """Encode events to messages and decode them back, in one framing.

    Args:
        framing: ``"single-object"`` (default; Avro's own framing, no registry needed) or
            ``"confluent"`` (magic byte 0 and a 4-byte schema id from a Schema Registry).
        registry: the Schema Registry client, required for ``"confluent"``.
        subject: the registry subject the event schema is registered under (e.g.
            ``flink-events-value``), required for ``"confluent"``.
        history: the event schema versions known to the reader, the current one being the
            writer's and the reader's; the released versions by default.

    Example:
        >>> codec = EventCodec()
        >>> event = Event.builder("my.Job", "Rescaled").set_attribute("parallelism", 4).build()
        >>> codec.decode(codec.encode(event)) == event
        True
    """

    __slots__ = ()

    WHAT = "event"
    default_history = staticmethod(default_event_history)

    def encode(self, event: Event) -> bytes:
        """Return the framed Avro message for ``event``.

        Raises:
            EncodeError: a value does not fit the schema.
        """
        return self._encode_record(event_to_record(event))

    def decode(self, data: bytes) -> Event:
        """Decode a message into the event it carries, resolved to the current event schema.

        Raises:
            DecodeError: the bytes are not an event message of a known schema; its ``reason``
                says why and ``raw`` keeps the bytes (a span message is ``unknown-fingerprint``).
        """
        record = self.decode_record(data)
        try:
            return event_from_record(record)
        except BodyError as exc:
            raise self._decode_error(exc, data) from exc


_DEFAULT_CODEC: Final = EventCodec()

EVENT_SCHEMA_FINGERPRINT: Final = default_event_history().current.fingerprint
"""The 8-byte CRC-64-AVRO fingerprint of ``event.avsc``, as it appears in message headers."""


def encode_event(event: Event) -> bytes:
    """Encode an event as an Avro single-object message (``C3 01``, fingerprint, body).

    Raises:
        EncodeError: a value does not fit the schema.
    """
    return _DEFAULT_CODEC.encode(event)


def decode_event(data: bytes) -> Event:
    """Decode an Avro single-object message of any released event schema version.

    Raises:
        DecodeError: the bytes are not an event message of a known schema; ``reason`` says why
            (a span message is ``unknown-fingerprint``).
    """
    return _DEFAULT_CODEC.decode(data)
