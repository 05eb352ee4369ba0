"""Type stub of the consumer's optional C conversion loop (``consumer/_convert.c``)."""

from collections.abc import Callable
from typing import Any

from confluent_kafka import Message

from spanstream.schemas import Span

def configure(
    record_type: type,
    slot_descriptors: tuple[object, ...],
    message_type: type[Message],
    decode_body: Callable[[bytes, int], Span],
    marker: bytes,
    /,
) -> None:
    """Hand over SpanRecord's slots, the Message type, the body decoder and the header."""

def convert(
    messages: list[Message],
    start: int,
    out: list[Any],
    current: set[bytes],
    previous: set[bytes],
    window_size: int,
    /,
) -> int:
    """Convert the plain messages from ``start`` on; return the first index not converted."""
