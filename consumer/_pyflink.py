"""Reading the span topic in a PyFlink job: a Kafka source and checkpoint health in windows.

For when one machine no longer suffices: the span topic read by the engine users already run.

The stream carries each record's value as ``bytes`` (the spanstream wire format is the
serialization between operators: a ``Span`` is immutable and not picklable); functions decode
with :func:`~spanstream.schemas.decode_span` where they need the span. Nothing here imports
PyFlink until it is called, so the consumer package loads without the ``pyflink`` extra.

The Kafka connector is ``org.apache.flink:flink-sql-connector-kafka`` from Maven Central
(:data:`KAFKA_CONNECTOR_VERSION`; :func:`kafka_connector_jar` fetches it once with Maven).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final, Required, TypedDict, Unpack

from spanstream.consumer._analytics import text_of
from spanstream.consumer._health import checkpoint_health, job_id_of
from spanstream.schemas import DecodeError, ExtraMissingError, SpanstreamError, decode_span
from spanstream.schemas.system import CHECKPOINT_SCOPE, CHECKPOINT_SPAN

__all__ = [
    "CHECKPOINT_HEALTH_FIELDS",
    "KAFKA_CONNECTOR_VERSION",
    "SPAN_ROW_FIELDS",
    "SourceOptions",
    "checkpoint_event_time_millis",
    "checkpoint_health_windows",
    "kafka_connector_jar",
    "span_kafka_source",
    "span_records",
    "span_row_values",
    "span_rows",
]

KAFKA_CONNECTOR_VERSION: Final = "5.0.0-2.2"
"""``flink-sql-connector-kafka``: built for Flink 2.2, the newest on Maven Central; the PyFlink
tests run it on Flink 2.3.0 (whose connector APIs are unchanged from 2.2)."""

CHECKPOINT_HEALTH_FIELDS: Final = (
    "job_id",
    "job_name",
    "window_start_millis",
    "window_end_millis",
    "count",
    "completed",
    "failed",
    "failure_rate",
    "duration_p95_millis",
    "duration_max_millis",
)
"""The fields of the rows :func:`checkpoint_health_windows` emits, in order."""

SPAN_ROW_FIELDS: Final = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "depth",
    "scope",
    "name",
    "start_ts_millis",
    "end_ts_millis",
    "duration_millis",
    "attributes",
)
"""The fields of the rows :func:`span_rows` emits, in order (as :func:`to_arrow`'s columns)."""

_MAVEN_REPO_ENV: Final = "SPANSTREAM_MAVEN_REPO"


def _pyflink(feature: str) -> Any:  # noqa: ANN401 - PyFlink has no type information
    try:
        import pyflink
    except ImportError as exc:
        raise ExtraMissingError(feature, "pyflink") from exc
    return pyflink


def kafka_connector_jar(version: str = KAFKA_CONNECTOR_VERSION) -> Path:
    """The Flink SQL Kafka connector jar in the local Maven repository, fetched once if missing.

    The repository is ``$SPANSTREAM_MAVEN_REPO`` or ``~/.m2/repository``; ``mvn`` fetches the
    jar from Maven Central the first time. Add it with ``env.add_jars(jar.as_uri())``.

    Raises:
        SpanstreamError: the jar is missing and Maven could not fetch it (the message says why).
    """
    repository = Path(os.environ.get(_MAVEN_REPO_ENV) or Path.home() / ".m2" / "repository")
    name = f"flink-sql-connector-kafka-{version}.jar"
    jar = repository / "org" / "apache" / "flink" / "flink-sql-connector-kafka" / version / name
    if jar.is_file():
        return jar
    mvn = shutil.which("mvn")
    if mvn is None:
        raise SpanstreamError(f"{name} is not in {repository} and there is no mvn to fetch it")
    result = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            f"-Dmaven.repo.local={repository}",
            "dependency:get",
            f"-Dartifact=org.apache.flink:flink-sql-connector-kafka:{version}",
            "-Dtransitive=false",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if result.returncode != 0 or not jar.is_file():
        raise SpanstreamError(f"mvn could not fetch {name}: {result.stdout[-2000:]}")
    return jar


class SourceOptions(TypedDict, total=False):
    """The keyword arguments of :func:`span_kafka_source`, passed on by :func:`span_records`."""

    group_id: Required[str]
    start: str
    bounded: bool
    properties: dict[str, str] | None


def span_kafka_source(
    bootstrap_servers: str,
    topics: str | Sequence[str],
    *,
    group_id: str,
    start: str = "earliest",
    bounded: bool = False,
    properties: dict[str, str] | None = None,
) -> Any:  # noqa: ANN401 - a pyflink KafkaSource
    """A PyFlink ``KafkaSource`` of the span topic(s), each record's value as ``bytes``.

    Args:
        bootstrap_servers: the brokers.
        topics: one topic or several.
        group_id: the consumer group (offsets are committed on checkpoints).
        start: ``earliest``, ``latest`` or ``committed`` (committed offsets, else earliest).
        bounded: stop at the offsets that are the latest when the job starts (a batch over
            what the topic holds now), instead of reading forever.
        properties: more Kafka consumer properties.

    Raises:
        ExtraMissingError: PyFlink is not installed (``spanstream[pyflink]``).
        ConfigError: ``start`` is not one of the three.
    """
    _pyflink("span_kafka_source")
    from pyflink.common.serialization import (
        ByteArraySchema,
    )
    from pyflink.datastream.connectors.kafka import (
        KafkaOffsetResetStrategy,
        KafkaOffsetsInitializer,
        KafkaSource,
    )

    from spanstream.schemas import ConfigError

    initializers = {
        "earliest": KafkaOffsetsInitializer.earliest,
        "latest": KafkaOffsetsInitializer.latest,
        "committed": lambda: KafkaOffsetsInitializer.committed_offsets(
            KafkaOffsetResetStrategy.EARLIEST
        ),
    }
    if start not in initializers:
        raise ConfigError("start", start, "earliest, latest or committed")
    builder = (
        KafkaSource.builder()
        .set_bootstrap_servers(bootstrap_servers)
        .set_topics(*([topics] if isinstance(topics, str) else topics))
        .set_group_id(group_id)
        .set_starting_offsets(initializers[start]())
        .set_value_only_deserializer(ByteArraySchema())
    )
    if bounded:
        builder = builder.set_bounded(KafkaOffsetsInitializer.latest())
    for key, value in (properties or {}).items():
        builder = builder.set_property(key, value)
    return builder.build()


def span_records(
    env: Any,  # noqa: ANN401 - a pyflink StreamExecutionEnvironment
    bootstrap_servers: str,
    topics: str | Sequence[str],
    **source: Unpack[SourceOptions],
) -> Any:  # noqa: ANN401 - a pyflink DataStream of bytes
    """The span topic(s) as a PyFlink ``DataStream`` of raw records (``bytes``), ready to use.

    Adds the Kafka connector jar (:func:`kafka_connector_jar`) to ``env``, sets
    ``python.executable`` to the interpreter running this call when ``env`` names none (PyFlink
    otherwise runs its workers with whatever ``python`` is first on ``PATH``), and reads
    :func:`span_kafka_source` with no watermarks (:func:`checkpoint_health_windows` assigns
    event time itself). Arguments as for :func:`span_kafka_source`.

    Raises:
        ExtraMissingError: PyFlink is not installed (``spanstream[pyflink]``).
        SpanstreamError: the connector jar is missing and Maven could not fetch it.
    """
    _pyflink("span_records")
    from pyflink.common import WatermarkStrategy
    from pyflink.util.java_utils import (
        get_j_env_configuration,
    )

    configuration = get_j_env_configuration(env._j_stream_execution_environment)
    if not configuration.containsKey("python.executable"):
        env.set_python_executable(sys.executable)
    env.add_jars(kafka_connector_jar().as_uri())
    kafka_source = span_kafka_source(bootstrap_servers, topics, **source)
    return env.from_source(kafka_source, WatermarkStrategy.no_watermarks(), "spanstream span topic")


def checkpoint_event_time_millis(value: bytes) -> int:
    """A ``Checkpoint`` span's event time: its end, or its start when the end is before it.

    The end is the last acknowledgement; a failed checkpoint that no subtask acknowledged ends
    at -1, and takes its trigger time instead. Records that are not Checkpoint spans get -1
    (drop them before windowing).
    """
    try:
        span = decode_span(value)
    except DecodeError:
        return -1
    if span.name != CHECKPOINT_SPAN or span.scope != CHECKPOINT_SCOPE:
        return -1
    end = span.end_ts_millis or 0
    start = span.start_ts_millis or 0
    return end if end >= start else start


def span_row_values(value: bytes) -> list[tuple[object, ...]]:
    """One tuple of :data:`SPAN_ROW_FIELDS` per span of a record, children flattened.

    Depth first, parent before children; ``[]`` for a record that is not a span.
    """
    try:
        root = decode_span(value)
    except DecodeError:
        return []
    return [
        (
            span.trace_id.hex(),
            span.span_id.hex(),
            None if parent is None else parent.span_id.hex(),
            depth,
            span.scope,
            span.name,
            span.start_ts_millis,
            span.end_ts_millis,
            span.end_ts_millis - span.start_ts_millis,
            {key: text_of(item) for key, item in span.attributes.items()},
        )
        for span, parent, depth in root.walk()
    ]


def span_rows(records: Any) -> Any:  # noqa: ANN401 - pyflink DataStreams
    """A stream of raw span records as rows, one per span (children flattened), for Flink SQL.

    The fields are :data:`SPAN_ROW_FIELDS`: ids as lowercase hex, ``parent_span_id`` null for a
    root, ``depth`` 0 for a root, times in epoch milliseconds, and ``attributes`` a
    ``MAP<STRING, STRING>`` (values as text, as :func:`to_arrow`'s map layout). Records that are
    not spans are left out. ``t_env.from_data_stream(span_rows(records))`` makes it a table.

    Raises:
        ExtraMissingError: PyFlink is not installed (``spanstream[pyflink]``).
    """
    _pyflink("span_rows")
    from pyflink.common import Row, Types

    row_type = Types.ROW_NAMED(
        list(SPAN_ROW_FIELDS),
        [
            Types.STRING(),
            Types.STRING(),
            Types.STRING(),
            Types.INT(),
            Types.STRING(),
            Types.STRING(),
            Types.LONG(),
            Types.LONG(),
            Types.LONG(),
            Types.MAP(Types.STRING(), Types.STRING()),
        ],
    )
    return records.flat_map(
        lambda value: (Row(*fields) for fields in span_row_values(value)), output_type=row_type
    )


def _job_key(value: bytes) -> str:
    # checkpoint_health's own rule (<job_id>, else jobId), so each window holds one of its jobs
    job = job_id_of(decode_span(value))
    return "" if job is None else job


def _health_row(
    job_key: str, window_start: int, window_end: int, values: Iterable[bytes]
) -> tuple[object, ...] | None:
    summary = checkpoint_health(decode_span(value) for value in values)
    health = summary.get(job_key or None)
    if health is None:
        return None
    return (
        health.job_id,
        health.job_name,
        window_start,
        window_end,
        health.count,
        health.completed,
        health.failed,
        health.failure_rate,
        health.duration_p95_millis,
        health.duration_max_millis,
    )


def checkpoint_health_windows(
    records: Any,  # noqa: ANN401 - a pyflink DataStream of bytes
    *,
    window_s: float,
    out_of_orderness_s: float = 0.0,
) -> Any:  # noqa: ANN401 - a pyflink DataStream of Row
    """Per-job checkpoint health in tumbling event-time windows of ``window_s`` seconds.

    ``records`` is a stream of raw span records (:func:`span_kafka_source`). Checkpoint spans
    are kept, stamped with :func:`checkpoint_event_time_millis`, keyed by job
    (:func:`job_id_of`: ``<job_id>``, else ``jobId``) and windowed; each window is summarised
    by :func:`checkpoint_health`, so a row equals ``checkpoint_health`` of the same spans (a
    span delivered twice counts once). Rows have the fields :data:`CHECKPOINT_HEALTH_FIELDS`;
    ``job_id`` is ``None`` for spans without one.

    Raises:
        ExtraMissingError: PyFlink is not installed (``spanstream[pyflink]``).
    """
    _pyflink("checkpoint_health_windows")
    from pyflink.common import Duration, Row, Time, Types
    from pyflink.common.watermark_strategy import (
        TimestampAssigner,
        WatermarkStrategy,
    )
    from pyflink.datastream.functions import (
        ProcessWindowFunction,
    )
    from pyflink.datastream.window import (
        TumblingEventTimeWindows,
    )

    class _EventTime(TimestampAssigner):  # type: ignore[misc]
        def extract_timestamp(self, value: bytes, record_timestamp: int) -> int:
            return checkpoint_event_time_millis(value)

    class _Health(ProcessWindowFunction):  # type: ignore[misc]
        def process(self, key: str, context: Any, elements: Iterable[bytes]) -> Iterable[Any]:  # noqa: ANN401
            window = context.window()
            row = _health_row(key, window.start, window.end, elements)
            if row is not None:
                yield Row(*row)

    row_type = Types.ROW_NAMED(
        list(CHECKPOINT_HEALTH_FIELDS),
        [
            Types.STRING(),
            Types.STRING(),
            Types.LONG(),
            Types.LONG(),
            Types.LONG(),
            Types.LONG(),
            Types.LONG(),
            Types.DOUBLE(),
            Types.DOUBLE(),
            Types.LONG(),
        ],
    )
    watermarks = WatermarkStrategy.for_bounded_out_of_orderness(
        Duration.of_millis(int(out_of_orderness_s * 1000))
    ).with_timestamp_assigner(_EventTime())
    return (
        records.filter(lambda value: checkpoint_event_time_millis(value) >= 0)
        .assign_timestamps_and_watermarks(watermarks)
        .key_by(_job_key, key_type=Types.STRING())
        .window(TumblingEventTimeWindows.of(Time.milliseconds(int(window_s * 1000))))
        .process(_Health(), output_type=row_type)
    )
