"""Consumed spans as pyarrow Tables, pandas DataFrames and Parquet files (``[analytics]`` extra).

One row per span: a record's span tree is flattened depth-first (parent before children), each
row naming its ``parent_span_id`` (null for the root) and its ``depth`` (0 for the root).

Columns, in order:

==================  =========================  ==============================================
column              Arrow type                 meaning
==================  =========================  ==============================================
topic               string (null for a Span)   the Kafka record it came from ...
partition           int32                      ...
offset              int64                      ...
record_timestamp    timestamp[ms, UTC]         the record's broker timestamp
trace_id            string                     32 lowercase hex digits
span_id             string                     16 lowercase hex digits
parent_span_id      string (null for a root)   16 lowercase hex digits
depth               int32                      0 for a root, 1 for its children, ...
scope               string                     Flink's scope (the reporting class)
name                string                     the span's name
start_time          timestamp[ms, UTC]         ``start_ts_millis``
end_time            timestamp[ms, UTC]         ``end_ts_millis``
duration_millis     int64                      ``end - start``
==================  =========================  ==============================================

Attributes come one of two ways, chosen with ``attributes=``:

* ``"map"``: one ``attributes`` column of type ``map<string, string>``; values are written as
  text (``true``/``false`` for booleans, ``repr`` for floats). The schema is the same for every
  batch, so it suits Parquet datasets written batch by batch. The default of
  :func:`to_arrow` and :func:`write_parquet`.
* ``"columns"``: one column per attribute key, named ``attr.<key>`` (e.g.
  ``attr.checkpointedSize``, ``attr.<job_id>``), sorted by key and typed from the values: int64,
  float64 (ints and floats mixed), bool or string (any other mix, as text); null where a span
  lacks the key. The default of :func:`to_pandas`.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator, Mapping
from os import PathLike
from typing import TYPE_CHECKING, Any, Final, Literal, TypedDict, Unpack

from spanstream.consumer._event_records import EventRecord
from spanstream.consumer._reader import SpanReader
from spanstream.consumer._records import SpanRecord
from spanstream.schemas import (
    AttributeValue,
    ConfigError,
    Event,
    ExtraMissingError,
    Span,
    SpanTypeError,
    SpanValueError,
)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "ATTRIBUTE_COLUMN_PREFIX",
    "AttributeLayout",
    "Item",
    "ReadOptions",
    "TimeBound",
    "attribute_columns",
    "read_arrow",
    "read_spans",
    "table_to_pandas",
    "text_of",
    "to_arrow",
    "to_pandas",
    "write_parquet",
]

Item = SpanRecord | Span | EventRecord | Event
"""What the span table functions take: span records or spans (event records and events are
left out: :func:`spanstream.consumer.events_to_arrow` makes their table)."""

AttributeLayout = Literal["map", "columns"]
"""How attributes become columns: one ``map<string,string>`` column, or one typed column each."""

ATTRIBUTE_COLUMN_PREFIX: Final = "attr."
"""The prefix of attribute columns in the ``"columns"`` layout."""

_EXTRA: Final = "analytics"

_BOOTSTRAP_ENV: Final = "KAFKA_BOOTSTRAP_SERVERS"
"""The environment variable :func:`read_spans` takes the broker address from by default."""

TimeBound = dt.datetime | dt.timedelta | int | None
"""One end of a time range: an aware datetime, a duration ago (``timedelta(hours=1)``), epoch
milliseconds, or ``None`` (open)."""


def require_pyarrow(feature: str) -> Any:  # noqa: ANN401 - the module, typed by its stubs at use
    """Import pyarrow, or raise :class:`ExtraMissingError` naming the ``analytics`` extra."""
    try:
        import pyarrow as pa
    except ImportError as exc:
        raise ExtraMissingError(feature, _EXTRA) from exc
    return pa


def require_pandas(feature: str) -> Any:  # noqa: ANN401 - as above
    """Import pandas, or raise :class:`ExtraMissingError` naming the ``analytics`` extra."""
    try:
        import pandas as pd
    except ImportError as exc:
        raise ExtraMissingError(feature, _EXTRA) from exc
    return pd


def _rows(
    items: Iterable[Item],
) -> Iterator[tuple[SpanRecord | None, Span, Span | None, int]]:
    for item in items:
        if isinstance(item, SpanRecord):
            record: SpanRecord | None = item
            root = item.span
        elif isinstance(item, Span):
            record, root = None, item
        elif isinstance(item, EventRecord | Event):
            continue  # an event on a span topic: the event table has it
        else:
            raise SpanTypeError(f"expected SpanRecord or Span items, not {type(item).__name__}")
        for span, parent, depth in root.walk():
            yield record, span, parent, depth


def text_of(value: AttributeValue) -> str:
    """An attribute value as text: ``true``/``false`` for booleans, ``repr`` for floats."""
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is float:
        return repr(value)
    return str(value)


def to_arrow(items: Iterable[Item], *, attributes: AttributeLayout = "map") -> pa.Table:
    """Return one row per span (children flattened) as a pyarrow Table.

    Args:
        items: consumed records (a :class:`SpanBatch` is one) or bare spans; event records
            and events are left out (see :func:`events_to_arrow`).
        attributes: ``"map"`` (one map column; the default) or ``"columns"`` (one typed column
            per key); see the module documentation.

    Raises:
        ExtraMissingError: pyarrow is not installed (``pip install 'spanstream[analytics]'``).
    """
    pa = require_pyarrow("to_arrow")
    if attributes not in ("map", "columns"):
        raise SpanValueError(f"attributes must be 'map' or 'columns', not {attributes!r}")
    topic: list[str | None] = []
    partition: list[int | None] = []
    offset: list[int | None] = []
    record_ts: list[int | None] = []
    trace_id: list[str] = []
    span_id: list[str] = []
    parent_id: list[str | None] = []
    depth_col: list[int] = []
    scope: list[str] = []
    name: list[str] = []
    start: list[int] = []
    end: list[int] = []
    duration: list[int] = []
    attribute_maps: list[Any] = []
    for record, span, parent, depth in _rows(items):
        if record is None:
            topic.append(None)
            partition.append(None)
            offset.append(None)
            record_ts.append(None)
        else:
            topic.append(record.topic)
            partition.append(record.partition)
            offset.append(record.offset)
            record_ts.append(record.timestamp_ms)
        trace_id.append(span.trace_id.hex())
        span_id.append(span.span_id.hex())
        parent_id.append(None if parent is None else parent.span_id.hex())
        depth_col.append(depth)
        scope.append(span.scope)
        name.append(span.name)
        start.append(span.start_ts_millis)
        end.append(span.end_ts_millis)
        duration.append(span.end_ts_millis - span.start_ts_millis)
        attribute_maps.append(span.attributes)
    millis = pa.timestamp("ms", tz="UTC")
    columns: dict[str, Any] = {
        "topic": pa.array(topic, pa.string()),
        "partition": pa.array(partition, pa.int32()),
        "offset": pa.array(offset, pa.int64()),
        "record_timestamp": pa.array(record_ts, millis),
        "trace_id": pa.array(trace_id, pa.string()),
        "span_id": pa.array(span_id, pa.string()),
        "parent_span_id": pa.array(parent_id, pa.string()),
        "depth": pa.array(depth_col, pa.int32()),
        "scope": pa.array(scope, pa.string()),
        "name": pa.array(name, pa.string()),
        "start_time": pa.array(start, millis),
        "end_time": pa.array(end, millis),
        "duration_millis": pa.array(duration, pa.int64()),
    }
    columns.update(attribute_columns(pa, attribute_maps, attributes))
    return pa.table(columns)


def attribute_columns(
    pa: Any,  # noqa: ANN401 - the pyarrow module, imported when needed
    maps: list[Any],
    layout: AttributeLayout,
) -> dict[str, Any]:
    """The attribute columns of ``maps`` in ``layout`` (see the module documentation).

    ``"map"``: one ``attributes`` column of text values; ``"columns"``: one typed
    ``attr.<key>`` column per key.
    """
    if layout == "map":
        return {
            "attributes": pa.array(
                [[(key, text_of(value)) for key, value in m.items()] for m in maps],
                pa.map_(pa.string(), pa.string()),
            )
        }
    keys = sorted({key for m in maps for key in m})
    columns: dict[str, Any] = {}
    for key in keys:
        values = [m.get(key) for m in maps]
        kinds = {type(v) for v in values if v is not None}
        if kinds == {bool}:
            arrow_type = pa.bool_()
        elif kinds == {int}:
            arrow_type = pa.int64()
        elif kinds and kinds <= {int, float}:
            arrow_type = pa.float64()
        elif kinds == {str}:
            arrow_type = pa.string()
        else:
            arrow_type = pa.string()
            values = [None if v is None else text_of(v) for v in values]
        columns[ATTRIBUTE_COLUMN_PREFIX + key] = pa.array(values, arrow_type)
    return columns


def to_pandas(items: Iterable[Item], *, attributes: AttributeLayout = "columns") -> pd.DataFrame:
    """Return one row per span (children flattened) as a pandas DataFrame.

    The columns are those of :func:`to_arrow`; attributes default to one typed column per key
    (``attr.<key>``). Integer and boolean columns use pandas' nullable dtypes, so a missing
    value stays missing and large longs stay exact; times are ``datetime64[ms, UTC]``.

    Raises:
        ExtraMissingError: pandas or pyarrow is not installed.
    """
    require_pandas("to_pandas")
    require_pyarrow("to_pandas")
    return table_to_pandas(to_arrow(items, attributes=attributes), feature="to_pandas")


def table_to_pandas(table: pa.Table, *, feature: str) -> pd.DataFrame:
    """``table`` as a DataFrame, with pandas' nullable dtypes for integer and boolean columns.

    Raises:
        ExtraMissingError: pandas or pyarrow is not installed (``feature`` names the caller).
    """
    pandas = require_pandas(feature)
    arrow = require_pyarrow(feature)
    nullable = {
        arrow.int32(): pandas.Int32Dtype(),
        arrow.int64(): pandas.Int64Dtype(),
        arrow.bool_(): pandas.BooleanDtype(),
    }
    frame: pd.DataFrame = table.to_pandas(types_mapper=nullable.get)
    return frame


def write_parquet(
    items: Iterable[Item],
    path: str | PathLike[str],
    *,
    attributes: AttributeLayout = "map",
    compression: str = "zstd",
) -> int:
    """Write one row per span (see :func:`to_arrow`) to a Parquet file; returns the row count.

    Raises:
        ExtraMissingError: pyarrow is not installed.
    """
    require_pyarrow("write_parquet")
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ExtraMissingError("write_parquet", _EXTRA) from exc
    table = to_arrow(items, attributes=attributes)
    pq.write_table(table, path, compression=compression)
    rows: int = table.num_rows
    return rows


def _epoch_ms(bound: TimeBound, *, key: str, now_ms: int) -> int | None:
    if bound is None:
        return None
    if isinstance(bound, dt.timedelta):
        return now_ms - bound // dt.timedelta(milliseconds=1)
    if isinstance(bound, dt.datetime):
        if bound.tzinfo is None or bound.utcoffset() is None:
            raise ConfigError(key, bound, "a timezone-aware datetime (e.g. tzinfo=datetime.UTC)")
        return int(bound.timestamp() * 1000)
    if type(bound) is int and bound >= 0:
        return bound
    raise ConfigError(key, bound, "an aware datetime, a timedelta ago, epoch ms or None")


def _read_records(
    topic: str,
    since: TimeBound,
    until: TimeBound,
    bootstrap_servers: str | None,
    config: Mapping[str, Any] | None,
) -> list[SpanRecord]:
    servers = bootstrap_servers or os.environ.get(_BOOTSTRAP_ENV, "").strip()
    if not servers:
        raise ConfigError(
            "bootstrap_servers", bootstrap_servers, f"host:port[,...], or ${_BOOTSTRAP_ENV} set"
        )
    now_ms = dt.datetime.now(dt.UTC).timestamp() * 1000
    since_ms = _epoch_ms(since, key="since", now_ms=int(now_ms))
    until_ms = _epoch_ms(until, key="until", now_ms=int(now_ms))
    if since_ms is not None and until_ms is not None and since_ms >= until_ms:
        raise ConfigError("until", until, f"a time after since ({since!r})")
    with SpanReader(
        topic,
        bootstrap_servers=servers,
        start="earliest" if since_ms is None else since_ms,
        until=until_ms,
        config=config,
    ) as reader:
        return list(reader)


def read_arrow(
    topic: str,
    since: TimeBound = None,
    until: TimeBound = None,
    bootstrap_servers: str | None = None,
    *,
    attributes: AttributeLayout = "columns",
    config: Mapping[str, Any] | None = None,
) -> pa.Table:
    """Read a topic's spans whose records fall in ``[since, until)`` into a pyarrow Table.

    One row per span, as :func:`to_arrow` (attributes default to one typed column per key).
    The topic is read by assignment with a :class:`SpanReader`: no consumer group is joined or
    left behind, nothing is committed. It reads up to the topic's end as it was when the read
    began (or to ``until``).

    Args:
        topic: the span topic.
        since: the first record time (inclusive): an aware datetime, a ``timedelta`` ago, epoch
            milliseconds, or ``None`` for the topic's beginning.
        until: the end (exclusive), in the same forms; ``None`` for the topic's end.
        bootstrap_servers: ``host:port[,...]``; default ``$KAFKA_BOOTSTRAP_SERVERS``.
        attributes: ``"columns"`` (typed ``attr.<key>`` columns) or ``"map"``.
        config: further librdkafka consumer properties (security settings).

    Raises:
        ConfigError: no broker address, a bad time, or a bad property.
        TopicNotFoundError: the topic does not exist.
        BrokerError: the cluster did not answer.
        ExtraMissingError: pyarrow is not installed.
    """
    require_pyarrow("read_arrow")
    records = _read_records(topic, since, until, bootstrap_servers, config)
    return to_arrow(records, attributes=attributes)


class ReadOptions(TypedDict, total=False):
    """The keyword arguments of :func:`read_arrow`, passed on by :func:`read_spans`."""

    attributes: AttributeLayout
    config: Mapping[str, Any] | None


def read_spans(
    topic: str,
    since: TimeBound = None,
    until: TimeBound = None,
    bootstrap_servers: str | None = None,
    **options: Unpack[ReadOptions],
) -> pd.DataFrame:
    """Read a topic's spans whose records fall in ``[since, until)`` into a pandas DataFrame.

    The one call from a topic and a time range to a table: :func:`read_arrow` (the same
    arguments), then the nullable dtypes of :func:`to_pandas` (typed ``attr.<key>`` columns by
    default). No consumer group is joined or left behind.

    Example:
        >>> import datetime as dt
        >>> frame = read_spans("flink-traces", since=dt.timedelta(hours=1))  # doctest: +SKIP
        >>> frame.groupby("name")["duration_millis"].median()  # doctest: +SKIP

    Raises:
        ConfigError, TopicNotFoundError, BrokerError, ExtraMissingError: as :func:`read_arrow`.
    """
    require_pandas("read_spans")
    table = read_arrow(topic, since, until, bootstrap_servers, **options)
    return table_to_pandas(table, feature="read_spans")
