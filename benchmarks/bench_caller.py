"""Caller cost per span: what the application's thread pays to report one span.

``--impl spanstream``: ``Span.builder`` + 7 attributes + ``MetricGroup.add_span`` with the
Kafka reporter. ``--impl otel``: the OpenTelemetry SDK's start span + 7 attributes + end, with a
BatchSpanProcessor and an OTLP-protobuf-to-Kafka exporter writing one record per span (as
spanstream does) or, with ``--otel-message per-batch``, one per export batch of up to 512 spans
(as the OpenTelemetry Collector's Kafka exporter does). ``--impl otel-noop``: the same SDK
path with an exporter that drops everything (the SDK's own cost).

Each repeat times ``--spans`` calls on the caller's thread (the background sender runs at the
same time and competes for the interpreter, as it would in an application), then drains the
pipeline untimed, so no repeat overflows a queue. A repeat lasts tens of milliseconds: one
shorter than the interpreter's switch interval (5 ms) may end before the background thread
gets the lock at all, and then measures the caller alone (2,000-span repeats flipped between
about 2 and 6 us per span from run to run). The figure is the median over repeats, in
microseconds per span of wall time on the caller's thread (what the application waits); the
caller thread's own CPU time (``time.thread_time``, which leaves out the time the interpreter
lock spends with the background thread) is reported beside it.
"""

from __future__ import annotations

import gc
import time
from functools import partial
from typing import Any

import _harness as h


def _measure(
    loop: Any, target: Any, drain: Any, *, spans: int, repeats: int
) -> tuple[list[float], list[float]]:
    """Wall and caller-thread CPU microseconds per span, per repeat."""
    loop(target, 0, spans)  # warm-up: imports, caches, the broker connection
    drain()
    wall_us: list[float] = []
    cpu_us: list[float] = []
    for r in range(repeats):
        gc.collect()
        start = time.perf_counter()
        start_cpu = time.thread_time()
        loop(target, (r + 1) * spans, spans)
        cpu = time.thread_time() - start_cpu
        elapsed = time.perf_counter() - start
        wall_us.append(elapsed / spans * 1e6)
        cpu_us.append(cpu / spans * 1e6)
        drain()
    return wall_us, cpu_us


def run(args: Any) -> dict[str, Any]:
    """Measure one implementation; return the result dict."""
    impl = args.impl
    spans = 200 if args.quick else args.spans
    repeats = 3 if args.quick else args.repeats
    shape = args.shape
    result: dict[str, Any] = {
        "bench": "caller",
        "impl": impl,
        "shape": shape,
        "spans": spans,
        "repeats": repeats,
    }
    if impl in ("otel", "otel-noop"):
        from _otel import otel_pipeline, start_spans
        from _spanstream import reporter_producer_settings

        bootstrap = h.require_bootstrap(args) if impl == "otel" else None
        topic = h.create_topic(bootstrap, "caller-otel") if bootstrap else None
        per_span = args.otel_message == "per-span"
        result["otel_message"] = args.otel_message
        pipeline = otel_pipeline(
            bootstrap=bootstrap,
            topic=topic,
            per_span=per_span,
            max_queue_size=max(
                2048, spans * h.spans_per_root(shape)
            ),  # a repeat never overflows (nor drops) either way
            producer_settings=reporter_producer_settings(),
        )
        try:
            samples, cpu_samples = _measure(
                partial(start_spans, shape=shape),
                pipeline.tracer,
                pipeline.drain,
                spans=spans,
                repeats=repeats,
            )
            exporter = pipeline.exporter
            offered = spans * (repeats + 1) * h.spans_per_root(shape)
            result.update(
                offered=offered,
                delivered=exporter.delivered_spans,
                dropped=offered - exporter.exported_spans,
            )
        finally:
            pipeline.close()
            if bootstrap and topic:
                h.delete_topic(bootstrap, topic)
    elif impl == "spanstream":
        from _spanstream import Pipeline, add_spans

        bootstrap = h.require_bootstrap(args)
        with h.fresh_topic(bootstrap, "caller-spanstream") as topic:
            pipeline = Pipeline(bootstrap=bootstrap, topic=topic, settings={})
            try:
                samples, cpu_samples = _measure(
                    partial(add_spans, shape=shape),
                    pipeline.group,
                    lambda: pipeline.flush(60.0),
                    spans=spans,
                    repeats=repeats,
                )
                result["counters"] = pipeline.counters()
            finally:
                pipeline.close()
    else:
        raise SystemExit(f"unknown --impl {impl}")
    result["us_per_span"] = h.median(samples)
    result["cpu_us_per_span"] = h.median(cpu_samples)
    result["us_per_span_samples"] = [round(s, 3) for s in samples]
    return result


def main(argv: list[str] | None = None) -> None:
    """Run from the command line."""
    p = h.parser(__doc__.splitlines()[0])
    p.add_argument("--impl", choices=["spanstream", "otel", "otel-noop"], required=True)
    p.add_argument(
        "--otel-message",
        choices=["per-span", "per-batch"],
        default="per-span",
        help="the OpenTelemetry exporter writes one Kafka record per span, or per export batch",
    )
    p.add_argument(
        "--spans",
        type=int,
        default=20_000,
        help="spans per timed repeat: long enough that the background thread always runs in it",
    )
    p.add_argument("--repeats", type=int, default=15)
    args = p.parse_args(argv)
    h.emit(args, run(args))


if __name__ == "__main__":
    main()
