"""Consumed events as pyarrow Tables and pandas DataFrames: the event layout (``[analytics]``).

One row per event. Columns, in order:

==================  =========================  ==============================================
column              Arrow type                 meaning
==================  =========================  ==============================================
(record columns)                               ``topic`` (null for an Event), ``partition``,
                                               ``offset``, ``record_timestamp``: as for spans
event_id            string                     32 lowercase hex digits
trace_id            string (null: no trace)    32 lowercase hex digits of the enclosing span's
span_id             string (null: no span)     16 lowercase hex digits of the enclosing span's
scope               string                     Flink's class scope (the reporting class)
name                string                     the event's name
observed_time       timestamp[ms, UTC]         ``observed_ts_millis``
body                string                     free text
severity            string                     free text, e.g. ``INFO``
==================  =========================  ==============================================

Attributes follow, in the layout ``attributes=`` chooses, exactly as for spans (see
:func:`spanstream.consumer.to_arrow`): one ``map<string,string>`` column, or one typed
``attr.<key>`` column per key. Span records and spans among the items are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from spanstream.consumer._analytics import (
    AttributeLayout,
    Item,
    attribute_columns,
    require_pandas,
    require_pyarrow,
    table_to_pandas,
)
from spanstream.consumer._event_records import EventRecord
from spanstream.schemas import Event, SpanValueError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["events_to_arrow", "events_to_pandas"]


def events_to_arrow(items: Iterable[Item], *, attributes: AttributeLayout = "map") -> pa.Table:
    """Return one row per event as a pyarrow Table (the event layout; spans are left out).

    Args:
        items: consumed records (a :class:`SpanBatch` is one) or bare events.
        attributes: ``"map"`` (one map column; the default) or ``"columns"`` (one typed column
            per key).

    Raises:
        ExtraMissingError: pyarrow is not installed (``pip install 'spanstream[analytics]'``).
    """
    pa = require_pyarrow("events_to_arrow")
    if attributes not in ("map", "columns"):
        raise SpanValueError(f"attributes must be 'map' or 'columns', not {attributes!r}")
    names = (
        "topic",
        "partition",
        "offset",
        "record_timestamp",
        "event_id",
        "trace_id",
        "span_id",
        "scope",
        "name",
        "observed_time",
        "body",
        "severity",
    )
    rows: dict[str, list[Any]] = {name: [] for name in names}
    attribute_maps: list[Any] = []
    for item in items:
        if isinstance(item, EventRecord):
            event = item.event
            where: tuple[Any, ...] = (item.topic, item.partition, item.offset, item.timestamp_ms)
        elif isinstance(item, Event):
            event, where = item, (None, None, None, None)
        else:
            continue
        values = (
            *where,
            event.event_id.hex(),
            None if event.trace_id is None else event.trace_id.hex(),
            None if event.span_id is None else event.span_id.hex(),
            event.scope,
            event.name,
            event.observed_ts_millis,
            event.body,
            event.severity,
        )
        for name, value in zip(names, values, strict=True):
            rows[name].append(value)
        attribute_maps.append(event.attributes)
    millis = pa.timestamp("ms", tz="UTC")
    types = {
        "partition": pa.int32(),
        "offset": pa.int64(),
        "record_timestamp": millis,
        "observed_time": millis,
    }
    columns = {name: pa.array(rows[name], types.get(name, pa.string())) for name in names}
    columns.update(attribute_columns(pa, attribute_maps, attributes))
    return pa.table(columns)


def events_to_pandas(
    items: Iterable[Item], *, attributes: AttributeLayout = "columns"
) -> pd.DataFrame:
    """Return one row per event as a pandas DataFrame (the columns of :func:`events_to_arrow`).

    Integer and boolean columns use pandas' nullable dtypes; times are ``datetime64[ms, UTC]``.

    Raises:
        ExtraMissingError: pandas or pyarrow is not installed.
    """
    require_pandas("events_to_pandas")
    require_pyarrow("events_to_pandas")
    return table_to_pandas(
        events_to_arrow(items, attributes=attributes), feature="events_to_pandas"
    )
