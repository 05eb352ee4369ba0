"""OpenTelemetry for spanstream: spans and events as OTLP, shared by producer and consumer.

The mapping of spanstream spans to OpenTelemetry spans (ids kept, scope as instrumentation
scope, ``<>`` stripped from keys) and of events to log records, and the OTLP exporters (gRPC or
HTTP) configured from Flink's ``exporter.*`` keys. The ``otel`` trace and event reporters
(``spanstream.producer``) and ``spanstream forward`` (``spanstream.consumer``) use it.

Needs the ``spanstream[otel]`` extra; this package depends on ``spanstream.schemas`` only.
"""

from spanstream.otel._client import OtlpClient, OtlpExportError, export_within
from spanstream.otel._encode import TraceRequestEncoder
from spanstream.otel._exporters import log_exporter
from spanstream.otel._logs import (
    EVENT_ID_ATTRIBUTE,
    EVENT_NAME_ATTRIBUTE,
    LogRequestEncoder,
    to_otel_log,
)
from spanstream.otel._resources import export_succeeded, flink_resource, make_resource
from spanstream.otel._settings import (
    DEFAULT_TIMEOUT_S,
    OtlpCompression,
    OtlpProtocol,
    OtlpSettings,
    parse_duration_s,
    service_resource_attributes,
)
from spanstream.otel._spans import (
    CLAMPED_END_ATTRIBUTE,
    FLINK_RESOURCE_VARIABLES,
    attribute_key,
    otel_attributes,
    to_otel_spans,
)

__all__ = [
    "CLAMPED_END_ATTRIBUTE",
    "DEFAULT_TIMEOUT_S",
    "EVENT_ID_ATTRIBUTE",
    "EVENT_NAME_ATTRIBUTE",
    "FLINK_RESOURCE_VARIABLES",
    "LogRequestEncoder",
    "OtlpClient",
    "OtlpCompression",
    "OtlpExportError",
    "OtlpProtocol",
    "OtlpSettings",
    "TraceRequestEncoder",
    "attribute_key",
    "export_succeeded",
    "export_within",
    "flink_resource",
    "log_exporter",
    "make_resource",
    "otel_attributes",
    "parse_duration_s",
    "service_resource_attributes",
    "to_otel_log",
    "to_otel_spans",
]
