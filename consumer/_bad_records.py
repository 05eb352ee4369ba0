"""What happens to a record that is not a span: skip it, raise it, or dead-letter it.

Whatever the policy, a bad record never stops its partition and never crashes the consumer:
the consumer moves past it (after it was counted, raised to the application, or safely written
to the dead-letter topic) and commits past it like any processed record.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from spanstream.consumer._errors import DeadLetterError
from spanstream.consumer._records import record_headers
from spanstream.schemas import DecodeError

__all__ = [
    "DLQ_ERROR_HEADER",
    "DLQ_GROUP_HEADER",
    "DLQ_OFFSET_HEADER",
    "DLQ_PARTITION_HEADER",
    "DLQ_REASON_HEADER",
    "DLQ_TIMESTAMP_HEADER",
    "DLQ_TOPIC_HEADER",
    "BadRecordPolicy",
    "DeadLetterSink",
]

DLQ_REASON_HEADER: Final = "spanstream.dlq.reason"
"""Dead-letter header: the :attr:`DecodeError.reason` (``bad-marker``, ``truncated``...)."""
DLQ_ERROR_HEADER: Final = "spanstream.dlq.error"
"""Dead-letter header: the human-readable error message."""
DLQ_TOPIC_HEADER: Final = "spanstream.dlq.topic"
"""Dead-letter header: the topic the record was read from."""
DLQ_PARTITION_HEADER: Final = "spanstream.dlq.partition"
"""Dead-letter header: its partition, as ASCII decimal."""
DLQ_OFFSET_HEADER: Final = "spanstream.dlq.offset"
"""Dead-letter header: its offset, as ASCII decimal."""
DLQ_TIMESTAMP_HEADER: Final = "spanstream.dlq.timestamp_ms"
"""Dead-letter header: its original timestamp in epoch ms, as ASCII decimal (when it had one)."""
DLQ_GROUP_HEADER: Final = "spanstream.dlq.group"
"""Dead-letter header: the consumer group that rejected it."""


class BadRecordPolicy(enum.StrEnum):
    """What the consumer does with a record that does not decode as a span."""

    SKIP = "skip"
    """Count it (``ConsumerStats.bad_records``) and move on."""
    RAISE = "raise"
    """Raise its :class:`~spanstream.schemas.DecodeError` (with topic, partition, offset and the
    raw bytes); the application may catch it and keep iterating, which moves past the record."""
    DEAD_LETTER = "dead-letter"
    """Write it to the dead-letter topic (original key, value and headers, plus ``spanstream.dlq.*``
    headers naming the reason and origin), wait for the broker's acknowledgement, then move on."""


class DeadLetterSink:
    """Writes bad records to a dead-letter topic, synchronously and durably (acks=all).

    A record counts as handled only once the broker acknowledged its dead-letter copy, so the
    consumer never commits past a record that is neither a span nor safely dead-lettered.
    """

    __slots__ = ("_flush_timeout_s", "_group", "_producer", "topic")

    def __init__(
        self,
        topic: str,
        producer_config: Mapping[str, object],
        *,
        group_id: str,
        flush_timeout_s: float = 30.0,
    ) -> None:
        self.topic = topic
        self._group = group_id
        self._flush_timeout_s = flush_timeout_s
        config: dict[str, object] = {
            **producer_config,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 0,
        }
        self._producer = Producer(config)

    def send(self, error: DecodeError, message: Message) -> None:
        """Write ``message`` (which failed with ``error``) to the dead-letter topic and wait.

        Raises:
            DeadLetterError: the broker did not acknowledge it within the flush timeout.
        """
        headers: list[tuple[str, str | bytes | None]] = list(record_headers(message.headers()))
        headers.extend(
            [
                (DLQ_REASON_HEADER, error.reason.encode()),
                (DLQ_ERROR_HEADER, str(error).encode()),
                (DLQ_TOPIC_HEADER, str(message.topic()).encode()),
                (DLQ_PARTITION_HEADER, str(message.partition()).encode()),
                (DLQ_OFFSET_HEADER, str(message.offset()).encode()),
                (DLQ_GROUP_HEADER, self._group.encode()),
            ]
        )
        timestamp_type, timestamp_ms = message.timestamp()
        if timestamp_type != 0:  # TIMESTAMP_NOT_AVAILABLE
            headers.append((DLQ_TIMESTAMP_HEADER, str(timestamp_ms).encode()))
        outcome: list[KafkaError | None] = []
        try:
            self._producer.produce(
                self.topic,
                value=message.value(),
                key=message.key(),
                headers=headers,
                on_delivery=lambda err, _msg: outcome.append(err),
            )
            self._producer.flush(self._flush_timeout_s)
        except (KafkaException, BufferError) as exc:
            raise DeadLetterError(
                f"could not dead-letter the record to {self.topic!r}: {exc}", error=error
            ) from exc
        if not outcome or outcome[0] is not None:
            why = "no acknowledgement within the flush timeout" if not outcome else outcome[0]
            raise DeadLetterError(
                f"could not dead-letter the record to {self.topic!r}: {why}", error=error
            )

    def close(self) -> None:
        """Flush what is left and release the producer."""
        self._producer.flush(self._flush_timeout_s)
