"""Forwarding rate: ``forward_spans`` to a real OTLP backend, beside the consumer's raw decode.

One topic is filled once with ``--spans`` encoded span messages (the reporter's bytes, the same
7-attribute span as the other benchmarks), then read from the beginning, one after the other:

- ``raw-decode``: confluent-kafka's ``Consumer.consume`` plus ``decode_span`` of each value,
  nothing else: the ceiling of any consumer that decodes;
- ``forward``: ``forward_spans`` with a fresh consumer group to an OpenTelemetry Collector
  (``otelcol/build.sh``'s, an OTLP/gRPC receiver writing to a file), every batch exported and
  committed before the next. Timed from the first committed batch to the last span; beside
  it, spans per CPU second of this process (so the collector's share of the wall time shows).

The collector is given with ``--otlp-endpoint``, or started here from ``--collector`` (the
binary ``otelcol/build.sh`` prints) on free loopback ports and stopped at the end.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import _harness as h
from bench_consume import _fill, _raw_decode


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_collector(binary: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    grpc_port, http_port = _free_port(), _free_port()
    config = workdir / "collector.yaml"
    config.write_text(
        f"""receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:{grpc_port}"}}
      http: {{endpoint: "127.0.0.1:{http_port}"}}
exporters:
  file: {{path: "{workdir / "otlp.jsonl"}"}}
service:
  telemetry: {{metrics: {{level: none}}, logs: {{level: warn}}}}
  pipelines:
    traces: {{receivers: [otlp], exporters: [file]}}
"""
    )
    process = subprocess.Popen(
        [binary, f"--config={config}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if not h.wait_until(lambda: _accepts(grpc_port), timeout_s=60, step_s=0.1):
        process.kill()
        raise RuntimeError("the collector did not open its OTLP port")
    return process, f"http://127.0.0.1:{grpc_port}"


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _forward(bootstrap: str, topic: str, spans: int, endpoint: str, batch: int) -> float:
    from spanstream.consumer import ForwardStats, forward_spans

    marks: list[tuple[float, int]] = []

    def on_batch(totals: ForwardStats) -> None:
        marks.append((time.perf_counter(), totals.records))

    forward_spans(
        topic,
        bootstrap_servers=bootstrap,
        otlp=endpoint,
        group_id=f"bench-forward-{uuid.uuid4().hex[:8]}",
        max_batch_records=batch,
        idle_timeout_s=3.0,
        on_batch=on_batch,
    )
    if not marks or marks[-1][1] < spans:
        raise RuntimeError(f"forwarded {marks[-1][1] if marks else 0} of {spans} spans")
    (start, first), (end, last) = marks[0], marks[-1]
    return (last - first) / (end - start)


def run(args: Any) -> dict[str, Any]:
    """Fill a topic, read it back with raw decode and with the forwarder."""
    bootstrap = h.require_bootstrap(args)
    spans = 2000 if args.quick else args.spans
    result: dict[str, Any] = {"bench": "forward", "spans": spans, "batch_records": args.batch}
    with tempfile.TemporaryDirectory() as workdir, h.fresh_topic(bootstrap, "forward") as topic:
        process = None
        endpoint = args.otlp_endpoint
        if endpoint is None:
            if args.collector is None:
                sys.exit("give --otlp-endpoint or --collector (the path otelcol/build.sh prints)")
            process, endpoint = _start_collector(args.collector, Path(workdir))
        try:
            result["message_bytes"] = round(_fill(bootstrap, topic, spans), 1)
            h.log(f"filled {topic} with {spans} spans")
            raw = _raw_decode(bootstrap, topic, spans, batch_size=args.batch)
            h.log(f"raw decode: {raw:,.0f} spans/s")
            cpu_start = time.process_time()
            forward = _forward(bootstrap, topic, spans, endpoint, args.batch)
            forward_cpu = spans / (time.process_time() - cpu_start)
            h.log(f"forward: {forward:,.0f} spans/s, {forward_cpu:,.0f} spans per CPU second")
        finally:
            if process is not None:
                process.terminate()
                process.wait(30)
    result["raw-decode"] = {"spans_per_s": round(raw)}
    ratio = round(forward / raw, 4)
    result["forward"] = {
        "spans_per_s": round(forward),
        "ratio_to_raw_decode": ratio,
        # this process's CPU (every thread) for the whole forward run, group join included
        "spans_per_cpu_s": round(forward_cpu),
    }
    return result


def main(argv: list[str] | None = None) -> None:
    """Run from the command line."""
    p = h.parser(__doc__.splitlines()[0])
    p.add_argument("--spans", type=int, default=50_000)
    p.add_argument("--batch", type=int, default=2000, help="records per export / consume call")
    p.add_argument("--otlp-endpoint", default=None, help="an OTLP/gRPC endpoint to forward to")
    p.add_argument("--collector", default=None, help="a collector binary to start for the run")
    args = p.parse_args(argv)
    h.emit(args, run(args))


if __name__ == "__main__":
    main()
