"""The producer side of spanstream.

Flink's tracing and events APIs (metric groups, ``add_span``, ``add_event``, reporter plugins
configured with Flink's ``traces.reporter.*`` and ``events.reporter.*`` keys), the Kafka trace
and event reporters, both on one generic Kafka sender, and the OpenTelemetry (OTLP) trace and
event reporters (the ``otel`` extra).
"""

from spanstream.producer._config import MetricConfig
from spanstream.producer._delivery_stats import DROP_REASONS, KafkaReporterStats
from spanstream.producer._filter import TraceFilter
from spanstream.producer._in_memory_reporter import (
    InMemoryEventReporter,
    InMemoryEventReporterFactory,
    InMemoryTraceReporter,
    InMemoryTraceReporterFactory,
)
from spanstream.producer._kafka_config import KafkaReporterConfig
from spanstream.producer._kafka_event_reporter import KafkaEventReporter, KafkaEventReporterFactory
from spanstream.producer._kafka_reporter import (
    CONTENT_TYPE,
    HEADER_CONTENT_TYPE,
    HEADER_PRODUCER,
    HEADER_SCHEMA_FINGERPRINT,
    KafkaTraceReporter,
    KafkaTraceReporterFactory,
)
from spanstream.producer._kafka_sender import ReporterStateError
from spanstream.producer._logging_reporter import (
    LoggingEventReporter,
    LoggingEventReporterFactory,
    LoggingTraceReporter,
    LoggingTraceReporterFactory,
)
from spanstream.producer._metric_group import JOB_ID_ATTRIBUTE, MetricGroup
from spanstream.producer._otel_reporter import (
    OtelEventReporter,
    OtelEventReporterFactory,
    OtelTraceReporter,
    OtelTraceReporterFactory,
)
from spanstream.producer._otlp_sender import OTLP_DROP_REASONS, OtlpReporterStats
from spanstream.producer._pyflink import (
    FIXED_JOB_ID_KEY,
    JOB_ID_PARAMETER,
    JOB_NAME_PARAMETER,
    TRACES_CONFIG_PARAMETER,
    PyFlinkSpanCounts,
    flush_pyflink_reporters,
    pyflink_environment,
    pyflink_job_configuration,
    pyflink_metric_group,
    pyflink_span_counts,
)
from spanstream.producer._registry import (
    ENTRY_POINT_GROUP,
    EVENT_ENTRY_POINT_GROUP,
    ReporterRegistry,
    ReporterSetup,
    ReporterStats,
    flatten_config,
    load_config,
)
from spanstream.producer._reporter import (
    EventReporter,
    EventReporterFactory,
    ReporterKeys,
    TraceReporter,
    TraceReporterFactory,
)
from spanstream.producer._shutdown import close_on_exit
from spanstream.producer._span_limits import SpanLimits
from spanstream.producer._span_scope import (
    EXCEPTION_MESSAGE,
    EXCEPTION_TYPE,
    RecordingSpan,
    SpanScope,
)

__all__ = [
    "CONTENT_TYPE",
    "DROP_REASONS",
    "ENTRY_POINT_GROUP",
    "EVENT_ENTRY_POINT_GROUP",
    "EXCEPTION_MESSAGE",
    "EXCEPTION_TYPE",
    "FIXED_JOB_ID_KEY",
    "HEADER_CONTENT_TYPE",
    "HEADER_PRODUCER",
    "HEADER_SCHEMA_FINGERPRINT",
    "JOB_ID_ATTRIBUTE",
    "JOB_ID_PARAMETER",
    "JOB_NAME_PARAMETER",
    "OTLP_DROP_REASONS",
    "TRACES_CONFIG_PARAMETER",
    "EventReporter",
    "EventReporterFactory",
    "InMemoryEventReporter",
    "InMemoryEventReporterFactory",
    "InMemoryTraceReporter",
    "InMemoryTraceReporterFactory",
    "KafkaEventReporter",
    "KafkaEventReporterFactory",
    "KafkaReporterConfig",
    "KafkaReporterStats",
    "KafkaTraceReporter",
    "KafkaTraceReporterFactory",
    "LoggingEventReporter",
    "LoggingEventReporterFactory",
    "LoggingTraceReporter",
    "LoggingTraceReporterFactory",
    "MetricConfig",
    "MetricGroup",
    "OtelEventReporter",
    "OtelEventReporterFactory",
    "OtelTraceReporter",
    "OtelTraceReporterFactory",
    "OtlpReporterStats",
    "PyFlinkSpanCounts",
    "RecordingSpan",
    "ReporterKeys",
    "ReporterRegistry",
    "ReporterSetup",
    "ReporterStateError",
    "ReporterStats",
    "SpanLimits",
    "SpanScope",
    "TraceFilter",
    "TraceReporter",
    "TraceReporterFactory",
    "close_on_exit",
    "flatten_config",
    "flush_pyflink_reporters",
    "load_config",
    "pyflink_environment",
    "pyflink_job_configuration",
    "pyflink_metric_group",
    "pyflink_span_counts",
]
