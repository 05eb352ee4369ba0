"""Which compression should the Kafka reporter use by default? Measured on the real broker.

For each of none, lz4, zstd, snappy (and gzip for reference) this prints:

- spanstream: spans/s acknowledged (acks=all) through ``add_span`` -> KafkaTraceReporter -> topic,
  with ``producer.compression.type`` set to the codec (median of ``--repeats`` runs);
- raw: confluent-kafka ``produce`` of the same pre-encoded span messages with the same codec;
- wire bytes per span: what librdkafka sent to the broker (its ``txbytes`` statistic) divided by
  the spans, in the raw run.

    .venv/bin/python benchmarks/kafka_compression.py --bootstrap 127.0.0.1:39092
"""

from __future__ import annotations

import json
import time
from typing import Any

import _harness as h

CODECS = ("none", "lz4", "zstd", "snappy", "gzip")


def _raw(
    bootstrap: str, topic: str, codec: str, messages: list[bytes], key: bytes, repeats: int
) -> dict[str, Any]:
    from confluent_kafka import Producer

    txbytes = 0

    def on_stats(text: str) -> None:
        nonlocal txbytes
        stats = json.loads(text)
        txbytes = max(txbytes, int(stats.get("tx_bytes", 0)))

    producer = Producer(
        h.producer_config(
            bootstrap,
            **{
                "compression.type": codec,
                "linger.ms": 5,
                "statistics.interval.ms": 100,
                "stats_cb": on_stats,
            },
        )
    )
    producer.produce(topic, messages[0], key)
    producer.flush(30)
    produce = producer.produce
    rates: list[float] = []
    per_span: list[float] = []
    for _ in range(repeats):
        time.sleep(0.25)
        producer.poll(0.2)
        warm_bytes = txbytes
        start = time.perf_counter()
        for value in messages:
            while True:
                try:
                    produce(topic, value, key)
                    break
                except BufferError:
                    producer.poll(0.001)
        remaining = producer.flush(120)
        elapsed = time.perf_counter() - start
        rates.append((len(messages) - remaining) / elapsed)
        time.sleep(0.25)
        producer.poll(0.2)  # one more statistics callback, after the last send
        per_span.append((txbytes - warm_bytes) / len(messages))
    return {
        "spans_per_s": h.median(rates),
        "samples": [round(x) for x in rates],
        "wire_bytes_per_span": h.median(per_span),
    }


def _reporter(bootstrap: str, topic: str, codec: str, spans: int, repeats: int) -> dict[str, Any]:
    from _spanstream import Pipeline, add_spans

    pipeline = Pipeline(
        bootstrap=bootstrap,
        topic=topic,
        settings={"producer.compression.type": codec, "queue.max.spans": spans + 1000},
    )
    try:
        add_spans(pipeline.group, 0, 1000)
        pipeline.flush(60)
        rates: list[float] = []
        for r in range(repeats):
            before = pipeline.counters()["delivered"]
            start = time.perf_counter()
            add_spans(pipeline.group, (r + 1) * spans, spans)
            pipeline.flush(120)
            elapsed = time.perf_counter() - start
            rates.append((pipeline.counters()["delivered"] - before) / elapsed)
        return {"spans_per_s": h.median(rates), "samples": [round(x) for x in rates]}
    finally:
        pipeline.close()


def main(argv: list[str] | None = None) -> None:
    """Run from the command line."""
    p = h.parser(__doc__.splitlines()[0])
    p.add_argument("--spans", type=int, default=100_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--codecs", default=",".join(CODECS))
    args = p.parse_args(argv)
    bootstrap = h.require_bootstrap(args)
    spans = 2000 if args.quick else args.spans
    repeats = 1 if args.quick else args.repeats
    from _spanstream import encoded_spans, message_key

    messages = encoded_spans(spans)
    key = message_key()
    rows: dict[str, Any] = {}
    for codec in args.codecs.split(","):
        with h.fresh_topic(bootstrap, f"compression-{codec}", partitions=3) as topic:
            raw = _raw(bootstrap, topic, codec, messages, key, repeats)
        with h.fresh_topic(bootstrap, f"compression-r-{codec}", partitions=3) as topic:
            ours = _reporter(bootstrap, topic, codec, spans, repeats)
        rows[codec] = {"raw": raw, "spanstream": ours}
        h.log(f"{codec}: {ours['spans_per_s']:,.0f} spans/s via the reporter")
    print(f"{'codec':<8} {'spanstream spans/s':>19} {'raw msg/s':>11} {'wire B/span':>12}")
    for codec, row in rows.items():
        print(
            f"{codec:<8} {row['spanstream']['spans_per_s']:>19,.0f} "
            f"{row['raw']['spans_per_s']:>11,.0f} {row['raw']['wire_bytes_per_span']:>12,.1f}"
        )
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
