"""End-to-end latency: from ``add_span`` to a SpanConsumer in another process seeing the span.

A driver process reports spans at a steady ``--rate`` (10,000/s by default) through a metric
group and the Kafka reporter with its default settings; a consumer process (this script with
``--role consume``) reads them with SpanConsumer's defaults. Each span carries the wall-clock
nanoseconds of its ``add_span`` call as an eighth attribute (``bench.sent_ns``); the consumer
subtracts it from the time it sees the span. Both processes share the machine's clock.

The consumer first has to join its group: the driver sends warm-up spans (negative checkpoint
ids, not counted) until the consumer has seen one, waits another second, then sends
``--seconds`` seconds of measured spans. With ``BENCH_LATENCY_DUMP=path`` in the environment
the consumer also writes every measured latency (ns, in arrival order) to that file.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _harness as h
from _harness import SCOPE, SPAN_NAME

SENT_NS = "bench.sent_ns"


def _report(add_span: Any, builder: Any, checkpoint_id: int) -> None:
    add_span(
        builder(SCOPE, SPAN_NAME)
        .set_attribute("checkpointId", checkpoint_id)
        .set_attribute("fullSize", 123_456_789)
        .set_attribute("checkpointedSize", 4_567_890)
        .set_attribute("checkpointStatus", "COMPLETED")
        .set_attribute("checkpointType", "Checkpoint")
        .set_attribute("isUnaligned", "false")
        .set_attribute("metadataSize", 2_731)
        .set_attribute(SENT_NS, time.time_ns())
    )


def _paced(rate: float, count: int, emit: Any, *, first_id: int, step: int = 1) -> float:
    """Call ``emit(id)`` ``count`` times at ``rate`` per second; return the achieved rate.

    Spans due are sent each millisecond (10 at a time at 10,000/s), as a busy service would.
    """
    start = time.perf_counter()
    sent = 0
    while sent < count:
        due = min(count, int((time.perf_counter() - start) * rate) + 1)
        while sent < due:
            emit(first_id + step * sent)
            sent += 1
        time.sleep(0.0005)
    return count / (time.perf_counter() - start)


def _drive(args: Any) -> dict[str, Any]:
    from _spanstream import Pipeline

    from spanstream.schemas import Span

    bootstrap = h.require_bootstrap(args)
    seconds = 2.0 if args.quick else args.seconds
    rate = float(args.rate)
    measured = int(rate * seconds)
    result: dict[str, Any] = {"bench": "latency", "rate_target_per_s": rate, "spans": measured}
    with h.fresh_topic(bootstrap, "latency") as topic:
        out = args.json_out.with_suffix(".consumer.json") if args.json_out else None
        out = out or Path(f"/tmp/bench-latency-{topic}.json")
        command = [sys.executable, __file__, "--role", "consume", "--bootstrap", bootstrap]
        command += ["--topic", topic, "--expect", str(measured), "--json-out", str(out)]
        if os.environ.get("BENCH_LATENCY_DUMP"):
            command += ["--dump", os.environ["BENCH_LATENCY_DUMP"]]
        consumer = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        pipeline = Pipeline(bootstrap=bootstrap, topic=topic, settings={})
        try:
            add_span = pipeline.group.add_span
            builder = Span.builder
            warmup = 0
            ready = False
            deadline = time.monotonic() + 120
            assert consumer.stdout is not None
            while not ready and time.monotonic() < deadline:
                _paced(
                    rate,
                    int(rate / 10),
                    lambda i: _report(add_span, builder, i),
                    first_id=-1 - warmup,
                    step=-1,
                )
                warmup += int(rate / 10)
                readable, _, _ = select.select([consumer.stdout], [], [], 0)
                ready = bool(readable) and consumer.stdout.readline().strip() == "ready"
            if not ready:
                raise RuntimeError("the consumer never saw a span")
            _paced(rate, int(rate), lambda i: _report(add_span, builder, i), first_id=-(10**9))
            h.log(f"consumer ready after {warmup} warm-up spans; measuring {measured} spans")
            achieved = _paced(rate, measured, lambda i: _report(add_span, builder, i), first_id=0)
            pending = pipeline.flush(60)
            result["rate_per_s"] = round(achieved)
            result["pending_after_flush"] = pending
            result["counters"] = pipeline.counters()
            consumer.wait(timeout=120)
        finally:
            pipeline.close()
            if consumer.poll() is None:
                consumer.kill()
                consumer.wait()
        result.update(json.loads(out.read_text()))
        out.unlink(missing_ok=True)
    return result


def _consume(args: Any) -> None:
    from _consumer import span_consumer

    expect = int(args.expect)
    latencies_ns: list[int] = []
    # The record's timestamp is librdkafka's CreateTime, taken in produce(): it splits the
    # latency into the reporter's part (hand-off queue, encoding) and the rest (librdkafka's
    # linger, the broker, the consumer's fetch and decode), at millisecond precision.
    to_produce_ms: list[float] = []
    seen_ids: set[int] = set()
    duplicates = 0
    announced = False
    with span_consumer(h.require_bootstrap(args), args.topic) as consumer:
        # Long enough for the group join and the driver's warm-up; afterwards spans arrive
        # every millisecond until the driver is done.
        for record in consumer.iter_records(idle_timeout_s=60.0):
            now_ns = time.time_ns()
            if not announced:
                print("ready", flush=True)
                announced = True
            attributes = record.span.attributes
            checkpoint_id = attributes["checkpointId"]
            if checkpoint_id < 0:
                continue
            if checkpoint_id in seen_ids:
                duplicates += 1
                continue
            seen_ids.add(checkpoint_id)
            latencies_ns.append(now_ns - attributes[SENT_NS])
            if record.timestamp_ms is not None:
                to_produce_ms.append(record.timestamp_ms - attributes[SENT_NS] / 1e6)
            if len(seen_ids) >= expect:
                break
    if args.dump:
        Path(args.dump).write_text("\n".join(str(ns) for ns in latencies_ns))
    ordered = sorted(ns / 1e6 for ns in latencies_ns)
    produced = sorted(to_produce_ms)
    result = {
        "seen": len(seen_ids),
        "duplicates": duplicates,
        "p50_ms": h.percentile(ordered, 0.50),
        "p99_ms": h.percentile(ordered, 0.99),
        "p999_ms": h.percentile(ordered, 0.999),
        "max_ms": ordered[-1] if ordered else None,
        "to_produce_p50_ms": h.percentile(produced, 0.50),
        "to_produce_p99_ms": h.percentile(produced, 0.99),
    }
    args.json_out.write_text(json.dumps(result) + "\n")


def main(argv: list[str] | None = None) -> None:
    """Run from the command line."""
    p = h.parser(__doc__.splitlines()[0])
    p.add_argument("--rate", type=float, default=10_000.0, help="spans per second")
    p.add_argument("--seconds", type=float, default=15.0, help="measured seconds")
    p.add_argument("--role", choices=["drive", "consume"], default="drive")
    p.add_argument("--topic", help=argparse_suppress())
    p.add_argument("--expect", type=int, default=0, help=argparse_suppress())
    p.add_argument("--dump", help=argparse_suppress())
    args = p.parse_args(argv)
    if args.role == "consume":
        _consume(args)
    else:
        h.emit(args, _drive(args))


def argparse_suppress() -> str:
    """Internal flags of the consumer role."""
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
