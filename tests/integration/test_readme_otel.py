"""The README's "View traces in a trace viewer" section, run as written against a real collector."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from _otlp_backend import OtlpBackend
from _readme import code_blocks, section
from confluent_kafka import Producer

from spanstream.schemas import Span, encode_span

ROOT = Path(__file__).resolve().parents[2]
TITLE = "View traces in a trace viewer"


def _bash_lines() -> list[str]:
    (block,) = code_blocks(section(TITLE), "bash")
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def test_the_otel_reporter_example_exports_its_span(otlp_backend, tmp_path):
    """otel-traces.yaml + the Python example: one span tree exported, as printed."""
    text = section(TITLE)
    (yaml_block,) = code_blocks(text, "yaml")
    (python_block,) = code_blocks(text, "python")
    assert "http://localhost:4317" in yaml_block
    config = yaml_block.replace("http://localhost:4317", otlp_backend.grpc_endpoint)
    (tmp_path / "otel-traces.yaml").write_text(config, encoding="utf-8")
    (tmp_path / "example.py").write_text(python_block, encoding="utf-8")
    ran = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "1 span trees exported"
    (span,) = otlp_backend.wait_for_spans(1)
    assert (span.name, span.scope) == ("Load", "my.etl.Loader")
    assert span.attributes["cached"] is True
    assert span.attributes["job_name"] == "etl"
    assert span.resource["service.name"] == "etl"


def test_the_local_collector_configuration_is_valid(otelcol_binary):
    """``otelcol/local.yaml`` is a configuration the built collector accepts."""
    (start, *_rest) = _bash_lines()
    assert start.startswith("$(otelcol/build.sh) --config otelcol/local.yaml")
    checked = subprocess.run(
        [str(otelcol_binary), "validate", "--config", "otelcol/local.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_forward_and_waterfall_lines_run_as_written(
    kafka_bootstrap, new_topic, otlp_backend: OtlpBackend, tmp_path
):
    """The forward line delivers a topic's checkpoint tree; the waterfall line draws it."""
    topic = new_topic()
    root = Span.builder("org.example.Tracker", "Checkpoint").set_attribute("checkpointId", 1)
    root.add_child(Span.builder("org.example.Tracker", "Checkpoint_Task"))
    span = root.build(extra_attributes={"<job_name>": "etl", "<host>": "jm-0"})
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(topic, encode_span(span))
    assert producer.flush(60) == 0

    lines = _bash_lines()
    (forward,) = [line for line in lines if line.startswith("spanstream forward")]
    forward = forward.replace("flink-traces", topic).replace(
        "http://localhost:4317", otlp_backend.grpc_endpoint
    )
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap}
    args = [*shlex.split(forward)[1:], "--group", f"readme-{topic}"]
    done = subprocess.run(
        [sys.executable, "-m", "spanstream.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(otlp_backend.wait_for_spans(2)) == 2

    (draw,) = [line for line in lines if line.startswith("python otelcol/waterfall.py")]
    draw = draw.replace(".state/otlp.jsonl", str(otlp_backend.output)).replace(
        "checkpoint.png", str(tmp_path / "checkpoint.png")
    )
    drawn = subprocess.run(
        [sys.executable, *shlex.split(draw)[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert drawn.returncode == 0, drawn.stderr
    assert f"span={span.span_id.hex()} parent=-" in drawn.stdout
    assert f"parent={span.span_id.hex()}" in drawn.stdout
    assert (tmp_path / "checkpoint.png").stat().st_size > 0
