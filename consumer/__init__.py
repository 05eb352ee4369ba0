"""The consumer side of spanstream: Kafka records back into the exact spans that were reported.

:class:`SpanConsumer` reads span topics as a member of a consumer group, at-least-once (an
offset is committed only after the application is done with the record), with a policy for
records that are not spans (:class:`BadRecordPolicy`: skip, raise, or a dead-letter topic) and
replay by time. A topic may carry spans, events or both, told apart by schema fingerprint: an
event comes as an :class:`EventRecord` (``.event``) where a span comes as a :class:`SpanRecord`
(``.span``); :func:`events_to_arrow` gives events their own table. :class:`SpanReader` reads one
topic by assignment instead, with no group and no commits (a one-off read, as kcat does), and
:func:`read_spans` turns a topic and a time range into a DataFrame in one call.
:func:`forward_spans` sends span (and event) topics on to an OTLP endpoint, a trace viewer,
as a consumer group (``spanstream[otel]`` extra). Analytics helpers turn records into pyarrow
Tables, pandas DataFrames and Parquet files, and summarise checkpoint health; they need the
``spanstream[analytics]`` extra.

This package depends on ``spanstream.schemas`` (and the internal ``spanstream.kafka``), never
on ``spanstream.producer``.
"""

from spanstream.consumer._analytics import (
    ATTRIBUTE_COLUMN_PREFIX,
    AttributeLayout,
    TimeBound,
    read_arrow,
    read_spans,
    to_arrow,
    to_pandas,
    write_parquet,
)
from spanstream.consumer._bad_records import BadRecordPolicy
from spanstream.consumer._client_config import LIBRDKAFKA_DEFAULTS, MANAGED_CONSUMER_KEYS
from spanstream.consumer._consumer import SpanConsumer
from spanstream.consumer._dead_letter import (
    DLQ_ERROR_HEADER,
    DLQ_GROUP_HEADER,
    DLQ_OFFSET_HEADER,
    DLQ_OMITTED_HEADER,
    DLQ_PARTITION_HEADER,
    DLQ_REASON_HEADER,
    DLQ_TIMESTAMP_HEADER,
    DLQ_TOPIC_HEADER,
    DLQ_VALUE_BYTES_HEADER,
    DLQ_VALUE_SHA256_HEADER,
)
from spanstream.consumer._errors import CommitError, ConsumerClosedError, DeadLetterError
from spanstream.consumer._event_analytics import events_to_arrow, events_to_pandas
from spanstream.consumer._event_records import EventRecord
from spanstream.consumer._forward import (
    DEFAULT_FORWARD_GROUP,
    ForwardError,
    ForwardStats,
    forward_spans,
)
from spanstream.consumer._health import (
    CheckpointSizePoint,
    JobCheckpointHealth,
    checkpoint_health,
    checkpoint_health_frame,
    job_id_of,
    percentile,
)
from spanstream.consumer._positions import StartPosition
from spanstream.consumer._pyflink import (
    CHECKPOINT_HEALTH_FIELDS,
    KAFKA_CONNECTOR_VERSION,
    SPAN_ROW_FIELDS,
    checkpoint_event_time_millis,
    checkpoint_health_windows,
    kafka_connector_jar,
    span_kafka_source,
    span_records,
    span_row_values,
    span_rows,
)
from spanstream.consumer._reader import (
    READER_MANAGED_KEYS,
    PartitionRange,
    ReaderStart,
    SpanReader,
    TopicNotFoundError,
)
from spanstream.consumer._records import Header, SpanBatch, SpanRecord
from spanstream.consumer._stats import ConsumerStats

__all__ = [
    "ATTRIBUTE_COLUMN_PREFIX",
    "CHECKPOINT_HEALTH_FIELDS",
    "DEFAULT_FORWARD_GROUP",
    "DLQ_ERROR_HEADER",
    "DLQ_GROUP_HEADER",
    "DLQ_OFFSET_HEADER",
    "DLQ_OMITTED_HEADER",
    "DLQ_PARTITION_HEADER",
    "DLQ_REASON_HEADER",
    "DLQ_TIMESTAMP_HEADER",
    "DLQ_TOPIC_HEADER",
    "DLQ_VALUE_BYTES_HEADER",
    "DLQ_VALUE_SHA256_HEADER",
    "KAFKA_CONNECTOR_VERSION",
    "LIBRDKAFKA_DEFAULTS",
    "MANAGED_CONSUMER_KEYS",
    "READER_MANAGED_KEYS",
    "SPAN_ROW_FIELDS",
    "AttributeLayout",
    "BadRecordPolicy",
    "CheckpointSizePoint",
    "CommitError",
    "ConsumerClosedError",
    "ConsumerStats",
    "DeadLetterError",
    "EventRecord",
    "ForwardError",
    "ForwardStats",
    "Header",
    "JobCheckpointHealth",
    "PartitionRange",
    "ReaderStart",
    "SpanBatch",
    "SpanConsumer",
    "SpanReader",
    "SpanRecord",
    "StartPosition",
    "TimeBound",
    "TopicNotFoundError",
    "checkpoint_event_time_millis",
    "checkpoint_health",
    "checkpoint_health_frame",
    "checkpoint_health_windows",
    "events_to_arrow",
    "events_to_pandas",
    "forward_spans",
    "job_id_of",
    "kafka_connector_jar",
    "percentile",
    "read_arrow",
    "read_spans",
    "span_kafka_source",
    "span_records",
    "span_row_values",
    "span_rows",
    "to_arrow",
    "to_pandas",
    "write_parquet",
]
