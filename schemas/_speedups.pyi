"""Type stub of the optional C accelerator (``schemas/_speedups.c``)."""

from types import MappingProxyType

from spanstream.schemas._span import AttributeValue, Span

def configure(
    span_type: type[Span],
    field_names: tuple[str, ...],
    descriptors: tuple[object, ...],
    body_error: type[Exception],
    encode_error: type[Exception],
    too_deep_error: type[Exception],
    empty_attributes: MappingProxyType[str, AttributeValue],
    max_depth: int,
    /,
) -> None:
    """Hand over the Span class, its slot descriptors, the error classes and the constants."""

def decode_body(data: bytes, offset: int, /) -> Span:
    """Decode the current schema's body starting at ``offset`` (C port of the Python one)."""

def encode_framed(span: Span, header: bytes, /) -> bytes:
    """Return ``header`` and the Avro body of ``span`` (C port of the Python one)."""
