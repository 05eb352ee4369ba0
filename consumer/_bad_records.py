"""What happens to a record that is not a span: skip it, raise it, or dead-letter it.

Whatever the policy, a bad record never stops its partition and never crashes the consumer:
the consumer moves past it (after it was counted, raised to the application, or safely written
to the dead-letter topic) and commits past it like any processed record.
"""

from __future__ import annotations

import enum
from typing import Final

from spanstream.schemas import DecodeError

__all__ = ["BadRecordPolicy", "classify_bad_record"]

_CONFLUENT_MAGIC: Final = 0  # the first byte of the Confluent Schema Registry wire format


class BadRecordPolicy(enum.StrEnum):
    """What the consumer does with a record that does not decode as a span."""

    SKIP = "skip"
    """Count it (``ConsumerStats.bad_records``) and move on."""
    RAISE = "raise"
    """Raise its :class:`~spanstream.schemas.DecodeError` (with topic, partition, offset and the
    raw bytes); the application may catch it and keep iterating, which moves past the record."""
    DEAD_LETTER = "dead-letter"
    """Write it to the dead-letter topic (original key, value and headers, plus ``spanstream.dlq.*``
    headers naming the reason and origin), wait for the broker's acknowledgement, then move on.
    A record that can never be written whole (too large, not authorized) is dead-lettered as
    metadata only; see ``spanstream.consumer._dead_letter``."""


def classify_bad_record(value: bytes | None, error: DecodeError) -> DecodeError:
    """``error``, with a reason of its own for the bad records the codec cannot tell apart.

    The codec sees only bytes; the consumer also knows a tombstone (a record with a null value)
    from an empty value, and a Confluent Schema Registry message (magic byte 0) from garbage:
    they are reported as ``tombstone`` (with ``raw`` None), ``empty`` and ``confluent-framed``
    instead of ``bad-marker``/``malformed``. Other errors are returned unchanged.
    """
    if value is None:
        return DecodeError("a tombstone (a record with a null value)", reason="tombstone", raw=None)
    if not value:
        return DecodeError("an empty record value", reason="empty", raw=value)
    if error.reason == "bad-marker" and value[0] == _CONFLUENT_MAGIC:
        reworded = DecodeError(
            "a Confluent Schema Registry message (magic byte 0); give the consumer a "
            "schema_registry to read these",
            reason="confluent-framed",
            raw=value,
        )
        reworded.__cause__ = error
        return reworded
    return error
