"""Memory: RSS over a million spans, and RSS while the broker is down and spans keep coming.

``--mode up``: ``--spans`` (1,000,000) spans through a metric group and the Kafka reporter with
its default settings, from the caller's thread as fast as it goes, then a flush. RSS is sampled
every ``--sample-every`` spans. *Flat* means the peak RSS of the whole process is at most
``--flat-ratio`` (1.10) times the RSS after the first 10% of the spans: memory does not grow
with the number of spans reported.

``--mode down``: the same, with the reporter's bootstrap servers pointing at a loopback port
nothing listens on (the broker is down for the whole run). *Bounded* means the RSS growth over
the run stays within the reporter's configured queue bounds (its own queue plus librdkafka's
buffer, as the reporter configures them) and levels off: the last half of the run adds at most
``--plateau-mib``.
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _harness as h

MIB = 2**20


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


def _queue_bound(pipeline: Any) -> tuple[int, str]:
    """The reporter's configured memory bound, and how it is made up."""
    reporter = pipeline.reporter
    bound = getattr(reporter, "memory_bound_bytes", None)
    if callable(bound):
        bound = bound()
    if isinstance(bound, int):
        return bound, "reporter's configured queue bound"
    raise RuntimeError("the reporter does not say what bounds its memory")


def run(args: Any) -> dict[str, Any]:
    """Measure one mode; return the result dict."""
    from _spanstream import Pipeline

    spans = 20_000 if args.quick else args.spans
    every = 2_000 if args.quick else args.sample_every
    result: dict[str, Any] = {"bench": "rss", "mode": args.mode, "spans": spans}
    baseline = h.rss_bytes()
    if args.mode == "up":
        bootstrap = h.require_bootstrap(args)
        with h.fresh_topic(bootstrap, "rss") as topic:
            pipeline = Pipeline(bootstrap=bootstrap, topic=topic, settings={})
            try:
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
        early_spans = spans // 10
        early = _rss_at(samples, early_spans)
        peak = h.peak_rss_bytes()
        result.update(
            early_spans=early_spans,
            rss_early_bytes=early,
            peak_rss_bytes=peak,
            flat=peak <= args.flat_ratio * early,
            criterion=f"peak <= {args.flat_ratio} x early",
        )
    else:
        port = _dead_port()
        pipeline = Pipeline(bootstrap=f"127.0.0.1:{port}", topic="bench-rss-down", settings={})
        try:
            opened = h.rss_bytes()
            samples = _feed(pipeline, spans, every)
            result["counters"] = pipeline.counters()
            bound, bound_name = _queue_bound(pipeline)
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
    p.add_argument("--flat-ratio", type=float, default=1.10)
    p.add_argument("--plateau-mib", type=float, default=8.0)
    args = p.parse_args(argv)
    h.emit(args, run(args))


if __name__ == "__main__":
    main()
