"""The cost of ``add_span`` inside a PyFlink map function, against the same function without it.

Run with the PyFlink environment's python (``./run pyflink-env`` makes it)::

    .venv-pyflink/bin/python benchmarks/pyflink_add_span.py --bootstrap HOST:PORT

Two local PyFlink 2.3 jobs (parallelism 1) map ``--records`` integers. ``plain`` returns
``value + 1``; ``spans`` also reports one span per record (``Span.builder`` + 3 attributes +
``add_span`` on the group of :func:`pyflink_metric_group`, Kafka reporter to a fresh topic).
Inside the function each variant times its own body with ``perf_counter_ns`` (what the operator
waits per record); the job's wall time (from ``execute`` to its end, startup included) is
reported beside it, and the difference of the two jobs per record, and the worker's delivered
and dropped spans (a span dropped because the queue is full costs less than one sent: a figure
with drops is not the cost of delivering). Each variant runs ``--repeats`` times; the figures
are medians.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from _harness import emit, fresh_topic, log, parser, require_bootstrap


def _job(bootstrap: str, topic: str, *, records: int, spans: bool) -> dict[str, float]:
    from pyflink.common import Types
    from pyflink.datastream import FlatMapFunction

    from spanstream.producer import (
        flush_pyflink_reporters,
        pyflink_environment,
        pyflink_metric_group,
        pyflink_span_counts,
    )
    from spanstream.schemas import Span

    class Work(FlatMapFunction):
        def __init__(self, with_spans: bool, total: int) -> None:
            self.with_spans = with_spans
            self.total = total

        def open(self, runtime_context: Any) -> None:
            self.group = pyflink_metric_group(runtime_context) if self.with_spans else None
            self.body_ns = 0
            self.seen = 0

        def flat_map(self, value: int) -> Any:
            started = time.perf_counter_ns()
            if self.group is not None:
                self.group.add_span(
                    Span.builder("bench.Work", "Record")
                    .set_attribute("value", value)
                    .set_attribute("partition", "p-0")
                    .set_attribute("ok", True)
                )
            self.last = value + 1
            self.body_ns += time.perf_counter_ns() - started
            self.seen += 1
            if self.seen == self.total:
                flush_pyflink_reporters(timeout_s=60)
                counts = pyflink_span_counts()
                yield f"{self.body_ns},{counts.delivered},{counts.dropped}"

    env = pyflink_environment(
        {
            "traces.reporter.kafka.factory.class": "kafka",
            "traces.reporter.kafka.bootstrap.servers": bootstrap,
            "traces.reporter.kafka.topic": topic,
        },
        job_name=f"bench-{'spans' if spans else 'plain'}",
    )
    env.set_parallelism(1)
    stream = env.from_collection(list(range(records)), type_info=Types.INT())
    started = time.perf_counter()
    flat = stream.flat_map(Work(spans, records), output_type=Types.STRING())
    with flat.execute_and_collect() as results:
        lines = list(results)
    wall_s = time.perf_counter() - started
    body_ns, delivered, dropped = (int(part) for part in lines[0].split(","))
    return {
        "body_us_per_record": body_ns / records / 1000,
        "job_wall_s": wall_s,
        "delivered": delivered,
        "dropped": dropped,
    }


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--records", type=int, default=200_000)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    bootstrap = require_bootstrap(args)
    records = 2_000 if args.quick else args.records
    repeats = 1 if args.quick else args.repeats
    runs: dict[str, list[dict[str, float]]] = {"plain": [], "spans": []}
    with fresh_topic(bootstrap, "bench-pyflink") as topic:
        for repeat in range(repeats):
            for variant in ("plain", "spans"):
                run = _job(bootstrap, topic, records=records, spans=variant == "spans")
                log(f"repeat {repeat + 1}/{repeats} {variant}: {run}")
                runs[variant].append(run)
    result: dict[str, Any] = {"records": records, "repeats": repeats}
    for variant, variant_runs in runs.items():
        for key in ("body_us_per_record", "job_wall_s", "delivered", "dropped"):
            result[f"{variant}_{key}"] = statistics.median(r[key] for r in variant_runs)
    result["add_span_us_per_span_in_function"] = (
        result["spans_body_us_per_record"] - result["plain_body_us_per_record"]
    )
    result["job_us_per_span"] = (
        (result["spans_job_wall_s"] - result["plain_job_wall_s"]) / records * 1e6
    )
    emit(args, result)


if __name__ == "__main__":
    main()
