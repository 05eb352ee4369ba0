"""The producer side of spanstream.

Flink's tracing API (metric groups, ``add_span``, reporter plugins configured with Flink's
``traces.reporter.*`` keys), the Kafka trace reporter and the Kafka event reporter (Flink's
events API, ``events.reporter.*``), both on one generic Kafka sender.
"""

from spanstream.producer._config import MetricConfig
from spanstream.producer._delivery_stats import DROP_REASONS, KafkaReporterStats
from spanstream.producer._filter import TraceFilter
from spanstream.producer._in_memory_reporter import (
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
    LoggingTraceReporter,
    LoggingTraceReporterFactory,
)
from spanstream.producer._metric_group import (
    EXCEPTION_MESSAGE,
    EXCEPTION_TYPE,
    MetricGroup,
    SpanScope,
)
from spanstream.producer._registry import (
    ENTRY_POINT_GROUP,
    ReporterRegistry,
    ReporterSetup,
    ReporterStats,
    flatten_config,
    load_config,
)
from spanstream.producer._reporter import TraceReporter, TraceReporterFactory
from spanstream.producer._shutdown import close_on_exit
from spanstream.producer._span_limits import SpanLimits

__all__ = [
    "CONTENT_TYPE",
    "DROP_REASONS",
    "ENTRY_POINT_GROUP",
    "EXCEPTION_MESSAGE",
    "EXCEPTION_TYPE",
    "HEADER_CONTENT_TYPE",
    "HEADER_PRODUCER",
    "HEADER_SCHEMA_FINGERPRINT",
    "InMemoryTraceReporter",
    "InMemoryTraceReporterFactory",
    "KafkaEventReporter",
    "KafkaEventReporterFactory",
    "KafkaReporterConfig",
    "KafkaReporterStats",
    "KafkaTraceReporter",
    "KafkaTraceReporterFactory",
    "LoggingTraceReporter",
    "LoggingTraceReporterFactory",
    "MetricConfig",
    "MetricGroup",
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
    "load_config",
]
