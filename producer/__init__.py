"""The producer side of spanstream.

Flink's tracing API (metric groups, ``add_span``, reporter plugins configured with Flink's
``traces.reporter.*`` keys) and the Kafka trace reporter.
"""

from spanstream.producer._config import MetricConfig
from spanstream.producer._reporter import TraceReporter, TraceReporterFactory

__all__ = ["MetricConfig", "TraceReporter", "TraceReporterFactory"]
