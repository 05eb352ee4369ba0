"""The dead-letter producer: bad records to a dead-letter topic, durably, whatever their size.

A bad record counts as handled only once the broker acknowledged its dead-letter copy, so the
consumer never commits past a record that is neither a span nor safely dead-lettered. What a
failed write leads to depends on whether it can succeed later:

* **transient** (the broker is down or slow, a leader moves, the topic does not exist): the
  record's copy stays in librdkafka, which retries it with its own backoff
  (``retry.backoff.ms`` up to ``retry.backoff.max.ms``) until ``message.timeout.ms``;
  meanwhile :meth:`DeadLetterSink.send` raises :class:`DeadLetterError` after
  ``flush_timeout_s`` and the consumer's next call waits on the same copy again (or, once it
  timed out, writes it again). Nothing is skipped.
* **permanent** (too large for the topic, not authorized, an invalid topic or record): the
  record can never be written as it is, so a *metadata-only* copy is written instead: no value,
  every ``spanstream.dlq.*`` header, the original size and the SHA-256 of the value, and the
  error that kept the value out. It is counted (``ConsumerStats.dead_letter_metadata_only``)
  and the consumer moves on. When even that copy fails permanently (the topic itself refuses
  every write), the record is counted (``dead_letter_dropped``), logged, and the consumer
  moves on rather than stop the partition for good.

Size: the producer accepts records up to librdkafka's largest ``message.max.bytes`` (unless
``dead_letter_config`` says otherwise), and a dead-letter topic the consumer creates (it does so
when the first bad record arrives and the topic does not exist) gets a ``max.message.bytes``
that holds the largest record the source topic can: the source topic's own limit plus room for
the dead-letter headers.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Final

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource  # not re-exported for typing
from confluent_kafka.cimpl import NewTopic  # typed here; confluent_kafka.admin does not export it

from spanstream.consumer._errors import DeadLetterError
from spanstream.consumer._records import record_headers
from spanstream.kafka import RateLimiter, connection_settings, kafka_error_text, scrub
from spanstream.schemas import DecodeError

__all__ = [
    "DEAD_LETTER_HEADROOM_BYTES",
    "DLQ_ERROR_HEADER",
    "DLQ_GROUP_HEADER",
    "DLQ_OFFSET_HEADER",
    "DLQ_OMITTED_HEADER",
    "DLQ_PARTITION_HEADER",
    "DLQ_REASON_HEADER",
    "DLQ_TIMESTAMP_HEADER",
    "DLQ_TOPIC_HEADER",
    "DLQ_VALUE_BYTES_HEADER",
    "DLQ_VALUE_SHA256_HEADER",
    "DeadLetterOutcome",
    "DeadLetterSink",
]

_LOG: Final = logging.getLogger("spanstream.consumer.dead_letter")

DLQ_REASON_HEADER: Final = "spanstream.dlq.reason"
"""Dead-letter header: the :attr:`DecodeError.reason` (``bad-marker``, ``tombstone``...)."""
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
DLQ_OMITTED_HEADER: Final = "spanstream.dlq.omitted"
"""Dead-letter header, on a metadata-only copy only: why the value (and the original headers)
were left out, as Kafka's error name (``MSG_SIZE_TOO_LARGE``, ``TOPIC_AUTHORIZATION_FAILED``...)."""
DLQ_VALUE_BYTES_HEADER: Final = "spanstream.dlq.value_bytes"
"""Dead-letter header, on a metadata-only copy: the original value's size, as ASCII decimal."""
DLQ_VALUE_SHA256_HEADER: Final = "spanstream.dlq.value_sha256"
"""Dead-letter header, on a metadata-only copy: the SHA-256 of the original value, in hex."""

DEAD_LETTER_HEADROOM_BYTES: Final = 64 * 1024
"""What a dead-letter copy may need beyond the original record: the ``spanstream.dlq.*``
headers (the error text included) and the record's framing."""

_PRODUCER_MAX_MESSAGE_BYTES: Final = 1_000_000_000  # librdkafka's largest message.max.bytes
_DEFAULT_TOPIC_MAX_MESSAGE_BYTES: Final = 1_048_588  # Kafka's default max.message.bytes
_ADMIN_TIMEOUT_S: Final = 10.0
_KEY_KEPT_MAX_BYTES: Final = 1024

# Errors a retry cannot cure: the record (or any record) cannot be written to this topic.
_PERMANENT: Final = frozenset(
    {
        KafkaError.MSG_SIZE_TOO_LARGE,  # the broker's, and librdkafka's own check at produce()
        KafkaError.INVALID_MSG_SIZE,
        KafkaError.INVALID_MSG,
        KafkaError.INVALID_RECORD,
        KafkaError.RECORD_LIST_TOO_LARGE,
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
        KafkaError.TOPIC_EXCEPTION,  # an invalid topic name
        KafkaError.POLICY_VIOLATION,
        KafkaError._INVALID_ARG,
    }
)


class DeadLetterOutcome:
    """What became of a bad record given to :meth:`DeadLetterSink.send`."""

    WRITTEN: Final = "written"
    """The whole record (key, value, headers) is on the dead-letter topic."""
    METADATA_ONLY: Final = "metadata-only"
    """It could never be written whole; its metadata-only copy is on the topic."""
    DROPPED: Final = "dropped"
    """Not even the metadata-only copy could be written (permanent failure); counted, logged."""


class _Pending:
    """A dead-letter copy handed to librdkafka whose delivery report has not come yet."""

    __slots__ = ("key", "outcome")

    def __init__(self, key: tuple[str, int, int]) -> None:
        self.key = key
        self.outcome: list[KafkaError | None] = []


class DeadLetterSink:
    """Writes bad records to a dead-letter topic, synchronously and durably (acks=all).

    See the module documentation for what a failed write leads to and how the dead-letter
    topic is sized.
    """

    __slots__ = (
        "_admin",
        "_checked_sources",
        "_config",
        "_flush_timeout_s",
        "_group",
        "_log_limit",
        "_pending",
        "_producer",
        "topic",
    )

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
            "message.max.bytes": _PRODUCER_MAX_MESSAGE_BYTES,
            **producer_config,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 0,
        }
        self._config = config
        self._producer = Producer(config)
        self._admin: AdminClient | None = None
        self._checked_sources: set[str] = set()
        self._pending: _Pending | None = None
        self._log_limit = RateLimiter()

    def __repr__(self) -> str:
        return f"DeadLetterSink(topic={self.topic!r}, group={self._group!r})"

    def send(self, error: DecodeError, message: Message) -> str:
        """Write ``message`` (which failed with ``error``) to the dead-letter topic and wait.

        Returns:
            A :class:`DeadLetterOutcome`: ``written``, ``metadata-only`` or ``dropped``.

        Raises:
            DeadLetterError: a transient failure: no acknowledgement within the flush timeout,
                or an error a retry may cure. Calling again with the same message retries.
        """
        source = str(message.topic())
        self._ensure_topic(source)
        headers = self._dlq_headers(error, message)
        key = (source, int(message.partition() or 0), int(message.offset() or 0))
        pending = self._pending
        if pending is None or pending.key != key:
            pending = _Pending(key)
            original = list(record_headers(message.headers()))
            try:
                self._produce(pending, message.key(), message.value(), original + headers)
            except KafkaException as exc:
                code = exc.args[0].code() if exc.args else None
                if code not in _PERMANENT:
                    raise self._failure(error, kafka_error_text(exc)) from exc
                return self._metadata_only(error, message, headers, kafka_error_text(exc))
            except BufferError as exc:  # librdkafka's queue is full: transient
                raise self._failure(error, str(exc)) from exc
            self._pending = pending
        outcome = self._wait(pending, error)
        if outcome is None:
            return DeadLetterOutcome.WRITTEN
        if outcome.code() not in _PERMANENT:
            raise self._failure(error, str(outcome))
        return self._metadata_only(error, message, headers, outcome.name())

    def close(self) -> None:
        """Flush what is left and release the producer."""
        self._producer.flush(self._flush_timeout_s)

    # -- writing --------------------------------------------------------------------------------

    def _produce(
        self,
        pending: _Pending,
        key: bytes | str | None,
        value: bytes | str | None,
        headers: list[tuple[str, str | bytes | None]],
    ) -> None:
        outcome = pending.outcome
        self._producer.produce(
            self.topic,
            value=value,
            key=key,
            headers=headers,
            on_delivery=lambda err, _msg: outcome.append(err),
        )

    def _wait(self, pending: _Pending, error: DecodeError) -> KafkaError | None:
        """The delivery report of ``pending`` (then it is settled); DeadLetterError meanwhile."""
        self._producer.flush(self._flush_timeout_s)
        if not pending.outcome:
            # Still in librdkafka, which keeps retrying it: the next call waits on it again.
            raise self._failure(error, "no acknowledgement within the flush timeout")
        self._pending = None
        return pending.outcome[0]

    def _metadata_only(
        self,
        error: DecodeError,
        message: Message,
        headers: list[tuple[str, str | bytes | None]],
        why: str,
    ) -> str:
        value = message.value()
        meta = list(headers)
        meta.append((DLQ_OMITTED_HEADER, why.encode()))
        if value is not None:
            data = value if isinstance(value, bytes) else value.encode()
            meta.append((DLQ_VALUE_BYTES_HEADER, str(len(data)).encode()))
            meta.append((DLQ_VALUE_SHA256_HEADER, hashlib.sha256(data).hexdigest().encode()))
        key = message.key()
        if key is not None and len(key) > _KEY_KEPT_MAX_BYTES:
            key = None
        pending = _Pending(("", -1, -1))
        try:
            self._produce(pending, key, None, meta)
        except KafkaException as exc:
            code = exc.args[0].code() if exc.args else None
            if code not in _PERMANENT:
                raise self._failure(error, kafka_error_text(exc)) from exc
            return self._dropped(error, kafka_error_text(exc))
        except BufferError as exc:
            raise self._failure(error, str(exc)) from exc
        self._pending = None
        self._producer.flush(self._flush_timeout_s)
        if not pending.outcome:
            raise self._failure(error, "no acknowledgement of the metadata-only copy in time")
        outcome = pending.outcome[0]
        if outcome is None:
            if self._log_limit.allow("metadata-only") is not None:
                _LOG.warning("dead-lettered the metadata only of a bad record (%s): %s", why, error)
            return DeadLetterOutcome.METADATA_ONLY
        if outcome.code() not in _PERMANENT:
            raise self._failure(error, str(outcome))
        return self._dropped(error, outcome.name())

    def _dropped(self, error: DecodeError, why: str) -> str:
        if self._log_limit.allow("dropped") is not None:
            _LOG.error(
                "could not dead-letter a bad record to %r, not even its metadata (%s); it is "
                "counted as dead_letter_dropped and skipped: %s",
                self.topic,
                scrub(why, self._config),
                error,
            )
        return DeadLetterOutcome.DROPPED

    def _failure(self, error: DecodeError, why: str) -> DeadLetterError:
        text = scrub(why, self._config)
        return DeadLetterError(
            f"could not dead-letter the record to {self.topic!r}: {text}", error=error
        )

    def _dlq_headers(
        self, error: DecodeError, message: Message
    ) -> list[tuple[str, str | bytes | None]]:
        headers: list[tuple[str, str | bytes | None]] = [
            (DLQ_REASON_HEADER, error.reason.encode()),
            (DLQ_ERROR_HEADER, str(error).encode()),
            (DLQ_TOPIC_HEADER, str(message.topic()).encode()),
            (DLQ_PARTITION_HEADER, str(message.partition()).encode()),
            (DLQ_OFFSET_HEADER, str(message.offset()).encode()),
            (DLQ_GROUP_HEADER, self._group.encode()),
        ]
        timestamp_type, timestamp_ms = message.timestamp()
        if timestamp_type != 0:  # TIMESTAMP_NOT_AVAILABLE
            headers.append((DLQ_TIMESTAMP_HEADER, str(timestamp_ms).encode()))
        return headers

    # -- the topic ------------------------------------------------------------------------------

    def _ensure_topic(self, source: str) -> None:
        """Create the dead-letter topic, sized for ``source``'s records, if it does not exist.

        Done once per source topic; a failure (no permission, the broker away) is logged and
        the write goes ahead (the broker may auto-create the topic, with its default limit).
        """
        if source in self._checked_sources:
            return
        self._checked_sources.add(source)
        try:
            admin = self._admin_client()
            topics = admin.list_topics(timeout=_ADMIN_TIMEOUT_S).topics
            if self.topic in topics and topics[self.topic].error is None:
                return
            limit = self._max_message_bytes(admin, source)
            futures = admin.create_topics(
                [
                    NewTopic(
                        self.topic,
                        -1,  # the broker's num.partitions
                        -1,  # the broker's default.replication.factor
                        config={"max.message.bytes": str(limit + DEAD_LETTER_HEADROOM_BYTES)},
                    )
                ],
                operation_timeout=_ADMIN_TIMEOUT_S,
            )
            futures[self.topic].result(timeout=_ADMIN_TIMEOUT_S)
            _LOG.info(
                "created the dead-letter topic %r (max.message.bytes %d)",
                self.topic,
                limit + DEAD_LETTER_HEADROOM_BYTES,
            )
        except Exception as exc:  # noqa: BLE001 - any admin failure: write anyway (see above)
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                _LOG.warning(
                    "could not check or create the dead-letter topic %r: %s",
                    self.topic,
                    scrub(str(exc), self._config),
                )

    def _max_message_bytes(self, admin: AdminClient, source: str) -> int:
        resource = ConfigResource(ConfigResource.Type.TOPIC, source)
        try:
            described = admin.describe_configs([resource], request_timeout=_ADMIN_TIMEOUT_S)
            entries = described[resource].result(timeout=_ADMIN_TIMEOUT_S)
            return int(entries["max.message.bytes"].value)
        except Exception:  # noqa: BLE001 - not allowed to describe it: Kafka's default limit
            return _DEFAULT_TOPIC_MAX_MESSAGE_BYTES

    def _admin_client(self) -> AdminClient:
        if self._admin is None:
            conf = connection_settings(self._config)
            for key in ("logger", "error_cb"):
                if key in self._config:
                    conf[key] = self._config[key]
            self._admin = AdminClient(conf)  # type: ignore[arg-type]  # callables are allowed
        return self._admin
