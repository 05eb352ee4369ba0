"""Consume-and-decode throughput: SpanConsumer against raw consumption of the same messages.

One topic is filled once with ``--spans`` encoded span messages of ``--shape`` (the reporter's
bytes; a tree is one message), then read from the beginning several times, alternating:

- ``raw``: confluent-kafka ``Consumer.consume(num_messages=...)``, each message's value taken,
  nothing decoded: the client's own limit (with the librdkafka settings SpanConsumer uses,
  ``spanstream.consumer.LIBRDKAFKA_DEFAULTS``, as the raw-decode read);
- ``raw-decode``: the same, plus ``decode_span`` of each value: the ceiling of any consumer
  that decodes (what SpanConsumer adds on top of it is its own cost);
- ``spanstream``: ``SpanConsumer``, every record's span decoded back into a ``Span``.

Both read in batches of ``--batch-size``. Each read uses a fresh consumer group; the clock
starts once the first batch is in (so joining the group is not counted, and neither is that
batch) and stops at the last span. The figure is the median over ``--repeats``. Beside it,
``spans_per_cpu_s``: spans over the process's CPU time for the whole read (every thread,
librdkafka's included; the group join too), steadier than wall time on a loaded machine.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import _harness as h


def _fill(bootstrap: str, topic: str, spans: int, shape: str) -> float:
    from _spanstream import encoded_spans, message_key
    from confluent_kafka import Producer

    messages = encoded_spans(spans, shape)
    key = message_key()
    producer = Producer(h.producer_config(bootstrap, **{"linger.ms": 20}))
    for value in messages:
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.01)
    if producer.flush(120):
        raise RuntimeError("could not fill the topic")
    return sum(map(len, messages)) / len(messages)


def _raw(bootstrap: str, topic: str, spans: int, *, batch_size: int, decode: bool = False) -> float:
    from confluent_kafka import Consumer

    from spanstream.consumer import LIBRDKAFKA_DEFAULTS
    from spanstream.schemas import decode_span

    consumer = Consumer(
        {
            **LIBRDKAFKA_DEFAULTS,  # the same client settings as SpanConsumer's
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-raw-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    seen = 0
    counted_from = 0
    start = 0.0
    deadline = time.monotonic() + 300
    try:
        while seen < spans and time.monotonic() < deadline:
            # Never ask for more than remain: consume() waits its timeout for a full batch.
            batch = consumer.consume(num_messages=min(batch_size, spans - seen), timeout=1.0)
            count = 0
            if decode:
                for message in batch:
                    if message.error() is None:
                        decode_span(message.value())
                        count += 1
            else:
                for message in batch:
                    if message.error() is None:
                        message.value()
                        count += 1
            if count and seen == 0:
                start = time.perf_counter()
                counted_from = count
            seen += count
        elapsed = time.perf_counter() - start
    finally:
        consumer.close()
    if seen < spans:
        raise RuntimeError(f"raw consumer saw {seen} of {spans} messages")
    return (seen - counted_from) / elapsed


def _raw_decode(bootstrap: str, topic: str, spans: int, *, batch_size: int) -> float:
    return _raw(bootstrap, topic, spans, batch_size=batch_size, decode=True)


_READS = {"raw": _raw, "raw-decode": _raw_decode}


def _spanstream(bootstrap: str, topic: str, spans: int, *, batch_size: int) -> float:
    from _consumer import read_spans

    return read_spans(bootstrap, topic, spans, batch_size=batch_size)


def run(args: Any) -> dict[str, Any]:
    """Fill a topic, read it back both ways; return the result dict."""
    bootstrap = h.require_bootstrap(args)
    spans = 2000 if args.quick else args.spans
    repeats = 1 if args.quick else args.repeats
    impls = args.impl or ["raw", "raw-decode", "spanstream"]
    batch = 500 if args.quick else args.batch_size
    result: dict[str, Any] = {
        "bench": "consume",
        "shape": args.shape,
        "spans": spans,
        "repeats": repeats,
    }
    with h.fresh_topic(bootstrap, "consume") as topic:
        result["message_bytes"] = round(_fill(bootstrap, topic, spans, args.shape), 1)
        samples: dict[str, list[float]] = {impl: [] for impl in impls}
        cpu: dict[str, list[float]] = {impl: [] for impl in impls}
        for _ in range(repeats):
            for impl in impls:
                read = _READS.get(impl, _spanstream)
                cpu_start = time.process_time()
                samples[impl].append(read(bootstrap, topic, spans, batch_size=batch))
                cpu[impl].append(spans / (time.process_time() - cpu_start))
    for impl, rates in samples.items():
        result[impl] = {
            "spans_per_s": h.median(rates),
            "samples": [round(r) for r in rates],
            "spans_per_cpu_s": h.median(cpu[impl]),
        }
    if "raw" in result:
        for impl in impls:
            if impl != "raw":
                for unit in ("spans_per_s", "spans_per_cpu_s"):
                    result[impl][f"{unit}_ratio_to_raw"] = round(
                        result[impl][unit] / result["raw"][unit], 3
                    )
    return result


def main(argv: list[str] | None = None) -> None:
    """Run from the command line."""
    p = h.parser(__doc__.splitlines()[0])
    p.add_argument("--spans", type=int, default=200_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=10_000, help="spans per consume call")
    p.add_argument(
        "--impl", action="append", choices=["raw", "raw-decode", "spanstream"], help="default: all"
    )
    args = p.parse_args(argv)
    h.emit(args, run(args))


if __name__ == "__main__":
    main()
