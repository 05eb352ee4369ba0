"""The contract between span producers and consumers.

The :class:`Span` value and its :class:`SpanBuilder` (pure data), the :class:`Event` value and
its :class:`EventBuilder`, the Avro schemas (``span.avsc``, ``event.avsc`` and their history),
their codecs, the schema history, the record-header names and fingerprints, and the exception
hierarchy rooted at :class:`SpanstreamError`. Flink's own system traces and events (the
``Checkpoint`` span, ``JobStatusChangeEvent``, ... and their typed views) are in the public
submodule :mod:`spanstream.schemas.system`. Both ``spanstream.producer`` and
``spanstream.consumer`` depend on this package; it depends on neither.
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
    SpanKeyError,
    SpanstreamError,
    SpanTypeError,
    SpanValueError,
)
from spanstream.schemas._event import EVENT_ID_BYTES, Event, EventBuilder, new_event_id
from spanstream.schemas._event_codec import (
    EVENT_SCHEMA_FINGERPRINT,
    EventCodec,
    decode_event,
    encode_event,
)
from spanstream.schemas._framing import Framing
from spanstream.schemas._headers import (
    CONTENT_TYPE,
    HEADER_CONTENT_TYPE,
    HEADER_PRODUCER,
    HEADER_SCHEMA_FINGERPRINT,
)
from spanstream.schemas._implementation import SPEEDUPS, new_span_id, new_trace_id
from spanstream.schemas._schema_history import (
    CURRENT_EVENT_SCHEMA_VERSION,
    CURRENT_SCHEMA_VERSION,
    SchemaHistory,
    SchemaVersion,
    default_event_history,
    event_schema_for_fingerprint,
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
    "CONTENT_TYPE",
    "CURRENT_EVENT_SCHEMA_VERSION",
    "CURRENT_SCHEMA_VERSION",
    "EVENT_ID_BYTES",
    "EVENT_SCHEMA_FINGERPRINT",
    "HEADER_CONTENT_TYPE",
    "HEADER_PRODUCER",
    "HEADER_SCHEMA_FINGERPRINT",
    "MAX_SPAN_DEPTH",
    "SCHEMA_FINGERPRINT",
    "SINGLE_OBJECT_MARKER",
    "SPEEDUPS",
    "AttributeValue",
    "BrokerError",
    "ConfigError",
    "DecodeError",
    "EncodeError",
    "Event",
    "EventBuilder",
    "EventCodec",
    "ExtraMissingError",
    "Framing",
    "NotASystemTraceError",
    "SchemaHistory",
    "SchemaRegistry",
    "SchemaVersion",
    "Span",
    "SpanBuilder",
    "SpanCodec",
    "SpanKeyError",
    "SpanTooDeepError",
    "SpanTypeError",
    "SpanValueError",
    "SpanstreamError",
    "decode_event",
    "decode_span",
    "default_event_history",
    "encode_event",
    "encode_span",
    "encode_spans",
    "event_schema_for_fingerprint",
    "new_event_id",
    "new_span_id",
    "new_trace_id",
    "schema_for_fingerprint",
    "scope_name",
]
