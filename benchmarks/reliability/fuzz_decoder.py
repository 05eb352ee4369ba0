"""Mutation fuzzing of the span decoder: hostile bytes give a DecodeError and nothing else.

A bounded, seeded loop: valid messages (the current schema on the fast path, and a test-only v2
schema that takes the checked generic path) are mutated (bit flips, interesting bytes, forged
varint lengths and counts, inserted, deleted and duplicated ranges, truncation, splices, swapped
fingerprints) and decoded. For each message the oracle is:

* ``decode`` returns a span or raises ``DecodeError``; any other exception is a failure;
* a span it returns re-encodes, and decodes again to the same span (no record it accepts is
  one the contract cannot carry);
* the peak memory traced while decoding it (tracemalloc) stays under
  ``64 * len(message) + 64 KiB``: a forged length never allocates what the bytes do not hold;
* the slowest decode is reported (a hang would be seen here; pytest-timeout guards the test).

Run it (1,000,000 mutations, about a minute or two on one core)::

    .venv/bin/python benchmarks/reliability/fuzz_decoder.py --mutations 1000000 --seed 8

It prints one JSON object (``--json-out`` writes it to a file) and exits non-zero on a failure,
saving the offending inputs to ``--failures-dir``. ``tests/unit/test_fuzz_decoder.py`` runs a
smaller count of the same loop in CI.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import fastavro

from spanstream.schemas import (
    MAX_SPAN_DEPTH,
    SINGLE_OBJECT_MARKER,
    DecodeError,
    SchemaHistory,
    SchemaVersion,
    Span,
    SpanCodec,
    encode_span,
)
from spanstream.schemas._codec import span_to_record
from spanstream.schemas._schema_history import default_history

V1 = default_history().current


def _v2_text() -> str:
    schema = json.loads(V1.text)
    schema["fields"].append({"name": "kind", "type": "string", "default": "INTERNAL"})
    return json.dumps(schema)


V2 = SchemaVersion.from_text(_v2_text(), version=2)
# Reads v1 on the fast path and v2 (unknown to released readers) on the checked generic path.
READER = SpanCodec(history=SchemaHistory([V1, V2], current=1))
FINGERPRINTS = (V1.fingerprint, V2.fingerprint, b"\x00" * 8, b"\xff" * 8)
MEMORY_PER_BYTE = 64
MEMORY_FIXED_BYTES = 64 * 1024
INTERESTING_BYTES = (0x00, 0x01, 0x02, 0x7F, 0x80, 0x81, 0xFE, 0xFF)
INTERESTING_LONGS = (
    -1,
    1,
    2**31 - 1,
    2**31,
    2**62,
    2**63 - 1,
    -(2**63),
    10**9,
    -(10**9),
    MAX_SPAN_DEPTH + 1,
)


def zigzag_varint(value: int) -> bytes:
    z = ((value << 1) ^ (value >> 63)) & (2**64 - 1)
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def _deep(levels: int) -> Span:
    builder = Span.builder("fuzz.Deep", "level-0")
    current = builder
    for level in range(1, levels):
        child = Span.builder("fuzz.Deep", f"level-{level}")
        current.add_child(child)
        current = child
    return builder.set_start_ts_millis(1).build()


def seed_spans() -> list[Span]:
    """The valid spans every mutation starts from: each field shape at least once."""
    base = 1_700_000_000_000
    return [
        Span.builder("a", "b").set_start_ts_millis(0).build(),
        Span.builder("org.apache.flink.runtime.checkpoint.CheckpointStatsTracker", "Checkpoint")
        .set_start_ts_millis(base)
        .set_end_ts_millis(base + 250)
        .set_attributes(
            {
                "checkpointId": 42,
                "fullSize": 123_456_789,
                "checkpointStatus": "COMPLETED",
                "isUnaligned": False,
                "alignmentRatio": 0.25,
                "<job_id>": "9f1c6a2e4b7d4c0e8a3f5b6c7d8e9f01",
            }
        )
        .build(),
        Span.builder("fuzz.Tree", "root")
        .set_start_ts_millis(base)
        .set_attribute("nan", float("nan"))
        .set_attribute("neg", -(2**63))
        .set_attribute("ünï", "🚀" * 5)
        .add_children(
            Span.builder("fuzz.Tree", f"child-{i}")
            .set_start_ts_millis(base + i)
            .set_attribute("i", i)
            .add_child(Span.builder("fuzz.Tree", "leaf").set_attribute("ok", True))
            for i in range(4)
        )
        .build(),
        _deep(8),
        _deep(MAX_SPAN_DEPTH + 1),  # exactly at the limit: the root plus MAX_SPAN_DEPTH levels
    ]


def _v2_message(span: Span) -> bytes:
    def with_kind(record: dict[str, Any]) -> dict[str, Any]:
        return {**record, "kind": "SERVER", "children": [with_kind(c) for c in record["children"]]}

    buffer = io.BytesIO()
    buffer.write(SINGLE_OBJECT_MARKER + V2.fingerprint)
    fastavro.schemaless_writer(buffer, V2.parsed, with_kind(span_to_record(span)))
    return buffer.getvalue()


def seed_messages() -> list[bytes]:
    """Valid messages: every seed span in the current schema, and the small ones in v2."""
    spans = seed_spans()
    return [encode_span(span) for span in spans] + [_v2_message(span) for span in spans[:4]]


def _weighted(corpus: Sequence[bytes]) -> list[bytes]:
    # The tree at the depth limit costs fifty times a small span to decode: pick it less often.
    small = [message for message in corpus if len(message) < 2048]
    return small * 10 + [message for message in corpus if len(message) >= 2048]


Mutator = Callable[[random.Random, bytearray, Sequence[bytes]], bytearray]


def _flip_bit(rng: random.Random, data: bytearray, _: Sequence[bytes]) -> bytearray:
    if data:
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return data


def _random_byte(rng: random.Random, data: bytearray, _: Sequence[bytes]) -> bytearray:
    if data:
        data[rng.randrange(len(data))] = rng.randrange(256)
    return data


def _interesting_byte(rng: random.Random, data: bytearray, _: Sequence[bytes]) -> bytearray:
    if data:
        data[rng.randrange(len(data))] = rng.choice(INTERESTING_BYTES)
    return data


def _forged_varint(rng: random.Random, data: bytearray, _: Sequence[bytes]) -> bytearray:
    # A length, count or long replaced by a huge, negative or boundary value.
    if not data:
        return data
    pos = rng.randrange(len(data))
    value = rng.choice(INTERESTING_LONGS) * rng.choice((1, -1))
    varint = zigzag_varint(max(-(2**63), min(2**63 - 1, value)))
    if rng.random() < 0.5:
        data[pos : pos + len(varint)] = varint  # overwrite
    else:
        data[pos : pos + 1] = varint  # replace one byte (shifts the rest)
    return data


def _insert(rng: random.Random, data: bytearray, _: Sequence[bytes]) -> bytearray:
    pos = rng.randrange(len(data) + 1)
    data[pos:pos] = rng.randbytes(rng.randrange(1, 9))
    return data


def _delete(rng: random.Random, data: bytearray, _: Sequence[bytes]) -> bytearray:
    if data:
        pos = rng.randrange(len(data))
        del data[pos : pos + rng.randrange(1, 9)]
    return data


def _duplicate(rng: random.Random, data: bytearray, _: Sequence[bytes]) -> bytearray:
    if data:
        pos = rng.randrange(len(data))
        chunk = data[pos : pos + rng.randrange(1, 33)]
        at = rng.randrange(len(data) + 1)
        data[at:at] = chunk
    return data


def _truncate(rng: random.Random, data: bytearray, _: Sequence[bytes]) -> bytearray:
    return data[: rng.randrange(len(data) + 1)]


def _extend(rng: random.Random, data: bytearray, _: Sequence[bytes]) -> bytearray:
    return data + rng.randbytes(rng.randrange(1, 17))


def _splice(rng: random.Random, data: bytearray, corpus: Sequence[bytes]) -> bytearray:
    other = rng.choice(corpus)
    cut = rng.randrange(len(data) + 1)
    return data[:cut] + other[rng.randrange(len(other) + 1) :]


def _swap_fingerprint(rng: random.Random, data: bytearray, _: Sequence[bytes]) -> bytearray:
    if len(data) >= 10:
        data[2:10] = rng.choice(FINGERPRINTS)
    return data


MUTATORS: tuple[Mutator, ...] = (
    _flip_bit,
    _random_byte,
    _interesting_byte,
    _forged_varint,
    _forged_varint,
    _insert,
    _delete,
    _duplicate,
    _truncate,
    _extend,
    _splice,
    _swap_fingerprint,
)


def mutate(rng: random.Random, message: bytes, corpus: Sequence[bytes]) -> bytes:
    """Return ``message`` with one to four random mutations applied."""
    data = bytearray(message)
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
        data = rng.choice(MUTATORS)(rng, data, corpus)
    return bytes(data)


def memory_bound_bytes(message: bytes) -> int:
    """The most a decode of ``message`` may allocate at its peak."""
    return MEMORY_PER_BYTE * len(message) + MEMORY_FIXED_BYTES


@dataclass
class FuzzResult:
    """What a fuzz run saw."""

    mutations: int = 0
    decoded: int = 0
    decode_errors: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)
    memory_checked: int = 0
    worst_peak_bytes: int = 0
    worst_peak_ratio: float = 0.0
    slowest_decode_s: float = 0.0
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        """No failure of any kind."""
        return not self.failures


def _check_one(data: bytes, result: FuzzResult) -> str | None:
    """Decode ``data`` once; return a failure description, or None when the oracle holds."""
    try:
        span = READER.decode(data)
    except DecodeError as exc:
        result.decode_errors += 1
        result.by_reason[exc.reason] = result.by_reason.get(exc.reason, 0) + 1
        if exc.raw != data:
            return "DecodeError.raw is not the message"
        return None
    except BaseException as exc:
        return f"{type(exc).__name__}: {exc}"
    result.decoded += 1
    try:
        again = READER.decode(encode_span(span))
    except BaseException as exc:
        return f"a decoded span does not re-encode: {type(exc).__name__}: {exc}"
    if again != span:
        return "a decoded span does not survive a second round trip"
    return None


def run(
    mutations: int,
    *,
    seed: int = 8,
    memory_every: int = 1,
    max_failures: int = 20,
) -> FuzzResult:
    """Mutate and decode ``mutations`` messages; trace memory on every ``memory_every``-th."""
    rng = random.Random(seed)
    corpus = seed_messages()
    picks = _weighted(corpus)
    result = FuzzResult()
    started = time.perf_counter()
    perf = time.perf_counter
    if memory_every > 0:
        tracemalloc.start()
    try:
        for index in range(mutations):
            data = mutate(rng, rng.choice(picks), corpus)
            failure = None
            if memory_every > 0 and index % memory_every == 0:
                # The decode alone is traced: the oracle's re-encoding below grows the
                # encoder's caches, which is not the decoder's memory.
                tracemalloc.reset_peak()
                base, _ = tracemalloc.get_traced_memory()
                with contextlib.suppress(BaseException):
                    READER.decode(data)
                _, peak = tracemalloc.get_traced_memory()
                used = peak - base
                result.memory_checked += 1
                result.worst_peak_bytes = max(result.worst_peak_bytes, used)
                result.worst_peak_ratio = max(
                    result.worst_peak_ratio, used / memory_bound_bytes(data)
                )
                if used > memory_bound_bytes(data):
                    failure = f"decoding {len(data)} bytes peaked at {used} bytes"
            t0 = perf()
            failure = _check_one(data, result) or failure
            spent = perf() - t0
            result.slowest_decode_s = max(result.slowest_decode_s, spent)
            result.mutations += 1
            if failure is not None and len(result.failures) < max_failures:
                result.failures.append({"error": failure, "hex": data.hex()})
    finally:
        if memory_every > 0:
            tracemalloc.stop()
    result.elapsed_s = time.perf_counter() - started
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fuzz loop from the command line; exit 1 on any failure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mutations", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--memory-every", type=int, default=1, help="trace every Nth decode")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--failures-dir", type=Path, default=Path("fuzz-failures"))
    args = parser.parse_args(argv)
    result = run(args.mutations, seed=args.seed, memory_every=args.memory_every)
    summary = asdict(result)
    summary["decodes_per_s"] = round(result.mutations / max(result.elapsed_s, 1e-9))
    summary["ok"] = result.ok
    text = json.dumps(summary, indent=2, sort_keys=True)
    if args.json_out:
        args.json_out.write_text(text + "\n")
    print(text)
    if result.failures:
        args.failures_dir.mkdir(parents=True, exist_ok=True)
        for number, failure in enumerate(result.failures):
            (args.failures_dir / f"failure-{number}.bin").write_bytes(bytes.fromhex(failure["hex"]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
