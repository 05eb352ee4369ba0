"""A span topic seeded with 10% poison, read by SpanConsumer: every good span once, every bad
record counted, and the consumer never stops.

Poison of every kind: random bytes, truncations, forged huge lengths, wrong fingerprints, valid
Avro of another schema (with its own fingerprint, and with the span schema's), the Confluent
framing, empty values, tombstones, and mutations of valid messages that no longer decode.

Run it (200,000 good spans and 20,000 poison records on the session broker, or the one named by
``$KAFKA_BOOTSTRAP_SERVERS``)::

    .venv/bin/python benchmarks/reliability/poison.py --good 200000

``tests/integration/test_reliability_poison.py`` runs 30,000 + 3,000 with the skip and the
dead-letter policies.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence

import fastavro
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from fuzz_decoder import mutate, zigzag_varint

from spanstream.broker import obtain_broker
from spanstream.consumer import BadRecordPolicy, SpanConsumer
from spanstream.schemas import (
    SCHEMA_FINGERPRINT,
    SINGLE_OBJECT_MARKER,
    DecodeError,
    Span,
    decode_span,
    encode_span,
)

OTHER_SCHEMA = fastavro.parse_schema(
    {
        "type": "record",
        "name": "Payment",
        "namespace": "com.example",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "amount", "type": "double"},
            {"name": "currency", "type": "string"},
        ],
    }
)
_OTHER_FINGERPRINT = bytes.fromhex(
    fastavro.schema.fingerprint(
        fastavro.schema.to_parsing_canonical_form(OTHER_SCHEMA), "CRC-64-AVRO"
    )
)[::-1]
KINDS = (
    "random",
    "truncated",
    "forged-length",
    "wrong-fingerprint",
    "other-schema",
    "other-schema-our-fingerprint",
    "confluent-framing",
    "empty",
    "tombstone",
    "mutation",
)


def good_span(seq: int, run_id: str) -> Span:
    """A good span carrying ``seq`` and ``run`` attributes, with one child."""
    return (
        Span.builder("org.example.Job", "Checkpoint")
        .set_start_ts_millis(1_700_000_000_000 + seq)
        .set_attributes({"seq": seq, "run": run_id, "ratio": seq / 7, "ok": seq % 2 == 0})
        .add_child(Span.builder("org.example.Job", "Task").set_attribute("seq", seq))
        .build()
    )


def _other_avro(rng: random.Random) -> bytes:
    buffer = io.BytesIO()
    record = {"id": rng.randrange(2**40), "amount": rng.random() * 100, "currency": "EUR"}
    fastavro.schemaless_writer(buffer, OTHER_SCHEMA, record)
    return buffer.getvalue()


def poison_record(rng: random.Random, valid: bytes) -> tuple[str, bytes | None]:
    """One hostile record of a random kind (``None`` is a tombstone); it never decodes."""
    kind = rng.choice(KINDS)
    value: bytes | None
    if kind == "random":
        value = rng.randbytes(rng.randrange(1, 2000))
    elif kind == "truncated":
        value = valid[: rng.randrange(len(valid))]
    elif kind == "forged-length":
        huge = zigzag_varint(rng.choice([2**62, 2**40, 2**31, 10**9]))
        value = valid[: 10 + 24] + huge + rng.randbytes(16)
    elif kind == "wrong-fingerprint":
        value = SINGLE_OBJECT_MARKER + rng.randbytes(8) + valid[10:]
    elif kind == "other-schema":
        value = SINGLE_OBJECT_MARKER + _OTHER_FINGERPRINT + _other_avro(rng)
    elif kind == "other-schema-our-fingerprint":
        value = SINGLE_OBJECT_MARKER + SCHEMA_FINGERPRINT + _other_avro(rng)
    elif kind == "confluent-framing":
        value = b"\x00" + (1).to_bytes(4, "big") + valid[10:]
    elif kind == "empty":
        value = b""
    elif kind == "tombstone":
        value = None
    else:
        while True:  # a mutation that no longer decodes
            value = mutate(rng, valid, [valid])
            try:
                decode_span(value)
            except DecodeError:
                break
    if value is not None:
        try:
            decode_span(value)
        except DecodeError:
            pass
        else:
            raise AssertionError(f"a {kind} poison record decoded")
    return kind, value


def seed_topic(
    bootstrap_servers: str, topic: str, *, good: int, bad: int, seed: int = 8
) -> tuple[str, Counter[str]]:
    """Write ``good`` spans and ``bad`` poison records, interleaved at random; return the run
    id of the good spans and the count of poison records by kind."""
    run_id = uuid.uuid4().hex[:12]
    rng = random.Random(seed)
    messages = [encode_span(good_span(seq, run_id)) for seq in range(good)]
    poison_at = sorted(rng.sample(range(good + bad), bad))
    kinds: Counter[str] = Counter()
    producer = Producer({"bootstrap.servers": bootstrap_servers, "linger.ms": 20})
    next_good = 0
    next_poison = 0
    for index in range(good + bad):
        if next_poison < bad and poison_at[next_poison] == index:
            kind, value = poison_record(rng, rng.choice(messages))
            kinds[kind] += 1
            next_poison += 1
        else:
            kind, value = "good", messages[next_good]
            next_good += 1
        while True:
            try:
                producer.produce(
                    topic, value, key=str(index % 97).encode(), headers=[("kind", kind.encode())]
                )
                break
            except BufferError:
                producer.poll(0.05)
        if index % 5000 == 0:
            producer.poll(0)
    if producer.flush(120) != 0:
        raise RuntimeError("the seeding producer could not deliver everything")
    return run_id, kinds


def main(argv: Sequence[str] | None = None) -> int:
    """Seed a topic, read it with the skip policy, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--good", type=int, default=200_000)
    parser.add_argument("--poison-ratio", type=float, default=0.1)
    args = parser.parse_args(argv)
    bad = int(args.good * args.poison_ratio)
    broker = obtain_broker()
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
        topic = f"poison-{uuid.uuid4().hex[:8]}"
        admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(60)
        run_id, kinds = seed_topic(broker.bootstrap_servers, topic, good=args.good, bad=bad)
        seqs: Counter[int] = Counter()
        started = time.monotonic()
        with SpanConsumer(
            topic,
            bootstrap_servers=broker.bootstrap_servers,
            group_id=f"poison-{uuid.uuid4().hex[:8]}",
            start="earliest",
            bad_records=BadRecordPolicy.SKIP,
        ) as consumer:
            for record in consumer.iter_records(idle_timeout_s=15):
                if record.span.attributes.get("run") == run_id:
                    seqs[record.span.attributes["seq"]] += 1  # type: ignore[index]
            stats = consumer.stats()
        elapsed = time.monotonic() - started
        admin.delete_topics([topic])[topic].result(60)
    finally:
        broker.stop()
    summary = {
        "scenario": f"{args.poison_ratio:.0%} poison, skip policy",
        "good": args.good,
        "poison": bad,
        "poison_by_kind": dict(kinds),
        "spans_delivered": stats.spans_delivered,
        "distinct_good_delivered": len(seqs),
        "duplicated": sum(c - 1 for c in seqs.values()),
        "lost": args.good - len(seqs),
        "bad_records_counted": stats.bad_records,
        "bad_records_by_reason": dict(stats.bad_records_by_reason),
        "records_per_s": round((args.good + bad) / elapsed),
    }
    print(json.dumps(summary, indent=2, sort_keys=True))
    ok = summary["lost"] == 0 and summary["duplicated"] == 0 and stats.bad_records == bad
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
