"""Events read from Kafka: a record per event, and the dispatch that tells them from spans.

One consumer reads a topic of spans, of events, or of both: a message is dispatched by the
schema fingerprint in its single-object header. The span path (in C where it is built) handles
span messages; any other message reaches the Python loop, which asks :func:`decode_event_record`
whether it is an event before applying the bad-record policy.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from confluent_kafka import Message

from spanstream.consumer._records import Header, record_headers
from spanstream.schemas import (
    EVENT_SCHEMA_FINGERPRINT,
    SINGLE_OBJECT_MARKER,
    Event,
    decode_event,
    event_schema_for_fingerprint,
)

__all__ = ["EVENT_HEADER", "EventRecord", "decode_event_record", "is_event_message"]

EVENT_HEADER: Final = SINGLE_OBJECT_MARKER + EVENT_SCHEMA_FINGERPRINT
"""The first ten bytes of an event message of the current event schema."""


@dataclasses.dataclass(frozen=True, slots=True)
class EventRecord:
    """One consumed event and where it came from (immutable).

    What :class:`SpanRecord` is to a span: the same record fields, with ``event`` where a span
    record has ``span``.

    Attributes:
        event: the rebuilt event (equal to the one that was reported).
        topic: the Kafka topic it was read from.
        partition: the partition.
        offset: the record's offset in that partition.
        key: the record key, or ``None``.
        headers: the record headers, in order; empty when there are none.
        timestamp_ms: the record's timestamp in epoch milliseconds, or ``None``.
    """

    event: Event
    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: tuple[Header, ...]
    timestamp_ms: int | None


def is_event_message(value: bytes | None) -> bool:
    """Whether a record value is framed as an event message (of any released event schema)."""
    if value is None or value[:2] != SINGLE_OBJECT_MARKER:
        return False
    return value.startswith(EVENT_HEADER) or (
        event_schema_for_fingerprint(value[2 : len(EVENT_HEADER)]) is not None
    )


def decode_event_record(value: bytes, message: Message) -> EventRecord:
    """Decode an event message and keep where it came from.

    Raises:
        DecodeError: the value is not a well-formed event message.
    """
    event = decode_event(value)
    timestamp_type, timestamp_ms = message.timestamp()
    return EventRecord(
        event,
        str(message.topic()),
        int(message.partition() or 0),
        int(message.offset() or 0),
        message.key(),
        record_headers(message.headers()),
        timestamp_ms if timestamp_type else None,
    )
