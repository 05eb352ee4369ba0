"""The contract between span producers and consumers.

The :class:`Span` value and its :class:`SpanBuilder` (pure data), the Avro schema
(``span.avsc`` and its history) and the codec, and the exception hierarchy rooted at
:class:`SpanstreamError`. Both ``spanstream.producer`` and ``spanstream.consumer`` depend on
this package; it depends on neither.
"""

from spanstream.schemas._codec import (
    SCHEMA_FINGERPRINT,
    SINGLE_OBJECT_MARKER,
    decode_span,
    encode_span,
)
from spanstream.schemas._errors import (
    BrokerError,
    ConfigError,
    DecodeError,
    EncodeError,
    ExtraMissingError,
    NotASystemTraceError,
    SpanstreamError,
)
from spanstream.schemas._ids import new_span_id, new_trace_id
from spanstream.schemas._span import (
    MAX_SPAN_DEPTH,
    AttributeValue,
    Span,
    SpanBuilder,
    SpanTooDeepError,
    scope_name,
)

__all__ = [
    "MAX_SPAN_DEPTH",
    "SCHEMA_FINGERPRINT",
    "SINGLE_OBJECT_MARKER",
    "AttributeValue",
    "BrokerError",
    "ConfigError",
    "DecodeError",
    "EncodeError",
    "ExtraMissingError",
    "NotASystemTraceError",
    "Span",
    "SpanBuilder",
    "SpanTooDeepError",
    "SpanstreamError",
    "decode_span",
    "encode_span",
    "new_span_id",
    "new_trace_id",
    "scope_name",
]
