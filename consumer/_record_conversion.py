"""Consumed Kafka messages into the consumer's items: records, or markers for the others.

The conversion loop is written twice on purpose: in C (``consumer/_convert.c``, the plain span
messages) and here (the reference, and every other case). A differential test
(``tests/unit/test_consumer_convert.py``) holds them to each other.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any, Final

from confluent_kafka import KafkaError, Message

from spanstream.consumer._bad_records import BadRecordPolicy, classify_bad_record
from spanstream.consumer._broker_health import ErrorLog
from spanstream.consumer._dead_letter import DeadLetterOutcome, DeadLetterSink
from spanstream.consumer._duplicates import DuplicateWindow
from spanstream.consumer._errors import DeadLetterError
from spanstream.consumer._event_records import (
    EventRecord,
    decode_event_record,
    is_event_message,
)
from spanstream.consumer._record_queue import Handled, Item, Raise, Retry
from spanstream.consumer._records import RECORD_FIELDS, RECORD_SETTERS, SpanRecord
from spanstream.consumer._stats import ConsumerCounters
from spanstream.kafka import LOG_INTERVAL_S
from spanstream.schemas import (
    SCHEMA_FINGERPRINT,
    SINGLE_OBJECT_MARKER,
    BrokerError,
    DecodeError,
    Span,
    SpanCodec,
    decode_span,
)

# The schemas' C decoder, handed to the C loop: the one cross-package wiring of the accelerator.
from spanstream.schemas._implementation import C as _SCHEMAS_C

__all__ = ["RecordConverter"]

_LOG = logging.getLogger("spanstream.consumer")


def _load_fast_convert() -> (
    Callable[[list[Message], int, list[Any], set[bytes], set[bytes], int], int] | None
):
    """The C conversion loop (``spanstream.consumer._convert``), configured; None without it.

    It needs the schemas' C decoder too, so it is off whenever that is (not built, or
    ``SPANSTREAM_NO_SPEEDUPS=1``).
    """
    if _SCHEMAS_C is None:
        return None
    try:
        from spanstream.consumer import _convert
    except ImportError:
        return None
    _convert.configure(
        SpanRecord,
        tuple(SpanRecord.__dict__[name] for name in RECORD_FIELDS),
        Message,
        _SCHEMAS_C.decode_body,
        SINGLE_OBJECT_MARKER + SCHEMA_FINGERPRINT,
    )
    return _convert.convert


_FAST_CONVERT: Final = _load_fast_convert()


class RecordConverter:
    """Converts consumed messages, applying the duplicate window and the bad-record policy.

    Args:
        counters: the consumer's counters (records consumed, duplicates, bad records...).
        errors: where Kafka error events are counted and logged.
        policy: the bad-record policy.
        dead_letters: the dead-letter sink (with the ``dead-letter`` policy only).
        confluent: a Confluent-framing codec (with a schema registry only).
        window: the window of recent span ids.
        drop_duplicates: drop (rather than deliver) spans seen within the window.
    """

    def __init__(
        self,
        *,
        counters: ConsumerCounters,
        errors: ErrorLog,
        policy: BadRecordPolicy,
        dead_letters: DeadLetterSink | None,
        confluent: SpanCodec | None,
        window: DuplicateWindow,
        drop_duplicates: bool,
    ) -> None:
        self.counters = counters
        self.window = window
        self._errors = errors
        self._policy = policy
        self._dead_letters = dead_letters
        self._confluent = confluent
        self._drop_duplicates = drop_duplicates
        self._bad_logged: dict[str, float] = {}
        self._decode = decode_span

    def convert(self, raw: list[Message]) -> tuple[list[Item], int, list[Message]]:  # noqa: PLR0915 - one tight loop on purpose: a call per message costs
        """Convert ``raw``: the items, how many are markers, and the messages left to convert.

        Kafka error events are counted and dropped; a bad record becomes a marker per the policy
        (and is dead-lettered here); a dropped duplicate becomes a marker. If dead-lettering
        fails, conversion stops there: a ``Retry`` marker ends the items and the messages from
        the failed one on are returned, to be converted again.

        Raises:
            BrokerError: a fatal Kafka error.
        """
        items: list[Item] = []
        left: list[Message] = []
        append = items.append
        decode = self._decode
        window = self.window
        current, previous, size = window.current, window.previous, window.size
        drop_duplicates = self._drop_duplicates
        new_record = object.__new__
        (
            set_span,
            set_topic,
            set_partition,
            set_offset,
            set_key,
            set_headers,
            set_ts,
            set_message,
        ) = RECORD_SETTERS
        # The C loop converts the plain messages and stops at any other; the loop below (the
        # reference) handles that one and hands back. See consumer/_convert.c.
        fast = _FAST_CONVERT if decode is decode_span else None
        consumed = duplicates = dropped = markers = 0
        index, count = 0, len(raw)
        while index < count:
            if fast is not None:
                converted_upto = fast(raw, index, items, current, previous, size)
                consumed += converted_upto - index
                index = converted_upto
                if index >= count:
                    break
            message = raw[index]
            index += 1
            error = message.error()
            if error is not None:
                self._on_message_error(error)
                continue
            consumed += 1
            value = message.value()
            try:
                span: Span = decode(value)  # type: ignore[arg-type]  # None: a tombstone
            except DecodeError as exc:
                decoded = self._decode_other(value, exc)
                if isinstance(decoded, DecodeError):
                    markers += 1  # event records take the queue's general path too
                    try:
                        append(self._not_a_span_item(decoded, value, message))
                    except DeadLetterError as failure:
                        consumed -= 1  # it is read again
                        append(Retry(failure))
                        left = raw[index - 1 :]
                        break
                    continue
                span = decoded
            span_id = span.span_id
            if span_id in current or span_id in previous:
                duplicates += 1
                if drop_duplicates:
                    dropped += 1
                    markers += 1
                    append(Handled(message.topic(), message.partition(), message.offset()))  # type: ignore[arg-type]
                    continue
            elif size:
                if len(current) >= size:
                    window.remember(span_id)  # rotates the generations
                    current, previous = window.current, window.previous
                else:
                    current.add(span_id)
            timestamp_type, timestamp_ms = message.timestamp()
            # SpanRecord(span, topic, ...) slot by slot: see RECORD_SETTERS.
            record = new_record(SpanRecord)
            set_span(record, span)
            set_topic(record, message.topic())
            set_partition(record, message.partition())
            set_offset(record, message.offset())
            set_key(record, message.key())
            set_headers(record, None)  # read from the message when first asked for
            set_ts(record, timestamp_ms if timestamp_type else None)
            set_message(record, message)
            append(record)
        counters = self.counters
        counters.records_consumed += consumed
        counters.duplicate_spans += duplicates
        counters.duplicates_dropped += dropped
        return items, markers, left

    def _not_a_span_item(
        self, exc: DecodeError, value: bytes | None, message: Message
    ) -> EventRecord | Handled | Raise:
        """An event record when the message is one (dispatched by fingerprint), else a marker.

        Raises:
            DeadLetterError: as :meth:`_bad_record_item`.
        """
        if value is not None and is_event_message(value):
            try:
                return decode_event_record(value, message)
            except DecodeError as event_error:
                return self._bad_record_item(event_error, message)
        return self._bad_record_item(exc, message)

    def _decode_other(self, value: bytes | None, error: DecodeError) -> Span | DecodeError:
        """A Confluent-framed span (with a schema registry), or the bad record's error.

        The error's reason is told apart: tombstone, empty, confluent-framed, or the codec's.
        """
        confluent = self._confluent
        if confluent is not None and value and value[0] == 0:
            try:
                return confluent.decode(value)
            except DecodeError as framed:
                return framed
        return classify_bad_record(value, error)

    def _bad_record_item(self, exc: DecodeError, message: Message) -> Handled | Raise:
        """Apply the bad-record policy to one message; the marker that stands for it.

        Raises:
            DeadLetterError: the dead-letter write failed (nothing was counted as handled).
        """
        topic = str(message.topic())
        partition = int(message.partition() or 0)
        offset = int(message.offset() or 0)
        error = exc.with_origin(topic=topic, partition=partition, offset=offset)
        error.__cause__ = exc
        counters = self.counters
        if self._policy is BadRecordPolicy.DEAD_LETTER:
            assert self._dead_letters is not None
            try:
                outcome = self._dead_letters.send(error, message)
            except DeadLetterError:
                counters.dead_letter_failures += 1
                raise
            if outcome == DeadLetterOutcome.WRITTEN:
                counters.dead_lettered += 1
            elif outcome == DeadLetterOutcome.METADATA_ONLY:
                counters.dead_lettered += 1
                counters.dead_letter_metadata_only += 1
            else:
                counters.dead_letter_dropped += 1
        counters.bad_records_by_reason[error.reason] += 1
        now = time.monotonic()
        if now - self._bad_logged.get(error.reason, -math.inf) >= LOG_INTERVAL_S:
            # A flood of poison is counted in full and logged once a minute per reason.
            self._bad_logged[error.reason] = now
            _LOG.warning(
                "bad record (%s policy; %d so far): %s",
                self._policy.value,
                counters.bad_records_by_reason[error.reason],
                error,
            )
        if self._policy is BadRecordPolicy.RAISE:
            return Raise(topic, partition, offset, error)
        return Handled(topic, partition, offset)

    def _on_message_error(self, error: KafkaError) -> None:
        if error.fatal():
            raise BrokerError(f"the consumer hit a fatal Kafka error: {error}")
        self._errors.record(error)  # counted, and logged once a minute per kind
