"""Golden vectors: sample spans and their exact message bytes, checked in per schema version.

Any drift in the schema or the encoder fails here. Write the vectors of a new schema version
(only when releasing it; never to make a failing test pass):
    .venv/bin/python tests/unit/test_schema_golden.py --write
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import fastavro
import pytest
from _golden import GoldenFiles, attributes_from_json, attributes_to_json

from spanstream.schemas import (
    CURRENT_SCHEMA_VERSION,
    AttributeValue,
    Span,
    encode_span,
    schema_for_fingerprint,
)
from spanstream.schemas._codec import span_to_record
from spanstream.schemas._schema_history import default_history

# Every test here runs against each codec implementation (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures("implementation")


_TS = 1_732_000_000_123
_TRACKER = "org.apache.flink.runtime.checkpoint.CheckpointStatsTracker"


def _ids(n: int) -> tuple[bytes, bytes]:
    return bytes((n + i) % 256 for i in range(16)), (n + 1).to_bytes(8, "big")


def _span(
    n: int,
    scope: str,
    name: str,
    attributes: dict[str, AttributeValue] | None = None,
    children: tuple[Span, ...] = (),
    start: int = _TS,
    end: int = _TS + 250,
    trace_id: bytes | None = None,
) -> Span:
    own_trace, span_id = _ids(n)
    return Span(scope, name, start, end, attributes or {}, children, trace_id or own_trace, span_id)


def sample_spans() -> dict[str, Span]:
    """The named sample spans, covering every type, edge value and nesting."""
    trace = _ids(200)[0]
    subtasks = tuple(
        _span(
            210 + i,
            _TRACKER,
            "Subtask",
            {"jobVertexId": "0a448493b4782967b150582570326227", "subtaskId": i},
            trace_id=trace,
        )
        for i in range(2)
    )
    tasks = (
        _span(
            201,
            _TRACKER,
            "Task",
            {
                "jobVertexId": "0a448493b4782967b150582570326227",
                "maxStateSizeBytes": 4096,
                "sumStateSizeBytes": 8192,
            },
            subtasks,
            trace_id=trace,
        ),
    )
    return {
        "no-attributes": _span(1, "my.app.Job", "Compaction", start=_TS, end=_TS),
        "one-of-each-type": _span(
            2, "my.app.Job", "Mixed", {"s": "text", "l": 42, "d": 2.5, "t": True, "f": False}
        ),
        "edge-longs": _span(
            3,
            "my.app.Job",
            "Longs",
            {
                "zero": 0,
                "minus-one": -1,
                "63": 63,
                "64": 64,
                "-64": -64,
                "-65": -65,
                "8191": 8191,
                "8192": 8192,
                "int-max+1": 2**31,
                "int-min-1": -(2**31) - 1,
                "long-max": 2**63 - 1,
                "long-min": -(2**63),
            },
            start=-1,
            end=2**63 - 1,
        ),
        "edge-doubles": _span(
            4,
            "my.app.Job",
            "Doubles",
            {
                "zero": 0.0,
                "minus-zero": -0.0,
                "nan": math.nan,
                "inf": math.inf,
                "-inf": -math.inf,
                "max": 1.7976931348623157e308,
                "min-subnormal": 5e-324,
                "tenth": 0.1,
                "integral": 3.0,
            },
        ),
        "unicode-and-empty-strings": _span(
            5,
            "my.app.Jöb",
            "",
            {
                "": "",
                "ünïcødé": "日本語のテキスト",
                "emoji": "🚀✨",
                "len-63": "x" * 63,
                "len-64": "y" * 64,
                "long-string": "z" * 300,
                "nul": "a\x00b",
            },
        ),
        "children-and-grandchildren": _span(
            6,
            "my.app.Job",
            "Root",
            {"level": 0},
            (
                _span(
                    7, "my.app.Job", "Child", {"level": 1}, (_span(8, "my.app.Job", "Grandchild"),)
                ),
                _span(9, "my.app.Job", "Sibling", {"ok": True}),
            ),
        ),
        "flink-checkpoint": _span(
            200,
            _TRACKER,
            "Checkpoint",
            {
                "checkpointId": 17,
                "checkpointedSize": 1_048_576,
                "fullSize": 8_388_608,
                "checkpointStatus": "COMPLETED",
                "<job_id>": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
                "<job_name>": "wordcount",
                "<host>": "tm-1.example.internal",
            },
            tasks,
            trace_id=trace,
        ),
        **flink_2_3_spans(),
        "flink-job-failure": _span(
            300,
            "org.apache.flink.runtime.scheduler.adaptive.JobFailureMetricReporter",
            "JobFailure",
            {"canRestart": "true", "isGlobalFailure": "false", "failureLabel.type": "USER"},
            start=_TS,
            end=_TS,
        ),
    }


_METRICS = (
    "StateSizeBytes",
    "CheckpointedSizeBytes",
    "CheckpointStartDelayMs",
    "AlignmentDurationMs",
    "SyncCheckpointDurationMs",
    "AsyncCheckpointDurationMs",
    "ProcessedDataBytes",
    "PersistedDataBytes",
)
_VARIABLES: dict[str, AttributeValue] = {
    "<host>": "jobmanager-0",
    "<job_id>": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
    "<job_name>": "wordcount",
    "<region>": "probe",
}


def flink_2_3_spans() -> dict[str, Span]:
    """Spans in the shape a real Flink 2.3.0 JobManager sends (the reference's observed run).

    The older "flink-checkpoint" vector above keeps the shape earlier writers used.
    """
    trace = _ids(400)[0]
    vertex = "cbc357ccb763df2852fee8c4fc7d55f2"
    task_attributes: dict[str, AttributeValue] = {"checkpointId": 5, "jobVertexId": vertex}
    for metric in _METRICS:
        task_attributes["max" + metric] = 512
        task_attributes["sum" + metric] = 1024
    task = _span(401, _TRACKER, "Checkpoint_Task", task_attributes | _VARIABLES, trace_id=trace)
    root: dict[str, AttributeValue] = {
        "checkpointId": 5,
        "fullSize": 8_388_608,
        "checkpointedSize": 1_048_576,
        "metadataSize": 2_731,
        "checkpointStatus": "COMPLETED",
        "isUnaligned": "false",
        "checkpointType": "Checkpoint",
    }
    for metric in _METRICS:
        root["max" + metric] = 512
        if metric not in ("StateSizeBytes", "CheckpointedSizeBytes"):
            root["sum" + metric] = 1024
    root["jobId"] = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    unacknowledged = {
        **root,
        "checkpointId": 1,
        "fullSize": 0,
        "checkpointedSize": 0,
        "metadataSize": -1,
        "checkpointStatus": "FAILED",
    }
    unacked_task = _span(
        411,
        _TRACKER,
        "Checkpoint_Task",
        {**task_attributes, "checkpointId": 1} | _VARIABLES,
        start=_TS,
        end=-1,
        trace_id=_ids(410)[0],
    )
    return {
        "flink-2.3-checkpoint": _span(
            400, _TRACKER, "Checkpoint", root | _VARIABLES, (task,), trace_id=trace
        ),
        "flink-2.3-checkpoint-unacknowledged": _span(
            410,
            _TRACKER,
            "Checkpoint",
            unacknowledged | _VARIABLES,
            (unacked_task,),
            start=_TS,
            end=-1,
            trace_id=_ids(410)[0],
        ),
        "flink-2.3-job-initialization": _span(
            420,
            _TRACKER,
            "JobInitialization",
            {
                "initializationStatus": "COMPLETED",
                "maxMailboxStartDurationMs": 41,
                "sumMailboxStartDurationMs": 160,
                "maxInitializeStateDurationMs": 700,
                "sumInitializeStateDurationMs": 2_450,
                "maxRestoredStateSizeBytes.REMOTE": 4_194_304,
                "sumRestoredStateSizeBytes.REMOTE": 8_388_608,
                "checkpointId": 5,
                "fullSize": 8_388_608,
                "jobId": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
            }
            | _VARIABLES,
        ),
    }


def span_to_json(span: Span) -> dict[str, Any]:
    """The typed JSON form of a span: every attribute keeps its Avro type; doubles are exact."""
    return {
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "scope": span.scope,
        "name": span.name,
        "start_ts_millis": span.start_ts_millis,
        "end_ts_millis": span.end_ts_millis,
        "attributes": attributes_to_json(span.attributes),
        "children": [span_to_json(child) for child in span.children],
    }


def span_from_json(doc: dict[str, Any]) -> Span:
    """The inverse of :func:`span_to_json`."""
    return Span(
        doc["scope"],
        doc["name"],
        doc["start_ts_millis"],
        doc["end_ts_millis"],
        attributes_from_json(doc["attributes"]),
        tuple(span_from_json(child) for child in doc["children"]),
        bytes.fromhex(doc["trace_id"]),
        bytes.fromhex(doc["span_id"]),
    )


GOLDEN = GoldenFiles(
    kind="span", current_version=CURRENT_SCHEMA_VERSION, to_json=span_to_json, encode=encode_span
)


def write_current_vectors() -> Path:
    """Write the current version's golden file from the sample spans."""
    version = default_history().current
    assert schema_for_fingerprint(version.fingerprint) is version
    return GOLDEN.write_current(version, sample_spans())


@pytest.mark.parametrize("version", [v.version for v in default_history().versions])
def test_every_released_version_has_golden_vectors_pinning_its_schema(version: int) -> None:
    """Each history/span-v<N>.avsc has vectors whose canonical form and fingerprint still match."""
    released = next(v for v in default_history().versions if v.version == version)
    doc = GOLDEN.load(version)
    assert doc["canonical_form"] == released.canonical_form
    assert doc["fingerprint"] == released.fingerprint.hex()


@pytest.mark.parametrize("version", [v.version for v in default_history().versions])
def test_every_released_versions_vectors_still_decode(version: int) -> None:
    """Messages written with any released version decode to their spans with today's codec."""
    from spanstream.schemas import decode_span

    for vector in GOLDEN.load(version)["vectors"]:
        assert decode_span(bytes.fromhex(vector["message_hex"])) == span_from_json(vector["span"])


def test_the_golden_set_covers_every_sample_span() -> None:
    """No sample span lacks a checked-in vector (and none is stale)."""
    assert set(GOLDEN.vectors()) == set(sample_spans())


@pytest.mark.parametrize("name", sorted(sample_spans()))
def test_encoding_a_sample_span_gives_its_golden_bytes(name: str) -> None:
    """The encoder writes exactly the checked-in bytes."""
    assert encode_span(sample_spans()[name]).hex() == GOLDEN.vectors()[name]["message_hex"]


@pytest.mark.parametrize("name", sorted(sample_spans()))
def test_golden_json_describes_the_sample_span(name: str) -> None:
    """The checked-in JSON form of each span is the sample span itself."""
    assert span_from_json(GOLDEN.vectors()[name]["span"]) == sample_spans()[name]


@pytest.mark.parametrize("name", sorted(sample_spans()))
def test_fastavro_writes_the_golden_body_too(name: str) -> None:
    """The golden bytes are plain Avro: fastavro's generic writer produces the same body."""
    import io

    buffer = io.BytesIO()
    fastavro.schemaless_writer(
        buffer, default_history().current.parsed, span_to_record(sample_spans()[name])
    )
    assert buffer.getvalue().hex() == GOLDEN.vectors()[name]["message_hex"][20:]


def test_flink_2_3_vectors_decode_to_what_the_system_trace_views_read() -> None:
    """The real-shape vectors decode and read as Flink 2.3 spans: typed, with -1 for no ack."""
    from spanstream.schemas import decode_span
    from spanstream.schemas.system import CheckpointTrace, read_system_trace

    vectors = GOLDEN.vectors()
    spans = {n: decode_span(bytes.fromhex(vectors[n]["message_hex"])) for n in flink_2_3_spans()}
    completed = CheckpointTrace.from_span(spans["flink-2.3-checkpoint"])
    assert (completed.checkpoint_type, completed.is_unaligned, completed.metadata_size_bytes) == (
        "Checkpoint",
        False,
        2_731,
    )
    assert completed.job_id == "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    unacknowledged = CheckpointTrace.from_span(spans["flink-2.3-checkpoint-unacknowledged"])
    assert (unacknowledged.acknowledged, unacknowledged.tasks[0].end_ts_millis) == (False, -1)
    assert read_system_trace(spans["flink-2.3-job-initialization"]) is not None


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: test_schema_golden.py --write")
    print(write_current_vectors())
