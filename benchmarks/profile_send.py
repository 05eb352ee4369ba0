"""Where a sender's time goes, per record: the CPU time of each step of publishing, on one thread.

Not part of ``run_all``: a tool for whoever works on the publish target. No broker is needed
(librdkafka only queues the records: its own threads, which compress and send, are not
counted). Each figure is this thread's CPU time (``time.thread_time``) per record, the best of
``--rounds``, for records of ``--shape`` (see ``_harness``) with the reporter's headers and key:

- ``encode_span``: the codec alone;
- ``produce()``: confluent-kafka's ``Producer.produce`` of encoded records, with the three
  default headers, one header, and none (its header list is turned into librdkafka headers on
  every call);
- ``Python loop``: the sender's reference loop (``ProduceLoop.send_items``: encode, key, size
  check, ``produce``);
- ``C loop``: the sender's C loop (``producer/_produce.c``: the same steps, librdkafka called
  directly); ``of which without the lock`` is the part the interpreter lock is released for
  (the C loop with the lock held, less the encode and key steps measured alone).

    .venv/bin/python benchmarks/profile_send.py --shape flat
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from _harness import SHAPES
from _spanstream import built_span, message_key, record_headers
from confluent_kafka import Producer

from spanstream.producer._fast_produce import librdkafka_path
from spanstream.producer._produce import RecordProducer
from spanstream.producer._produce_loop import ProduceLoop
from spanstream.producer._sender_counters import SenderCounters
from spanstream.schemas import Span, encode_span

_CLIENT_ID = "profile-send"


def _producer(records: int) -> Producer:
    # Nothing listens on port 9: the records stay queued in librdkafka, purged after each round.
    return Producer(
        {
            "bootstrap.servers": "127.0.0.1:9",
            "client.id": _CLIENT_ID,
            "log_level": 0,
            "queue.buffering.max.messages": records + 10,
            "queue.buffering.max.kbytes": 4_000_000,
            "linger.ms": 5,
            "acks": "all",
            "enable.idempotence": True,
            "compression.type": "lz4",
            "delivery.report.only.error": True,
            "on_delivery": _ignore,
        }
    )


def _ignore(*_args: object) -> None:
    pass


def _cpu_us(step: Callable[[Producer], object], records: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        producer = _producer(records)
        start = time.thread_time()
        step(producer)
        best = min(best, (time.thread_time() - start) / records * 1e6)
        producer.purge()
        producer.poll(0)
    return best


def main(argv: list[str] | None = None) -> None:
    """Run from the command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", choices=SHAPES, default="flat")
    p.add_argument("--records", type=int, default=20_000)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    records, rounds = args.records, args.rounds
    spans = [built_span(i, args.shape) for i in range(records)]
    values = [encode_span(span) for span in spans]
    key = message_key()
    headers = record_headers()
    path = librdkafka_path()
    assert path is not None, "no librdkafka found in /proc/self/maps"

    def key_of(_span: Span) -> bytes:
        return key

    def produce_all(chosen: list[tuple[str, bytes]] | None) -> Callable[[Producer], None]:
        def step(producer: Producer) -> None:
            produce = producer.produce
            for value in values:
                produce("t", value, key, headers=chosen)

        return step

    def python_loop(producer: Producer) -> None:
        loop: ProduceLoop[Span] = ProduceLoop(SenderCounters(), _ignore, lambda: False)
        loop.configure(
            topic="t",
            encode=encode_span,
            key_of=key_of,
            headers=headers,
            too_large=None,
            max_record_bytes=10**8,
        )
        for start in range(0, records, 2048):
            loop.send_items(spans, start, min(records, start + 2048), producer)

    def c_loop(producer: Producer) -> None:
        fast = RecordProducer(producer, path, _CLIENT_ID, "t", headers, _ignore)
        for start in range(0, records, 2048):
            fast.send(spans[start : start + 2048], 0, encode_span, key_of, None, 10**8, 300)

    def encode_only(_producer: Producer) -> None:
        for span in spans:
            encode_span(span)
            key_of(span)

    from spanstream.producer import _produce

    figures = {
        "encode_span + key": _cpu_us(encode_only, records, rounds),
        "produce(), 3 headers": _cpu_us(produce_all(headers), records, rounds),
        "produce(), 1 header": _cpu_us(produce_all(headers[:1]), records, rounds),
        "produce(), no headers": _cpu_us(produce_all(None), records, rounds),
        "Python loop (encode, key, produce(), 3 headers)": _cpu_us(python_loop, records, rounds),
        "C loop (3 headers)": _cpu_us(c_loop, records, rounds),
    }
    _produce.set_release_lock(False)
    held = _cpu_us(c_loop, records, rounds)
    _produce.set_release_lock(True)
    figures["  of which without the lock"] = max(0.0, held - figures["encode_span + key"])
    print(f"{args.shape}: CPU of this thread per record, us (best of {rounds} x {records:,})")
    for name, value in figures.items():
        print(f"  {name:50s} {value:6.2f}")


if __name__ == "__main__":
    main()
