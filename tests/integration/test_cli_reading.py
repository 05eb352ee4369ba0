"""tail, stats and export against the real broker: no groups left, tail's modes, pipes (#12)."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _helpers import SPANSTREAM, run_cli
from confluent_kafka import Producer

from spanstream.schemas import Span, encode_span
from spanstream.schemas.system import checkpoint_span

T0 = 1_700_000_000_000
SCOPE = "org.apache.flink.runtime.checkpoint.CheckpointStatsTracker"


def _checkpoint(i: int) -> Span:
    return checkpoint_span(
        checkpoint_id=i,
        trigger_ts_millis=T0 + 1000 * i,
        latest_ack_ts_millis=T0 + 1000 * i + 100,
        full_size_bytes=1000,
        checkpointed_size_bytes=100,
        status="FAILED" if i == 3 else "COMPLETED",
    ).build(extra_attributes={"<job_name>": "etl"})


def _custom(i: int, note: str = "plain") -> Span:
    return (
        Span.builder("com.example.Loader", "Load")
        .set_start_ts_millis(T0 + 1000 * i)
        .set_end_ts_millis(T0 + 1000 * i + 5)
        .set_attribute("batch", i)
        .set_attribute("cacheHit", i % 2 == 0)
        .set_attribute("note", note)
        .set_attribute("<job_name>", "etl")
        .build()
    )


def _produce(bootstrap: str, topic: str, spans: list[Span], **extra: object) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for span in spans:
        producer.produce(topic, encode_span(span), key=span.trace_id, **extra)
    assert producer.flush(30) == 0


@pytest.fixture
def mixed_topic(kafka_bootstrap, new_topic):
    """Two partitions: 5 checkpoints (#3 FAILED) and 4 custom spans, one with a hostile note."""
    topic = new_topic(partitions=2)
    spans = [_checkpoint(i) for i in range(1, 6)]
    spans += [_custom(i) for i in range(3)] + [_custom(3, note="evil\n\x1b[2Jline")]
    _produce(kafka_bootstrap, topic, spans, headers=[("origin", b"test")])
    return topic


def _tail(bootstrap: str, topic: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("tail", topic, "--from-beginning", "-e", *args, bootstrap=bootstrap)


# -- item 10: reading creates no consumer groups ------------------------------------------


def _groups_with_offsets_on(kafka_admin, topic: str, group_ids: set[str]) -> list[str]:
    from confluent_kafka import ConsumerGroupTopicPartitions

    found = []
    for group_id in sorted(group_ids):
        request = [ConsumerGroupTopicPartitions(group_id)]
        futures = kafka_admin.list_consumer_group_offsets(request, request_timeout=30)
        for future in futures.values():
            offsets = future.result().topic_partitions or []
            if any(tp.topic == topic and tp.offset >= 0 for tp in offsets):
                found.append(group_id)
    return found


def _group_ids(kafka_admin) -> set[str]:
    listed = kafka_admin.list_consumer_groups(request_timeout=30).result()
    return {group.group_id for group in listed.valid}


def test_tail_stats_and_export_leave_no_consumer_group(
    kafka_bootstrap, kafka_admin, mixed_topic, tmp_path
):
    """After tail, stats and export, no new group holds offsets of the topic (none is made)."""
    before = _group_ids(kafka_admin)
    tail = ("tail", mixed_topic, "--from-beginning", "--max", "9", "--timeout", "60s")
    assert run_cli(*tail, bootstrap=kafka_bootstrap).returncode == 0
    assert run_cli("stats", mixed_topic, bootstrap=kafka_bootstrap).returncode == 0
    out = tmp_path / "spans.csv"
    assert (
        run_cli("export", mixed_topic, "--out", str(out), bootstrap=kafka_bootstrap).returncode == 0
    )
    new = _group_ids(kafka_admin) - before
    assert _groups_with_offsets_on(kafka_admin, mixed_topic, new) == []
    assert not [g for g in new if g.startswith("spanstream-cli-")]


# -- item 11: tail is readable live ----------------------------------------------------------


def test_tail_exit_at_end_prints_everything_and_exits_0(kafka_bootstrap, mixed_topic):
    """-e: every span once, then exit 0 at the topic's end, with no --max or --timeout."""
    done = _tail(kafka_bootstrap, mixed_topic)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 9


def test_tail_until_now_ends_after_the_records_before_it(kafka_bootstrap, mixed_topic):
    """--until now (following, no -e): the records before now, then exit 0."""
    done = run_cli(
        "tail", mixed_topic, "--from-beginning", "--until", "now", bootstrap=kafka_bootstrap
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 9


def test_tail_lines_escape_control_characters(kafka_bootstrap, mixed_topic):
    """A value with a newline and a terminal escape prints escaped, on its span's line."""
    done = _tail(kafka_bootstrap, mixed_topic, "--name", "Load", "--attr", "batch=3")
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    assert "note=evil\\n\\x1b[2Jline" in line
    assert "\x1b" not in done.stdout


def test_tail_scope_matches_the_short_scope_and_attr_takes_globs(kafka_bootstrap, mixed_topic):
    """--scope CheckpointStatsTracker (as the line shows it) and --attr 'checkpointSt*=FAIL*'."""
    done = _tail(
        kafka_bootstrap,
        mixed_topic,
        "--scope",
        "CheckpointStatsTracker",
        "--attr",
        "checkpointSt*=FAIL*",
    )
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    assert "etl  Checkpoint  100 ms  checkpointId=3 checkpointStatus=FAILED" in line


def test_tail_format_template_and_long(kafka_bootstrap, mixed_topic):
    """--format fills {field} and attribute placeholders; --long shows the short scope."""
    done = _tail(
        kafka_bootstrap, mixed_topic, "--name", "Checkpoint", "--format", "{name}#{checkpointId}"
    )
    assert sorted(done.stdout.splitlines()) == [f"Checkpoint#{i}" for i in range(1, 6)]
    long = _tail(kafka_bootstrap, mixed_topic, "--name", "Checkpoint", "--long")
    assert all("[CheckpointStatsTracker]" in line for line in long.stdout.splitlines())


def test_tail_json_has_key_partition_offset_and_headers(kafka_bootstrap, mixed_topic):
    """--json adds the record's key (the trace id), partition, offset and headers."""
    done = _tail(kafka_bootstrap, mixed_topic, "--json")
    documents = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(documents) == 9
    for document in documents:
        assert document["partition"] in {0, 1}
        assert document["offset"] >= 0
        assert document["headers"] == [["origin", "test"]]
        assert document["key"] is not None


def test_tail_trace_id_keeps_one_trace(kafka_bootstrap, mixed_topic):
    """--trace-id prints only the spans of that trace."""
    first = json.loads(_tail(kafka_bootstrap, mixed_topic, "--json", "--max", "1").stdout)
    done = _tail(kafka_bootstrap, mixed_topic, "--json", "--trace-id", first["trace_id"])
    documents = [json.loads(line) for line in done.stdout.splitlines()]
    assert [d["span_id"] for d in documents] == [first["span_id"]]


def test_tail_says_it_is_waiting_when_idle(kafka_bootstrap, mixed_topic):
    """Following with nothing new: a 'waiting for spans' hint on stderr, stdout empty."""
    done = run_cli("tail", mixed_topic, "--timeout", "5s", bootstrap=kafka_bootstrap)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "waiting for spans" in done.stderr


# -- item 9: a closed pipe is a normal end -------------------------------------------------


def test_tail_into_head_exits_0(kafka_bootstrap, new_topic):
    """`tail ... | head -n 1`: more output than a pipe holds, the reader leaves; tail exits 0."""
    topic = new_topic(partitions=1)
    _produce(kafka_bootstrap, topic, [_custom(i, note="x" * 400) for i in range(600)])
    command = " ".join(SPANSTREAM) + f" tail {topic} --from-beginning --json --timeout 60s"
    done = subprocess.run(
        ["bash", "-c", f"{command} | head -n 1; exit ${{PIPESTATUS[0]}}"],
        capture_output=True,
        text=True,
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1
    assert "Traceback" not in done.stderr
    assert "Exception ignored" not in done.stderr


# -- item 8: nothing to plot -----------------------------------------------------------------


def test_stats_plot_without_checkpoints_draws_nothing_and_says_so(
    kafka_bootstrap, new_topic, tmp_path
):
    """--plot over a range with no checkpoint: exit 1, one line saying so, no file written."""
    topic = new_topic(partitions=1)
    _produce(kafka_bootstrap, topic, [_custom(i) for i in range(3)])
    plot = tmp_path / "checkpoints.png"
    done = run_cli("stats", topic, "--plot", str(plot), bootstrap=kafka_bootstrap)
    assert done.returncode == 1
    assert "no checkpoints" in done.stderr
    assert not plot.exists()


# -- item 14: typed Parquet --------------------------------------------------------------------


def test_export_attributes_columns_writes_typed_parquet(kafka_bootstrap, mixed_topic, tmp_path):
    """--attributes columns: one typed column per attribute key in the Parquet file."""
    out = tmp_path / "spans.parquet"
    done = run_cli(
        "export",
        mixed_topic,
        "--out",
        str(out),
        "--attributes",
        "columns",
        bootstrap=kafka_bootstrap,
    )
    assert done.returncode == 0, done.stderr
    schema = pq.read_schema(out)
    assert schema.field("attr.batch").type == pa.int64()
    assert schema.field("attr.cacheHit").type == pa.bool_()
    assert schema.field("attr.checkpointStatus").type == pa.string()
    assert "attributes" not in schema.names


def test_demo_progress_lines_do_not_repeat(kafka_bootstrap):
    """Not on a terminal, the demo never prints the same progress state twice in a row."""
    done = run_cli(
        "demo", "--duration-s", "2", "--app-spans-per-s", "10", bootstrap=kafka_bootstrap
    )
    assert done.returncode == 0, done.stdout + done.stderr
    states = [line.split("  ", 1)[1] for line in done.stdout.splitlines() if line.startswith("t=")]
    assert states
    assert all(a != b for a, b in itertools.pairwise(states))


def test_tail_interrupted_exits_130(kafka_bootstrap, new_topic):
    """Ctrl-C (SIGINT) while following: 'interrupted' and exit code 130, as documented."""
    topic = new_topic(partitions=1)
    # A shell may start background children with SIGINT ignored (a terminal's are not): the
    # child restores Python's handler, then runs the command as `python -m spanstream.cli`.
    start = (
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        f"sys.argv = ['spanstream', 'tail', {topic!r}]; "
        "runpy.run_module('spanstream.cli', run_name='__main__')"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", start],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap},
    )
    try:
        assert process.stderr is not None
        assert "waiting for spans" in process.stderr.readline()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130
    assert "interrupted" in stderr
