"""The one exception hierarchy of spanstream.

Every error spanstream raises on purpose derives from :class:`SpanstreamError`, so an
application can catch them all in one place. The hierarchy lives with the contract
because both the producer and the consumer depend on the contract and never on each other.
"""

from __future__ import annotations

__all__ = [
    "BrokerError",
    "ConfigError",
    "DecodeError",
    "EncodeError",
    "ExtraMissingError",
    "NotASystemTraceError",
    "SpanKeyError",
    "SpanTypeError",
    "SpanValueError",
    "SpanstreamError",
]


class SpanstreamError(Exception):
    """The root of every error spanstream raises on purpose."""


class ConfigError(SpanstreamError, ValueError):
    """A configuration key has a value that is not accepted.

    The message names the key, the value and what would be accepted.

    Example:
        >>> str(ConfigError("traces.reporter.kafka.topic", "", "a non-empty topic name"))
        "traces.reporter.kafka.topic: '' is not accepted; expected a non-empty topic name"
    """

    def __init__(self, key: str, value: object, expected: str) -> None:
        self.key = key
        self.value = value
        self.expected = expected
        super().__init__(f"{key}: {value!r} is not accepted; expected {expected}")


class EncodeError(SpanstreamError, ValueError):
    """A span cannot be written in the wire format (for example it breaks a configured limit)."""


class DecodeError(SpanstreamError, ValueError):
    """Bytes that are not a span of any known schema version.

    It keeps the raw record, and where it came from when known, so that the record can be
    dead-lettered or inspected.

    Attributes:
        reason: a short machine-readable reason, e.g. ``"bad-marker"``, ``"unknown-fingerprint"``,
            ``"truncated"``, ``"malformed"``.
        raw: the bytes that failed to decode (``None`` for a Kafka tombstone, a null value).
        topic, partition, offset: the record's origin, when it came from Kafka.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        raw: bytes | None,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None:
        self.reason = reason
        self.raw = raw
        self.topic = topic
        self.partition = partition
        self.offset = offset
        super().__init__(message)

    def with_origin(self, *, topic: str, partition: int, offset: int) -> DecodeError:
        """Return a copy of this error that also names the Kafka record it came from."""
        located = DecodeError(
            f"{self.args[0]} (topic {topic!r}, partition {partition}, offset {offset})",
            reason=self.reason,
            raw=self.raw,
            topic=topic,
            partition=partition,
            offset=offset,
        )
        located.__cause__ = self.__cause__
        return located


class NotASystemTraceError(SpanstreamError, ValueError):
    """A span was read as a Flink system trace (Checkpoint, ...) that it is not."""


class ExtraMissingError(SpanstreamError, ImportError):
    """An optional feature was used without its extra installed; the message names the extra."""

    def __init__(self, feature: str, extra: str) -> None:
        self.extra = extra
        super().__init__(
            f"{feature} needs the optional '{extra}' dependencies: "
            f"pip install 'spanstream[{extra}]'"
        )


class BrokerError(SpanstreamError, RuntimeError):
    """A Kafka broker could not be found, reached or started; the message says which and why."""


class SpanValueError(SpanstreamError, ValueError):
    """A public function or method got an argument with a value it does not accept.

    The message names the argument, the value and what is accepted.
    """


class SpanTypeError(SpanstreamError, TypeError):
    """A public function or method got an argument of a type it does not accept."""


class SpanKeyError(SpanstreamError, KeyError):
    """A lookup by name found nothing; the message names the key and the names there are.

    It is a :class:`KeyError` too, so code that caught the plain ``KeyError`` still does.
    """

    def __str__(self) -> str:
        # KeyError's str() is the repr of its key; this error's argument is a sentence.
        return str(self.args[0]) if self.args else ""
