"""The Kafka reporter's sender alone against raw produce: spans/s acknowledged (acks=all).

The spans are built before the clock starts, so the figure is the reporter's own cost (hand-off,
encode, key, headers, produce, delivery reports) and not the application's ``add_span``. Each
repeat runs raw then reporter on fresh topics, interleaved, so both see the same machine.

- raw: confluent-kafka ``produce`` of the same spans pre-encoded, the same key, librdkafka's
  defaults plus acks=all and idempotence (no compression, no headers, error-only reports);
- reporter: ``notify_of_added_span`` of every span, then ``flush``; counted from the reporter's
  ``delivered`` counter. ``--setting KEY=VALUE`` changes a reporter setting (repeatable).

    .venv/bin/python benchmarks/kafka_reporter_sender.py --bootstrap 127.0.0.1:39092
"""

from __future__ import annotations

import time
from typing import Any

import _harness as h


def _raw(bootstrap: str, topic: str, messages: list[bytes], key: bytes) -> float:
    from confluent_kafka import Producer

    producer = Producer(h.producer_config(bootstrap, **{"delivery.report.only.error": True}))
    producer.produce(topic, messages[0], key)
    producer.flush(30)
    produce = producer.produce
    start = time.perf_counter()
    for value in messages:
        while True:
            try:
                produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.001)
    remaining = producer.flush(120)
    return (len(messages) - remaining) / (time.perf_counter() - start)


def _reporter(bootstrap: str, topic: str, spans: list[Any], settings: dict[str, str]) -> float:
    from spanstream.producer import KafkaTraceReporter, MetricConfig

    values: dict[str, object] = {
        "bootstrap.servers": bootstrap,
        "topic": topic,
        "topic.create": "false",
        "queue.max.spans": len(spans) + 1,
    }
    values.update(settings)
    reporter = KafkaTraceReporter()
    reporter.open(MetricConfig(values, prefix="traces.reporter.kafka."))
    try:
        reporter.notify_of_added_span(spans[0])
        reporter.flush(30)
        before = reporter.snapshot().delivered
        notify = reporter.notify_of_added_span
        start = time.perf_counter()
        for span in spans:
            notify(span)
        reporter.flush(120)
        elapsed = time.perf_counter() - start
        return (reporter.snapshot().delivered - before) / elapsed
    finally:
        reporter.close(10)


def main(argv: list[str] | None = None) -> None:
    """Run from the command line."""
    p = h.parser(__doc__.splitlines()[0])
    p.add_argument("--spans", type=int, default=200_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--setting", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args(argv)
    bootstrap = h.require_bootstrap(args)
    count = 2000 if args.quick else args.spans
    settings = dict(s.split("=", 1) for s in args.setting)
    from _spanstream import built_span, message_key

    from spanstream.schemas import encode_span

    spans = [built_span(i) for i in range(count)]
    messages = [encode_span(span) for span in spans]
    raw: list[float] = []
    ours: list[float] = []
    for _ in range(1 if args.quick else args.repeats):
        with h.fresh_topic(bootstrap, "sender-raw", partitions=3) as topic:
            raw.append(_raw(bootstrap, topic, messages, message_key()))
        with h.fresh_topic(bootstrap, "sender-reporter", partitions=3) as topic:
            ours.append(_reporter(bootstrap, topic, spans, settings))
    r, o = h.median(raw), h.median(ours)
    print(f"raw produce      {r:>10,.0f} spans/s  samples {[round(x) for x in raw]}")
    print(f"reporter sender  {o:>10,.0f} spans/s  samples {[round(x) for x in ours]}")
    print(f"ratio            {o / r:>10.2f}  settings {settings or 'defaults'}")


if __name__ == "__main__":
    main()
