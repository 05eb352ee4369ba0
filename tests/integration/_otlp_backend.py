"""A real OTLP backend for the integration tests: an OpenTelemetry Collector, built from Go
modules by ``otelcol/build.sh`` (once per machine, cached under the state dir), with an OTLP
receiver (gRPC and HTTP on loopback) and a file exporter writing what arrived as OTLP JSON.

:class:`OtlpBackend` starts, stops and restarts one collector and reads back what it received.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = _ROOT / "otelcol" / "build.sh"


def collector_binary() -> Path:
    """Build (or find the cached) collector; its path."""
    result = subprocess.run(
        [str(BUILD_SCRIPT)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"otelcol/build.sh failed:\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _value(any_value: dict[str, Any]) -> object:
    if "stringValue" in any_value:
        return any_value["stringValue"]
    if "intValue" in any_value:
        return int(any_value["intValue"])
    if "doubleValue" in any_value:
        return float(any_value["doubleValue"])
    if "boolValue" in any_value:
        return bool(any_value["boolValue"])
    return any_value


def _attributes(items: list[dict[str, Any]] | None) -> dict[str, object]:
    return {item["key"]: _value(item.get("value", {})) for item in items or []}


@dataclass(frozen=True)
class ReceivedSpan:
    """One span as the collector received it."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    scope: str
    attributes: dict[str, object]
    resource: dict[str, object]
    start_ns: int
    end_ns: int


@dataclass(frozen=True)
class ReceivedLog:
    """One log record as the collector received it."""

    trace_id: str
    span_id: str
    scope: str
    body: object
    severity_text: str
    severity_number: int
    observed_ns: int
    attributes: dict[str, object]
    resource: dict[str, object]


class OtlpBackend:
    """One collector process on fixed loopback ports (so a restart keeps its address)."""

    def __init__(self, binary: Path, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.grpc_port = _free_port()
        self.http_port = _free_port()
        self.output = workdir / "otlp.jsonl"
        self.config = workdir / "collector.yaml"
        self.log = workdir / "collector.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.config.write_text(
            f"""receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{self.grpc_port}
      http:
        endpoint: 127.0.0.1:{self.http_port}
exporters:
  file:
    path: {self.output}
    flush_interval: 100ms
    append: true  # a restarted collector keeps what arrived before
service:
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file]
    logs:
      receivers: [otlp]
      exporters: [file]
"""
        )

    @property
    def grpc_endpoint(self) -> str:
        """``http://127.0.0.1:<port>`` of the OTLP/gRPC receiver."""
        return f"http://127.0.0.1:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        """``http://127.0.0.1:<port>`` of the OTLP/HTTP receiver."""
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, *, timeout_s: float = 60.0) -> None:
        """Start the collector and wait until both receivers accept connections."""
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [str(self.binary), f"--config={self.config}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout_s
        for port in (self.grpc_port, self.http_port):
            while True:
                if self._process.poll() is not None:
                    raise RuntimeError(f"collector exited:\n{self.log.read_text()[-4000:]}")
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", port), timeout=1),
                ):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"collector port {port} not open after {timeout_s} s")
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the collector (it flushes its file exporter on the way out)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)

    def _lines(self) -> list[dict[str, Any]]:
        if not self.output.exists():
            return []
        lines = []
        for line in self.output.read_text().splitlines():
            with contextlib.suppress(json.JSONDecodeError):  # a line being written right now
                lines.append(json.loads(line))
        return lines

    def spans(self) -> list[ReceivedSpan]:
        """Every span received so far."""
        found = []
        for document in self._lines():
            for resource_spans in document.get("resourceSpans", []):
                resource = _attributes(resource_spans.get("resource", {}).get("attributes"))
                for scope_spans in resource_spans.get("scopeSpans", []):
                    scope = scope_spans.get("scope", {}).get("name", "")
                    found.extend(
                        ReceivedSpan(
                            trace_id=span["traceId"],
                            span_id=span["spanId"],
                            parent_span_id=span.get("parentSpanId", ""),
                            name=span["name"],
                            scope=scope,
                            attributes=_attributes(span.get("attributes")),
                            resource=resource,
                            start_ns=int(span.get("startTimeUnixNano", 0)),
                            end_ns=int(span.get("endTimeUnixNano", 0)),
                        )
                        for span in scope_spans.get("spans", [])
                    )
        return found

    def logs(self) -> list[ReceivedLog]:
        """Every log record received so far."""
        found = []
        for document in self._lines():
            for resource_logs in document.get("resourceLogs", []):
                resource = _attributes(resource_logs.get("resource", {}).get("attributes"))
                for scope_logs in resource_logs.get("scopeLogs", []):
                    scope = scope_logs.get("scope", {}).get("name", "")
                    found.extend(
                        ReceivedLog(
                            trace_id=record.get("traceId", ""),
                            span_id=record.get("spanId", ""),
                            scope=scope,
                            body=_value(record.get("body", {})),
                            severity_text=record.get("severityText", ""),
                            severity_number=int(
                                _SEVERITY_NUMBERS.get(record.get("severityNumber", 0), 0)
                                if isinstance(record.get("severityNumber"), str)
                                else record.get("severityNumber", 0)
                            ),
                            observed_ns=int(record.get("observedTimeUnixNano", 0)),
                            attributes=_attributes(record.get("attributes")),
                            resource=resource,
                        )
                        for record in scope_logs.get("logRecords", [])
                    )
        return found

    def wait_for_spans(self, count: int, *, timeout_s: float = 60.0) -> list[ReceivedSpan]:
        """Wait until at least ``count`` spans arrived; return them all."""
        deadline = time.monotonic() + timeout_s
        while True:
            spans = self.spans()
            if len(spans) >= count or time.monotonic() > deadline:
                return spans
            time.sleep(0.2)

    def wait_for_logs(self, count: int, *, timeout_s: float = 60.0) -> list[ReceivedLog]:
        """Wait until at least ``count`` log records arrived; return them all."""
        deadline = time.monotonic() + timeout_s
        while True:
            logs = self.logs()
            if len(logs) >= count or time.monotonic() > deadline:
                return logs
            time.sleep(0.2)


# The JSON encoding may write the severity number as the enum's name.
_SEVERITY_NUMBERS = {
    "SEVERITY_NUMBER_UNSPECIFIED": 0,
    "SEVERITY_NUMBER_TRACE": 1,
    "SEVERITY_NUMBER_DEBUG": 5,
    "SEVERITY_NUMBER_INFO": 9,
    "SEVERITY_NUMBER_WARN": 13,
    "SEVERITY_NUMBER_ERROR": 17,
    "SEVERITY_NUMBER_FATAL": 21,
}
