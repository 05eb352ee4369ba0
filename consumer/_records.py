"""What the consumer hands to the application: one record per span, and batches of them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Final, Literal, Protocol, overload

from spanstream.schemas import Span
from spanstream.schemas.system import (
    CheckpointTrace,
    JobFailureTrace,
    JobInitializationTrace,
    read_system_trace,
)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from spanstream.consumer._event_records import EventRecord
    from spanstream.schemas import Event

__all__ = ["RECORD_FIELDS", "RECORD_SETTERS", "Header", "SpanBatch", "SpanRecord", "record_headers"]

Header = tuple[str, bytes | None]
"""One Kafka record header: its name and its value (``None`` for a header without a value)."""


class SpanRecord:
    """One consumed span and where it came from (immutable).

    Attributes:
        span: the rebuilt span (equal to the one that was reported).
        topic: the Kafka topic it was read from.
        partition: the partition.
        offset: the record's offset in that partition.
        key: the record key (the reporter keys by trace id), or ``None``.
        headers: the record headers, in order; empty when there are none.
        timestamp_ms: the broker (or producer) timestamp in epoch milliseconds, or ``None`` when
            the record carries none.

    Records compare and hash by these seven values, as a frozen dataclass would. A record the
    consumer makes reads its headers from the Kafka message the first time ``headers`` is
    asked for (turning librdkafka's headers into Python objects costs about as much as decoding
    the span, and most jobs never look at them).
    """

    __slots__ = (
        "_headers",
        "_message",
        "key",
        "offset",
        "partition",
        "span",
        "timestamp_ms",
        "topic",
    )

    __match_args__ = ("span", "topic", "partition", "offset", "key", "headers", "timestamp_ms")

    span: Span
    topic: str
    partition: int
    offset: int
    key: bytes | None
    timestamp_ms: int | None
    _headers: tuple[Header, ...] | None  # None: still to be read from _message
    _message: _HasHeaders | None

    def __init__(  # noqa: PLR0917 - the seven values, positional as a dataclass's
        self,
        span: Span,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        headers: tuple[Header, ...],
        timestamp_ms: int | None,
    ) -> None:
        for name, value in (
            ("span", span),
            ("topic", topic),
            ("partition", partition),
            ("offset", offset),
            ("key", key),
            ("_headers", headers),
            ("timestamp_ms", timestamp_ms),
            ("_message", None),
        ):
            object.__setattr__(self, name, value)

    @property
    def headers(self) -> tuple[Header, ...]:
        """The record headers, in order; empty when there are none."""
        headers = self._headers
        if headers is None:
            message = self._message
            if message is None:  # another thread read them meanwhile (it set _headers first)
                return self._headers  # type: ignore[return-value]
            headers = record_headers(message.headers())
            object.__setattr__(self, "_headers", headers)
            object.__setattr__(self, "_message", None)  # the message is not needed any more
        return headers

    @property
    def system_trace(self) -> CheckpointTrace | JobInitializationTrace | JobFailureTrace | None:
        """The typed view of a Flink system trace (Checkpoint, ...), or ``None`` for other spans."""
        return read_system_trace(self.span)

    def _values(self) -> tuple[object, ...]:
        return (
            self.span,
            self.topic,
            self.partition,
            self.offset,
            self.key,
            self.headers,
            self.timestamp_ms,
        )

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return (
            f"SpanRecord(span={self.span!r}, topic={self.topic!r}, partition={self.partition!r}, "
            f"offset={self.offset!r}, key={self.key!r}, headers={self.headers!r}, "
            f"timestamp_ms={self.timestamp_ms!r})"
        )

    def __setattr__(self, name: str, value: object) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


class _HasHeaders(Protocol):
    """A Kafka message: what a record reads its headers from."""

    def headers(self) -> object:
        """Librdkafka's headers: a list of ``(name, value)`` pairs, or ``None``."""


RECORD_FIELDS: Final = (
    "span",
    "topic",
    "partition",
    "offset",
    "key",
    "_headers",
    "timestamp_ms",
    "_message",
)
"""The slots the consumer's conversion loops fill, in this order (``_headers`` None and
``_message`` the Kafka message for a record whose headers are read when first asked for)."""

RECORD_SETTERS: Final = tuple(getattr(SpanRecord, name).__set__ for name in RECORD_FIELDS)
"""The slot setters of :class:`SpanRecord`, in :data:`RECORD_FIELDS` order.

The consumer's Python conversion loop builds records with ``object.__new__`` and these setters
(a third cheaper than a constructor that sets each field); its C loop writes the same slots.
"""


class SpanBatch:
    """Records returned by :meth:`SpanConsumer.poll_batch`, acknowledged together.

    The batch's offsets are committed only after :meth:`ack` (or the consumer's ``commit()``);
    an unacknowledged batch is delivered again after a crash or a rebalance (at-least-once).
    Acknowledging is idempotent.

    Example:
        >>> batch = SpanBatch((), lambda: None)
        >>> len(batch), batch.spans, batch.acked
        (0, (), False)
    """

    __slots__ = ("_ack", "_acked", "records")

    def __init__(
        self, records: tuple[SpanRecord | EventRecord, ...], ack: Callable[[], None]
    ) -> None:
        self.records = records
        """The records, in the order they were consumed (per partition, offset order): span
        records, and event records when the topic carries events."""
        self._ack = ack
        self._acked = False

    @property
    def spans(self) -> tuple[Span, ...]:
        """The spans of the span records, in order."""
        return tuple(record.span for record in self.records if type(record) is SpanRecord)

    @property
    def events(self) -> tuple[Event, ...]:
        """The events of the event records, in order."""
        return tuple(record.event for record in self.records if not isinstance(record, SpanRecord))

    @property
    def acked(self) -> bool:
        """Whether :meth:`ack` was called (or the consumer committed everything delivered)."""
        return self._acked

    def ack(self) -> None:
        """Mark every record of this batch processed; its offsets are committed from now on."""
        if not self._acked:
            self._acked = True
            self._ack()

    def to_arrow(self, *, attributes: Literal["map", "columns"] = "map") -> pa.Table:
        """This batch as a pyarrow Table (see :func:`spanstream.consumer.to_arrow`)."""
        from spanstream.consumer._analytics import to_arrow

        return to_arrow(self.records, attributes=attributes)

    def to_pandas(self, *, attributes: Literal["map", "columns"] = "columns") -> pd.DataFrame:
        """This batch as a pandas DataFrame (see :func:`spanstream.consumer.to_pandas`)."""
        from spanstream.consumer._analytics import to_pandas

        return to_pandas(self.records, attributes=attributes)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[SpanRecord | EventRecord]:
        return iter(self.records)

    @overload
    def __getitem__(self, index: int) -> SpanRecord | EventRecord: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[SpanRecord | EventRecord, ...]: ...
    def __getitem__(
        self, index: int | slice
    ) -> SpanRecord | EventRecord | tuple[SpanRecord | EventRecord, ...]:
        return self.records[index]

    def __bool__(self) -> bool:
        return bool(self.records)

    def __repr__(self) -> str:
        return f"SpanBatch({len(self.records)} records, acked={self._acked})"


def record_headers(headers: object) -> tuple[Header, ...]:
    """Kafka message headers as an immutable tuple of ``(name, bytes | None)``.

    librdkafka hands a list of pairs; confluent-kafka's types also allow a dict and str values.

    Example:
        >>> record_headers([("a", b"1"), ("b", "2")])
        (('a', b'1'), ('b', b'2'))
    """
    if not headers:
        return ()
    pairs: Iterable[tuple[str, str | bytes | None]] = (
        headers.items() if isinstance(headers, dict) else headers  # type: ignore[assignment]
    )
    return tuple(
        (name, value.encode() if isinstance(value, str) else value) for name, value in pairs
    )
