"""Encode and decode alone, side by side with fastavro: one table of spans/s and ratios.

    .venv/bin/python benchmarks/bench_codec.py [--spans 20000] [--repeats 7] [--json-out F]

No broker. Each row is the best of ``--repeats`` passes (in CPU time of the one thread) over
``--spans`` distinct spans (the
checkpoint id and timestamps vary; scopes, names, keys and scope variables repeat, as they do
in a real job). References: fastavro's ``schemaless_writer`` per span on a ready-made dict (what
issue 7 measured at about 100,000/s), and fastavro's ``schemaless_reader``. spanstream's rows
come once per implementation of the hand-written codec: the C accelerator (``C``, when built)
and the pure-Python reference (``Python``).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import fastavro

from spanstream.schemas import (
    Span,
    SpanCodec,
    _implementation,
    decode_span,
    encode_span,
    encode_spans,
)
from spanstream.schemas._codec import span_to_record
from spanstream.schemas._decoder import span_from_record
from spanstream.schemas._schema_history import default_history

TRACKER = "org.apache.flink.runtime.checkpoint.CheckpointStatsTracker"
T0 = 1_732_000_000_000  # the spans start 7 ms apart, as in a busy job; sizes vary by KiBs


def checkpoint_span(i: int, *, with_children: bool) -> Span:
    """A Checkpoint span with 7 attributes (plus, optionally, 2 tasks x 2 subtasks)."""
    builder = (
        Span.builder(TRACKER, "Checkpoint")
        .set_start_ts_millis(T0 + 7 * i)
        .set_end_ts_millis(T0 + 7 * i + 250 + i % 100)
        .set_attributes(
            {
                "checkpointId": i,
                "fullSize": 123_456_789,
                "checkpointedSize": 4_567_890 + 1024 * i,
                "checkpointStatus": "COMPLETED",
                "checkpointType": "Checkpoint",
                "isUnaligned": "false",
                "metadataSize": 2_731,
            }
        )
    )
    if with_children:
        for task in range(2):
            vertex = f"0a448493b4782967b15058257032622{task}"
            task_builder = Span.builder(TRACKER, "Checkpoint_Task").set_attributes(
                {"jobVertexId": vertex, "maxStateSizeBytes": 4096 * i, "sumStateSizeBytes": 8192}
            )
            for subtask in range(2):
                task_builder.add_child(
                    Span.builder(TRACKER, "Checkpoint_Subtask").set_attributes(
                        {"jobVertexId": vertex, "subtaskId": subtask}
                    )
                )
            builder.add_child(task_builder.set_start_ts_millis(T0 + 7 * i))
    return builder.build()


def best_rate(run: Callable[[], object], count: int, repeats: int) -> float:
    """Items per CPU second of the fastest of ``repeats`` passes.

    CPU time of this process (``time.process_time``), not wall time: every row is one thread
    on one core, and other processes on a shared machine then do not skew the comparison.
    """
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return count / best


def measure(spans: Sequence[Span], repeats: int) -> list[tuple[str, str, float]]:
    """Return (group, row, spans/s); the first row of each group is its reference."""
    writer = default_history().current.parsed
    reader = default_history().current.parsed_plain
    records = [span_to_record(span) for span in spans]
    messages = [encode_span(span) for span in spans]
    bodies = [m[10:] for m in messages]
    codec = SpanCodec()
    n = len(spans)

    def fastavro_write() -> None:
        out = []
        for record in records:
            buffer = io.BytesIO()
            fastavro.schemaless_writer(buffer, writer, record)
            out.append(buffer.getvalue())

    def fastavro_write_from_span() -> None:
        header = codec.header
        out = []
        for span in spans:
            buffer = io.BytesIO()
            buffer.write(header)
            fastavro.schemaless_writer(buffer, writer, span_to_record(span))
            out.append(buffer.getvalue())

    def ours_one_by_one() -> None:
        # keep the messages, as a reporter's batch does
        [encode_span(span) for span in spans]

    def ours_batch() -> None:
        encode_spans(spans)

    def fastavro_read() -> None:
        for body in bodies:
            fastavro.schemaless_reader(io.BytesIO(body), reader, None)

    def fastavro_read_to_span() -> None:
        for message in messages:
            span_from_record(fastavro.schemaless_reader(io.BytesIO(message[10:]), reader, None))

    def ours_decode() -> None:
        for message in messages:
            decode_span(message)

    def ours(name: str, run: Callable[[], object]) -> float:
        previous = _implementation.use(name)
        try:
            return best_rate(run, n, repeats)
        finally:
            _implementation.use(previous)

    implementations = [("C", "c"), ("Python", "python")]
    available = _implementation.AVAILABLE
    implementations = [(label, name) for label, name in implementations if name in available]
    return [
        (
            "encode",
            "fastavro schemaless_writer, dict ready (reference)",
            best_rate(fastavro_write, n, repeats),
        ),
        (
            "encode",
            "fastavro incl. Span->dict + header (first cut)",
            best_rate(fastavro_write_from_span, n, repeats),
        ),
        *(
            row
            for label, name in implementations
            for row in (
                ("encode", f"spanstream encode_span ({label})", ours(name, ours_one_by_one)),
                ("encode", f"spanstream encode_spans, batch ({label})", ours(name, ours_batch)),
            )
        ),
        (
            "decode",
            "fastavro schemaless_reader -> dict (reference)",
            best_rate(fastavro_read, n, repeats),
        ),
        (
            "decode",
            "fastavro incl. dict->Span (first cut)",
            best_rate(fastavro_read_to_span, n, repeats),
        ),
        *(
            ("decode", f"spanstream decode_span -> Span ({label})", ours(name, ours_decode))
            for label, name in implementations
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "fastavro": fastavro.__version__,
        "cases": {},
    }
    print(f"# bench_codec: {args.spans} spans x best of {args.repeats}; {results['machine']}")
    header = f"{'case':<34} {'row':<52} {'spans/s':>12} {'ratio':>7} {'us/span':>8}"
    print(header)
    print("-" * len(header))
    for case, with_children in (
        ("7 attributes, no children", False),
        ("7 attributes + 2x2 children", True),
    ):
        spans = [checkpoint_span(i, with_children=with_children) for i in range(args.spans)]
        rows = measure(spans, args.repeats)
        reference: dict[str, float] = {}
        results["cases"][case] = []
        for group, row, rate in rows:
            reference.setdefault(group, rate)
            ratio = rate / reference[group]
            print(f"{case:<34} {row:<52} {rate:>12,.0f} {ratio:>6.2f}x {1e6 / rate:>8.2f}")
            results["cases"][case].append(
                {"group": group, "row": row, "spans_per_s": rate, "ratio": ratio}
            )
        size = len(encode_span(spans[0]))
        print(f"{case:<34} {'message size (bytes)':<52} {size:>12}")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as out:
            json.dump(results, out, indent=1)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
