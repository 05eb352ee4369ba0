"""Analytics exports: one row per span (children flattened), map or typed attribute columns,
Parquet, checkpoint health; a clear error without the analytics extra."""

import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spanstream.consumer import (
    SpanBatch,
    SpanRecord,
    checkpoint_health,
    checkpoint_health_frame,
    to_arrow,
    to_pandas,
    write_parquet,
)
from spanstream.schemas import ExtraMissingError, Span
from spanstream.schemas.system import checkpoint_span, job_failure_span


def _tree() -> Span:
    return (
        Span.builder("org.example.Job", "root")
        .set_start_ts_millis(1_000)
        .set_end_ts_millis(1_500)
        .set_attributes({"n": 3, "ratio": 0.5, "ok": True, "who": "me"})
        .add_child(
            Span.builder("org.example.Job", "a")
            .set_start_ts_millis(1_100)
            .set_attribute("n", 1)
            .add_child(Span.builder("org.example.Job", "a1").set_start_ts_millis(1_200))
        )
        .add_child(Span.builder("org.example.Job", "b").set_start_ts_millis(1_300))
        .build()
    )


def _record(span: Span, offset: int = 7) -> SpanRecord:
    return SpanRecord(span, "traces", 2, offset, span.trace_id, (), 1_700_000_000_000)


def test_children_are_flattened_with_parent_and_depth():
    """Each span of a tree is a row, depth first, naming its parent span id and depth."""
    span = _tree()
    table = to_arrow([span])
    rows = table.select(["name", "span_id", "parent_span_id", "depth"]).to_pylist()
    root, a, a1, b = span, span.children[0], span.children[0].children[0], span.children[1]
    assert rows == [
        {"name": "root", "span_id": root.span_id.hex(), "parent_span_id": None, "depth": 0},
        {"name": "a", "span_id": a.span_id.hex(), "parent_span_id": root.span_id.hex(), "depth": 1},
        {"name": "a1", "span_id": a1.span_id.hex(), "parent_span_id": a.span_id.hex(), "depth": 2},
        {"name": "b", "span_id": b.span_id.hex(), "parent_span_id": root.span_id.hex(), "depth": 1},
    ]
    assert set(table.column("trace_id").to_pylist()) == {span.trace_id.hex()}


def test_record_metadata_and_times_are_columns():
    """Each row carries its record's topic, partition, offset; times are UTC ms timestamps."""
    table = to_arrow([_record(_tree())])
    first = table.slice(0, 1).to_pylist()[0]
    assert (first["topic"], first["partition"], first["offset"]) == ("traces", 2, 7)
    assert table.schema.field("start_time").type == pa.timestamp("ms", tz="UTC")
    assert first["duration_millis"] == 500
    assert table.column("topic").to_pylist() == ["traces"] * 4


def test_map_layout_writes_attribute_values_as_text():
    """attributes='map' gives one map<string,string> column with values as text."""
    table = to_arrow([_tree()], attributes="map")
    assert table.schema.field("attributes").type == pa.map_(pa.string(), pa.string())
    assert dict(table.column("attributes")[0].as_py()) == {
        "n": "3",
        "ratio": "0.5",
        "ok": "true",
        "who": "me",
    }


def test_columns_layout_types_each_attribute():
    """attributes='columns' gives one typed attr.<key> column per key, null where absent."""
    table = to_arrow([_tree()], attributes="columns")
    schema = table.schema
    assert schema.field("attr.n").type == pa.int64()
    assert schema.field("attr.ratio").type == pa.float64()
    assert schema.field("attr.ok").type == pa.bool_()
    assert schema.field("attr.who").type == pa.string()
    assert table.column("attr.n").to_pylist() == [3, 1, None, None]


def test_mixed_attribute_types_fall_back_to_text():
    """A key holding a bool in one span and a str in another becomes a string column."""
    spans = [
        Span.builder("s", "x").set_attribute("k", True).build(),
        Span.builder("s", "y").set_attribute("k", "maybe").build(),
    ]
    assert to_arrow(spans, attributes="columns").column("attr.k").to_pylist() == ["true", "maybe"]


def test_pandas_frame_keeps_large_longs_exact_and_nulls_missing():
    """to_pandas uses nullable dtypes: a long near 2**63 stays exact, a missing value is NA."""
    big = 2**63 - 1
    spans = [
        Span.builder("s", "x").set_attribute("big", big).build(),
        Span.builder("s", "y").build(),
    ]
    frame = to_pandas(spans)
    assert frame["attr.big"].iloc[0] == big
    assert frame["attr.big"].isna().iloc[1]


def test_batch_converts_itself():
    """A SpanBatch offers to_arrow() and to_pandas() directly."""
    batch = SpanBatch((_record(_tree(), 1), _record(_tree(), 2)), lambda: None)
    assert batch.to_arrow().num_rows == 8
    assert list(batch.to_pandas()["offset"].unique()) == [1, 2]


def test_parquet_round_trip(tmp_path):
    """write_parquet writes every row; reading the file back gives the same table."""
    path = tmp_path / "spans.parquet"
    records = [_record(_tree(), i) for i in range(3)]
    assert write_parquet(records, path) == 12
    assert pq.read_table(path).equals(to_arrow(records))


def test_checkpoint_health_per_job():
    """Checkpoint spans summarise per job; other spans and redelivered copies are ignored."""
    spans = [
        checkpoint_span(
            checkpoint_id=i,
            trigger_ts_millis=10_000 * i,
            latest_ack_ts_millis=10_000 * i + 100 * i,
            full_size_bytes=1_000 * i,
            checkpointed_size_bytes=10 * i,
            status="FAILED" if i in (3, 7) else "COMPLETED",
        ).build(extra_attributes={"<job_id>": "job-a", "<job_name>": "Orders"})
        for i in range(1, 11)
    ]
    other_job = checkpoint_span(
        checkpoint_id=1,
        trigger_ts_millis=0,
        latest_ack_ts_millis=5,
        full_size_bytes=1,
        checkpointed_size_bytes=1,
    ).build(extra_attributes={"<job_id>": "job-b"})
    noise = [_tree(), job_failure_span(failure_ts_millis=5).build()]
    health = checkpoint_health([*spans, spans[0], other_job, *noise])
    a = health["job-a"]
    assert (a.count, a.completed, a.failed, a.failure_rate) == (10, 8, 2, 0.2)
    assert a.job_name == "Orders"
    completed = sorted(100 * i for i in range(1, 11) if i not in (3, 7))
    assert a.duration_max_millis == completed[-1]
    assert a.duration_p50_millis == (completed[3] + completed[4]) / 2
    assert a.duration_p95_millis == pytest.approx(
        completed[6] + 0.65 * (completed[7] - completed[6])
    )
    assert [p.checkpoint_id for p in a.sizes] == list(range(1, 11))
    assert a.sizes[-1].full_size_bytes == 10_000
    assert health["job-b"].count == 1
    frame = checkpoint_health_frame(spans)
    assert frame.loc["job-a", "failure_rate"] == 0.2
    sizes = a.sizes_frame()
    assert list(sizes["checkpointed_size_bytes"]) == [10 * i for i in range(1, 11)]


@pytest.mark.parametrize(
    ("call", "missing"),
    [
        (lambda: to_arrow([]), "pyarrow"),
        (lambda: to_pandas([]), "pandas"),
        (lambda: write_parquet([], "x.parquet"), "pyarrow"),
        (lambda: checkpoint_health_frame([]), "pandas"),
    ],
)
def test_without_the_extra_the_error_names_it(monkeypatch, call, missing):
    """Without pyarrow or pandas, the helpers raise ExtraMissingError naming the extra."""
    monkeypatch.setitem(sys.modules, missing, None)  # makes `import <missing>` fail
    with pytest.raises(ExtraMissingError, match=r"spanstream\[analytics\]") as error:
        call()
    assert error.value.extra == "analytics"
    assert isinstance(error.value, ImportError)
