"""A real Flink 2.3 job whose trace and event reporters are spanstream's Java plugin, run once
for the tests that read what it sent.

The plugin jar and the proof job are built by ``flink-reporter/build.sh`` (cached by the hash of
their sources). The job runs on a local MiniCluster in its own JVM, with ``FLINK_PLUGINS_DIR``
pointing at a folder holding ``spanstream-kafka/<the shaded jar>``: Flink finds the reporters
through its plugin loader, never through the job's classpath (the job exits 3 if the plugin is
on it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _readme import code_blocks, section
from confluent_kafka import Message

from spanstream.schemas import EVENT_SCHEMA_FINGERPRINT, Span, decode_span
from spanstream.schemas import decode_event as spanstream_decode_event

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "flink-reporter" / "build.sh"
README_SECTION = "Send a Flink cluster's traces to Kafka"
JOB_TIMEOUT_S = 600.0


def build(what: str) -> Path:
    """Build (or find in the cache) the plugin jar or the proof job; return its path."""
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise AssertionError("the Flink plugin needs Java 17 and Maven (mvn) on PATH")
    done = subprocess.run(
        ["bash", str(BUILD), what], capture_output=True, text=True, check=False, timeout=1500
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return Path(done.stdout.strip().splitlines()[-1])


def readme_flink_config() -> str:
    """The ``config.yaml`` example of the README's section on the plugin, as written."""
    (block,) = code_blocks(section(README_SECTION), "yaml")
    return textwrap.dedent(block)


def event_fingerprint() -> bytes:
    """The 8-byte fingerprint of ``schemas/event.avsc`` (``EVENT_SCHEMA_FINGERPRINT``)."""
    return EVENT_SCHEMA_FINGERPRINT


@dataclass(frozen=True)
class FlinkEvent:
    """One decoded event record (the fields the tests read)."""

    name: str
    scope: str
    observed_ts_millis: int
    body: str
    severity: str
    attributes: dict[str, Any]
    event_id: bytes
    trace_id: bytes | None
    span_id: bytes | None


def decode_event(value: bytes) -> FlinkEvent:
    """An event message, decoded by spanstream's event codec (by its fingerprint)."""
    event = spanstream_decode_event(value)
    return FlinkEvent(
        name=event.name,
        scope=event.scope,
        observed_ts_millis=event.observed_ts_millis,
        body=event.body,
        severity=event.severity,
        attributes=dict(event.attributes),
        event_id=event.event_id,
        trace_id=event.trace_id,
        span_id=event.span_id,
    )


@dataclass(frozen=True)
class FlinkRun:
    """What one run of the proof job left on the broker, and how it went."""

    job_name: str
    traces_topic: str
    events_topic: str
    returncode: int
    output: str
    span_messages: list[Message]
    event_messages: list[Message]

    @property
    def spans(self) -> list[Span]:
        """Every span tree the JobManager sent, decoded by spanstream's codec."""
        return [decode_span(m.value()) for m in self.span_messages]

    @property
    def events(self) -> list[FlinkEvent]:
        """Every event the JobManager sent."""
        return [decode_event(m.value()) for m in self.event_messages]


def run_proof_job(
    bootstrap: str,
    make_topic: Callable[[str], str],
    read: Callable[[str, str], list[Message]],
    work_dir: Path,
) -> FlinkRun:
    """Build what is needed, run the proof job, and read both topics back."""
    jar = build("plugin")
    proof = build("proof")
    plugins = work_dir / "plugins"
    (plugins / "spanstream-kafka").mkdir(parents=True, exist_ok=True)
    shutil.copy(jar, plugins / "spanstream-kafka" / jar.name)
    traces_topic = make_topic("traces")
    events_topic = make_topic("events")
    job_name = f"proof-{uuid.uuid4().hex[:8]}"
    # The README's config.yaml, with this broker and these topics: what a cluster would read.
    config = readme_flink_config()
    for written in ("127.0.0.1:39092", "flink-traces", "flink-events"):
        assert written in config, written
    conf = work_dir / "conf"
    conf.mkdir()
    (conf / "config.yaml").write_text(
        config.replace("127.0.0.1:39092", bootstrap)
        .replace("flink-traces", traces_topic)
        .replace("flink-events", events_topic),
        "utf-8",
    )
    classpath = f"{proof / 'classes'}:{(proof / 'classpath.txt').read_text('utf-8').strip()}"
    done = subprocess.run(
        [
            "java",
            "-Xmx768m",
            "-cp",
            classpath,
            "io.spanstream.flink.proof.CheckpointingJob",
            str(conf),
            job_name,
        ],
        env={**os.environ, "FLINK_PLUGINS_DIR": str(plugins)},
        cwd=work_dir,
        capture_output=True,
        text=True,
        timeout=JOB_TIMEOUT_S,
        check=False,
    )
    (work_dir / "job.log").write_text(done.stdout + done.stderr, "utf-8")
    return FlinkRun(
        job_name=job_name,
        traces_topic=traces_topic,
        events_topic=events_topic,
        returncode=done.returncode,
        output=done.stdout + done.stderr,
        span_messages=read(bootstrap, traces_topic),
        event_messages=read(bootstrap, events_topic),
    )
