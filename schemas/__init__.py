"""The contract between span producers and consumers.

The :class:`Span` value and its :class:`SpanBuilder` (pure data), the Avro schema
(``span.avsc`` and its history) and the codec, and the exception hierarchy rooted at
:class:`SpanstreamError`. Both ``spanstream.producer`` and ``spanstream.consumer`` depend on
this package; it depends on neither.
"""

from spanstream.schemas._codec import (
    SCHEMA_FINGERPRINT,
    SINGLE_OBJECT_MARKER,
    SchemaRegistry,
    SpanCodec,
    decode_span,
    encode_span,
    encode_spans,
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
from spanstream.schemas._framing import Framing
from spanstream.schemas._ids import new_span_id, new_trace_id
from spanstream.schemas._schema_history import (
    CURRENT_SCHEMA_VERSION,
    SchemaHistory,
    SchemaVersion,
    schema_for_fingerprint,
)
from spanstream.schemas._span import (
    MAX_SPAN_DEPTH,
    AttributeValue,
    Span,
    SpanBuilder,
    SpanTooDeepError,
    scope_name,
)

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "MAX_SPAN_DEPTH",
    "SCHEMA_FINGERPRINT",
    "SINGLE_OBJECT_MARKER",
    "AttributeValue",
    "BrokerError",
    "ConfigError",
    "DecodeError",
    "EncodeError",
    "ExtraMissingError",
    "Framing",
    "NotASystemTraceError",
    "SchemaHistory",
    "SchemaRegistry",
    "SchemaVersion",
    "Span",
    "SpanBuilder",
    "SpanCodec",
    "SpanTooDeepError",
    "SpanstreamError",
    "decode_span",
    "encode_span",
    "encode_spans",
    "new_span_id",
    "new_trace_id",
    "schema_for_fingerprint",
    "scope_name",
]
