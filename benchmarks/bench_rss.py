"""Memory: RSS over a million spans, and RSS while the broker is down and spans keep coming.

``--mode up``: ``--spans`` (1,000,000) spans through a metric group and the Kafka reporter with
its default settings, from the caller's thread as fast as it goes, then a flush. RSS is sampled
every ``--sample-every`` spans. *Flat* means the highest RSS sampled over the second half of
the spans is at most ``--flat-ratio`` (1.05) times the highest over the first half: reporting
twice as many spans does not need more memory. (The hand-off queue may fill early on, when the
caller outruns the sender; that is bounded, and then stays flat.) The process's peak RSS
(``ru_maxrss``, the final flush included, when librdkafka's buffer may fill while Python keeps
the memory its queue used) is reported too, against the same queue bound as ``down``.

``--mode down``: the same, with the reporter's bootstrap servers pointing at a loopback port
nothing listens on (the broker is down for the whole run). *Bounded* means the RSS growth over
the run stays within the reporter's configured queue bounds (``queue.max.spans`` span objects
in its hand-off queue, each of the size tracemalloc measures, plus librdkafka's buffer of
``queue.max.bytes`` and ``queue.max.spans`` records, as the reporter configures it) and levels
off: the last half of the run adds at most ``--plateau-mib``.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import _harness as h

MIB = 2**20
# librdkafka's per-message bookkeeping (rd_kafka_msg_t and its headers list), not counted in
# queue.buffering.max.kbytes: an estimate for the bound.
LIBRDKAFKA_MESSAGE_BYTES = 256


def _dead_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _feed(pipeline: Any, spans: int, every: int) -> list[tuple[int, int]]:
    from _spanstream import add_spans

    samples: list[tuple[int, int]] = [(0, h.rss_bytes())]
    done = 0
    while done < spans:
        chunk = min(every, spans - done)
        add_spans(pipeline.group, done, chunk)
        done += chunk
        samples.append((done, h.rss_bytes()))
    return samples


def _rss_at(samples: list[tuple[int, int]], spans: int) -> int:
    return next(rss for count, rss in samples if count >= spans)


def _span_object_bytes() -> int:
    """What one span waiting in the hand-off queue holds in memory (tracemalloc, 2,000 spans)."""
    import tracemalloc

    from _spanstream import built_span

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    spans = [built_span(i) for i in range(2000)]
    size = (tracemalloc.get_traced_memory()[0] - before) // len(spans)
    tracemalloc.stop()
    del spans
    return int(size)


def _queue_bound(pipeline: Any, span_bytes: int) -> tuple[int, str]:
    """The memory the reporter's configured queues may hold, and how it is made up.

    The hand-off queue holds at most ``queue.max.spans`` span objects; librdkafka holds at most
    ``queue.max.bytes`` of records (its ``queue.buffering.max.kbytes``) and ``queue.max.spans``
    of them, each with its own bookkeeping (``LIBRDKAFKA_MESSAGE_BYTES``, an estimate).
    """
    config = pipeline.reporter._sender.config  # the configured bounds, as validated
    spans = int(config.queue_max_spans)
    record_bytes = int(config.queue_max_bytes)
    bound = spans * span_bytes + record_bytes + spans * LIBRDKAFKA_MESSAGE_BYTES
    name = (
        f"queues: {spans:,} spans x {span_bytes} B + {record_bytes / MIB:.0f} MiB records"
        f" + {spans:,} x {LIBRDKAFKA_MESSAGE_BYTES} B"
    )
    return bound, name


def run(args: Any) -> dict[str, Any]:
    """Measure one mode; return the result dict."""
    from _spanstream import Pipeline

    spans = 20_000 if args.quick else args.spans
    every = 2_000 if args.quick else args.sample_every
    result: dict[str, Any] = {"bench": "rss", "mode": args.mode, "spans": spans}
    baseline = h.rss_bytes()
    if args.mode == "up":
        bootstrap = h.require_bootstrap(args)
        span_bytes = _span_object_bytes()
        with h.fresh_topic(bootstrap, "rss") as topic:
            pipeline = Pipeline(bootstrap=bootstrap, topic=topic, settings={})
            try:
                opened = h.rss_bytes()
                bound, bound_name = _queue_bound(pipeline, span_bytes)
                start = time.perf_counter()
                samples = _feed(pipeline, spans, every)
                fed_s = time.perf_counter() - start
                pending = pipeline.flush(300)
                result["flush_pending"] = pending
                result["seconds"] = round(time.perf_counter() - start, 1)
                result["caller_seconds"] = round(fed_s, 1)
                result["counters"] = pipeline.counters()
            finally:
                pipeline.close()
        half = spans // 2
        first_half_peak = max(rss for count, rss in samples if count <= half)
        second_half_peak = max(rss for count, rss in samples if count > half)
        peak = h.peak_rss_bytes()
        result.update(
            half_spans=half,
            rss_open_bytes=opened,
            rss_first_half_peak_bytes=first_half_peak,
            rss_second_half_peak_bytes=second_half_peak,
            peak_rss_bytes=peak,
            bound_bytes=bound,
            bound_name=bound_name,
            span_object_bytes=span_bytes,
            flat=second_half_peak <= args.flat_ratio * first_half_peak,
            criterion=f"<= {args.flat_ratio}",
        )
    else:
        port = _dead_port()
        span_bytes = _span_object_bytes()
        pipeline = Pipeline(bootstrap=f"127.0.0.1:{port}", topic="bench-rss-down", settings={})
        try:
            opened = h.rss_bytes()
            samples = _feed(pipeline, spans, every)
            result["counters"] = pipeline.counters()
            bound, bound_name = _queue_bound(pipeline, span_bytes)
        finally:
            pipeline.close(timeout_s=2.0)
        half = _rss_at(samples, spans // 2)
        last = max(rss for _, rss in samples)
        growth = last - opened
        result.update(
            rss_open_bytes=opened,
            rss_growth_bytes=growth,
            rss_second_half_growth_bytes=last - half,
            bound_bytes=bound,
            bound_name=bound_name,
            span_object_bytes=span_bytes,
            bounded=growth <= bound and (last - half) <= args.plateau_mib * MIB,
            criterion=f"<= 1, last half adds <= {args.plateau_mib} MiB",
        )
    result["baseline_rss_bytes"] = baseline
    result["samples"] = [(count, round(rss / MIB, 1)) for count, rss in samples]
    return result


def main(argv: list[str] | None = None) -> None:
    """Run from the command line."""
    p = h.parser(__doc__.splitlines()[0])
    p.add_argument("--mode", choices=["up", "down"], required=True)
    p.add_argument("--spans", type=int, default=1_000_000)
    p.add_argument("--sample-every", type=int, default=20_000)
    p.add_argument("--flat-ratio", type=float, default=1.05)
    p.add_argument("--plateau-mib", type=float, default=8.0)
    args = p.parse_args(argv)
    h.emit(args, run(args))


if __name__ == "__main__":
    main()
