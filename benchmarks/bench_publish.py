"""End-to-end publish throughput: spans per second acknowledged by the broker (acks=all).

``--impl raw``: the limit. The spans are encoded before the clock starts (the same records the
reporter writes: one message each, the same value, key and headers, and the reporter's
librdkafka settings: acks=all, idempotence, lz4, linger 5 ms); the timed part is
confluent-kafka's ``produce`` of each message and the final ``flush``. Delivery reports are
asked for errors only (``delivery.report.only.error``): a message whose flush completes without
an error was acknowledged, and a per-message Python callback is not part of the client's own
limit.

``--impl spanstream``: ``add_span`` of freshly built spans through the Kafka reporter, then
``flush``; the figure counts only the spans the reporter's counters say were delivered.
``--sender`` picks the sender's produce loop, to compare them in one run: ``c`` (the default:
the C loop, librdkafka called with the interpreter lock released), ``c-holding-lock`` (the
same loop with the lock held) or ``python`` (the Python loop, the reference, as before the C
loop existed).

``--shape`` picks the workload (flat, wide, tree; see ``_harness``); rates count root spans.

``--impl otel``: the OpenTelemetry SDK path (start, 7 attributes, end, BatchSpanProcessor,
OTLP protobuf, confluent-kafka produce with the same settings), then force-flush and producer
flush; one record per span (``--otel-message per-span``, the shape of the other rows) or one per
export batch (``per-batch``, the OpenTelemetry Collector's shape).

Every timed run offers ``--spans`` spans from the caller's thread as fast as it can; queues are
sized so that nothing is dropped (the BatchSpanProcessor's ``max_queue_size``, the reporter's
``queue.max.spans``; a drop would be counted and would not count as throughput).
The figure is the median over ``--repeats`` runs in one process.
"""

from __future__ import annotations

import time
from typing import Any

import _harness as h


def _raw(bootstrap: str, topic: str, spans: int, repeats: int, shape: str) -> dict[str, Any]:
    from _spanstream import encoded_spans, message_key, record_headers, reporter_producer_settings
    from confluent_kafka import KafkaError, Message, Producer

    messages = encoded_spans(spans, shape)
    key = message_key()
    headers = record_headers()
    failed = 0

    def on_error(err: KafkaError | None, _msg: Message) -> None:
        nonlocal failed
        if err is not None:
            failed += 1

    settings = {
        **reporter_producer_settings(),
        "delivery.report.only.error": True,
        "on_delivery": on_error,
        "queue.buffering.max.messages": max(100_000, spans),
    }
    producer = Producer(h.producer_config(bootstrap, **settings))
    producer.produce(topic, messages[0], key, headers=headers)
    producer.flush(30)  # connection, idempotent producer id, metadata
    rates: list[float] = []
    produce = producer.produce
    for _ in range(repeats):
        failed_before = failed
        start = time.perf_counter()
        for value in messages:
            while True:
                try:
                    produce(topic, value, key, headers=headers)
                    break
                except BufferError:
                    producer.poll(0.001)
        remaining = producer.flush(120)
        elapsed = time.perf_counter() - start
        acknowledged = spans - (failed - failed_before) - remaining
        rates.append(acknowledged / elapsed)
    return {
        "spans_per_s": h.median(rates),
        "samples": [round(r) for r in rates],
        "failed": failed,
        "message_bytes": round(sum(map(len, messages)) / len(messages), 1),
    }


def _otel(
    bootstrap: str, topic: str, spans: int, repeats: int, *, per_span: bool, shape: str
) -> dict[str, Any]:
    from _otel import KafkaOtlpSpanExporter, otel_pipeline, start_spans
    from _spanstream import reporter_producer_settings

    pipeline = otel_pipeline(
        bootstrap=bootstrap,
        topic=topic,
        per_span=per_span,
        max_queue_size=max(spans * h.spans_per_root(shape), 2048),
        producer_settings=reporter_producer_settings(),
    )
    exporter = pipeline.exporter
    assert isinstance(exporter, KafkaOtlpSpanExporter)
    try:
        start_spans(pipeline.tracer, 0, 1000, shape)
        pipeline.drain()
        # Root spans per second, as the other rows count: a tree's children come with it.
        per_root = h.spans_per_root(shape)
        rates: list[float] = []
        dropped = 0
        for r in range(repeats):
            delivered_before = exporter.delivered_spans
            exported_before = exporter.exported_spans
            start = time.perf_counter()
            start_spans(pipeline.tracer, (r + 1) * spans, spans, shape)
            pipeline.drain()
            elapsed = time.perf_counter() - start
            rates.append((exporter.delivered_spans - delivered_before) / per_root / elapsed)
            dropped += spans * per_root - (exporter.exported_spans - exported_before)
        return {
            "spans_per_s": h.median(rates),
            "samples": [round(r) for r in rates],
            "dropped": dropped,
            "failed": exporter.failed_spans,
            "message_bytes": round(exporter.bytes / max(1, exporter.messages), 1),
            "spans_per_message": round(exporter.exported_spans / max(1, exporter.messages), 1),
        }
    finally:
        pipeline.close()


def _choose_sender(sender: str) -> None:
    """Make the reporter's sender use the produce loop ``sender`` names (see the docstring)."""
    import spanstream.producer._produce_loop as produce_loop
    from spanstream.producer import _produce

    _produce.set_release_lock(sender == "c")
    if sender == "python":
        # The reference loop, for this run only (record_producer's None means "no C loop").
        produce_loop.record_producer = lambda *_args, **_kwargs: None  # type: ignore[assignment]


def _spanstream(
    bootstrap: str,
    topic: str,
    spans: int,
    repeats: int,
    settings: dict[str, str],
    shape: str,
    sender: str,
) -> dict[str, Any]:
    from _spanstream import Pipeline, add_spans

    _choose_sender(sender)
    # Lossless like the other rows: the hand-off queue holds a whole run.
    settings = {"queue.max.spans": str(max(100_000, spans)), **settings}
    pipeline = Pipeline(bootstrap=bootstrap, topic=topic, settings=settings)
    try:
        add_spans(pipeline.group, 0, 1000, shape)
        pipeline.flush(60)
        rates: list[float] = []
        sender_thread = pipeline.reporter._sender.thread
        sender_clock = time.pthread_getcpuclockid(sender_thread.ident)
        sender_cpu_s = caller_cpu_s = 0.0
        for r in range(repeats):
            delivered_before = pipeline.counters()["delivered"]
            sender_cpu_start = time.clock_gettime(sender_clock)
            caller_cpu_start = time.thread_time()
            start = time.perf_counter()
            add_spans(pipeline.group, (r + 1) * spans, spans, shape)
            caller_cpu_s += time.thread_time() - caller_cpu_start
            pending = pipeline.flush(120)
            elapsed = time.perf_counter() - start
            sender_cpu_s += time.clock_gettime(sender_clock) - sender_cpu_start
            if pending:
                h.log(f"{pending} spans still pending after flush")
            rates.append((pipeline.counters()["delivered"] - delivered_before) / elapsed)
        return {
            "spans_per_s": h.median(rates),
            "samples": [round(r) for r in rates],
            "counters": pipeline.counters(),
            "settings": settings,
            "sender": sender,
            "c_loop_records": pipeline.reporter._sender.fast_produced,
            # CPU time of the caller's loop and of the sender thread (all of it: with or
            # without the interpreter lock), per root span.
            "caller_cpu_us_per_span": round(caller_cpu_s / (spans * repeats) * 1e6, 2),
            "sender_cpu_us_per_span": round(sender_cpu_s / (spans * repeats) * 1e6, 2),
        }
    finally:
        pipeline.close()


def run(args: Any) -> dict[str, Any]:
    """Measure one implementation; return the result dict."""
    bootstrap = h.require_bootstrap(args)
    spans = 2000 if args.quick else args.spans
    repeats = 1 if args.quick else args.repeats
    settings = dict(s.split("=", 1) for s in args.setting)
    result: dict[str, Any] = {
        "bench": "publish",
        "impl": args.impl,
        "shape": args.shape,
        "spans": spans,
        "repeats": repeats,
    }
    with h.fresh_topic(bootstrap, f"publish-{args.impl}") as topic:
        if args.impl == "raw":
            result.update(_raw(bootstrap, topic, spans, repeats, args.shape))
        elif args.impl == "otel":
            result["otel_message"] = args.otel_message
            per_span = args.otel_message == "per-span"
            result.update(
                _otel(bootstrap, topic, spans, repeats, per_span=per_span, shape=args.shape)
            )
        else:
            result.update(
                _spanstream(bootstrap, topic, spans, repeats, settings, args.shape, args.sender)
            )
    return result


def main(argv: list[str] | None = None) -> None:
    """Run from the command line."""
    p = h.parser(__doc__.splitlines()[0])
    p.add_argument("--impl", choices=["raw", "spanstream", "otel"], required=True)
    p.add_argument(
        "--otel-message",
        choices=["per-span", "per-batch"],
        default="per-span",
        help="the OpenTelemetry exporter writes one Kafka record per span, or per export batch",
    )
    p.add_argument(
        "--sender",
        choices=["c", "c-holding-lock", "python"],
        default="c",
        help="spanstream's produce loop (see above); c is what the reporter uses",
    )
    p.add_argument("--spans", type=int, default=200_000, help="spans per timed run")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a spanstream reporter setting (traces.reporter.kafka.KEY), repeatable",
    )
    args = p.parse_args(argv)
    h.emit(args, run(args))


if __name__ == "__main__":
    main()
