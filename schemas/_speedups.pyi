"""Type stub of the optional C accelerator (``schemas/_speedups.c``)."""

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from spanstream.schemas._span import AttributeValue, Span, SpanBuilder

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
    """Hand over the Span class, its fields and slot descriptors, the error classes and constants.

    Raises TypeError when ``field_names`` (``_span.SPAN_FIELDS``) are not the C port's order.
    """

def decode_body(data: bytes, offset: int, /) -> Span:
    """Decode the current schema's body starting at ``offset`` (C port of the Python one)."""

def encode_framed(span: Span, header: bytes, /) -> bytes:
    """Return ``header`` and the Avro body of ``span`` (C port of the Python one)."""

def build_tree(
    builder: SpanBuilder,
    extra: Mapping[str, AttributeValue] | None,
    children_extra: Mapping[str, AttributeValue] | None,
    /,
) -> Span | None:
    """``SpanBuilder.build()`` without given ids, children included; None: Python builds it."""

def configure_builder(
    builder_type: type,
    slot_descriptors: tuple[object, ...],
    new_builder: Callable[..., Any],
    set_attribute: Callable[..., Any],
    /,
) -> object:
    """Hand over SpanBuilder's slots and reference methods; return the C ``set_attribute``."""

def configure_add_child(add_child: Callable[..., Any], /) -> object:
    """Hand over ``SpanBuilder.add_child``; return the C ``add_child``."""

def children_field(member_descriptor: object, /) -> Any:  # noqa: ANN401 - a descriptor
    """The ``Span.children`` descriptor that decodes a decoded tree's children when first read."""

def new_builder(scope: type | str, name: str, /) -> SpanBuilder:
    """``Span.builder(scope, name)``: a SpanBuilder."""

def new_trace_id() -> bytes:
    """A random, non-zero 16-byte trace id."""

def new_span_id() -> bytes:
    """A random, non-zero 8-byte span id."""

def seed_ids(seed: bytes, /) -> None:
    """Seed the id generator with 32 bytes."""
