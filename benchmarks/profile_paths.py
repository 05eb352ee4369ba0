"""Where the time goes: cProfile of the caller's thread and the reporter's sender thread, or of
the consumer's decode loop. Not part of ``run_all``: a tool for whoever works on a missed target.

    .venv/bin/python benchmarks/profile_paths.py --what publish --bootstrap HOST:PORT
    .venv/bin/python benchmarks/profile_paths.py --what consume --bootstrap HOST:PORT

``publish`` reports ``--spans`` spans through a metric group and the Kafka reporter (as the
publish row does) with every thread profiled: cProfile follows only the thread that enables it,
so a ``threading.setprofile`` hook enables one profiler in each thread started afterwards (the
sender is one). ``consume`` fills a topic and profiles ``SpanConsumer.poll_batch``.
The functions are printed by own time, with the thread's total. cProfile's clock is wall time:
a function that waited for the interpreter lock is charged for the wait, and profiling slows
the small functions most. For an unbiased view of who holds the lock, sample instead:

    .venv/bin/pip install py-spy
    py-spy record --gil --threads --format raw -o gil.txt -- \
        .venv/bin/python benchmarks/bench_publish.py --impl spanstream --repeats 1
"""

from __future__ import annotations

import cProfile
import io
import pstats
import threading
import time
from typing import Any

import _harness as h

_PROFILES: dict[str, cProfile.Profile] = {}


def _profile_new_threads() -> None:
    def start(_frame: Any, _event: str, _arg: Any) -> None:
        # The first event in a new thread replaces this hook with the thread's own profiler.
        profile = cProfile.Profile()
        _PROFILES[threading.current_thread().name] = profile
        profile.enable()

    threading.setprofile(start)


def _print(name: str, profile: cProfile.Profile, *, top: int, out: io.StringIO) -> None:
    stream = io.StringIO()
    stats = pstats.Stats(profile, stream=stream)
    total = getattr(stats, "total_tt", 0.0)
    stats.sort_stats("tottime").print_stats(top)
    out.write(f"\n=== thread {name}: {total:.3f} s profiled ===\n")
    lines = stream.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("ncalls")), 0)
    out.write("\n".join(lines[start:]) + "\n")


def _publish(bootstrap: str, spans: int, top: int) -> str:
    from _spanstream import Pipeline, add_spans

    _profile_new_threads()
    out = io.StringIO()
    with h.fresh_topic(bootstrap, "profile") as topic:
        pipeline = Pipeline(
            bootstrap=bootstrap, topic=topic, settings={"queue.max.spans": str(spans)}
        )
        caller = cProfile.Profile()
        start = time.perf_counter()
        caller.enable()
        add_spans(pipeline.group, 0, spans)
        caller.disable()
        caller_s = time.perf_counter() - start
        pipeline.flush(120)
        total_s = time.perf_counter() - start
        counters = pipeline.counters()
        pipeline.close()
    threading.setprofile(None)  # type: ignore[arg-type]
    out.write(
        f"{spans} spans: caller loop {caller_s:.2f} s ({caller_s / spans * 1e6:.1f} us/span), "
        f"delivered {counters['delivered']} in {total_s:.2f} s "
        f"({counters['delivered'] / total_s:,.0f} spans/s)\n"
    )
    _print("caller (MainThread)", caller, top=top, out=out)
    for name, profile in _PROFILES.items():
        _print(name, profile, top=top, out=out)
    return out.getvalue()


def _consume(bootstrap: str, spans: int, top: int, shape: str) -> str:
    from _consumer import span_consumer
    from bench_consume import _fill

    out = io.StringIO()
    with h.fresh_topic(bootstrap, "profile-consume") as topic:
        _fill(bootstrap, topic, spans, shape)
        with span_consumer(bootstrap, topic) as consumer:
            profile = cProfile.Profile()
            seen = 0
            start = time.perf_counter()
            profile.enable()
            while seen < spans and time.perf_counter() - start < 120:
                batch = consumer.poll_batch(max_spans=min(10_000, spans - seen), timeout_s=1.0)
                seen += len(batch.records)
                batch.ack()
            profile.disable()
            elapsed = time.perf_counter() - start
    out.write(f"{seen} spans consumed and decoded in {elapsed:.2f} s (group join included)\n")
    _print("consumer (MainThread)", profile, top=top, out=out)
    return out.getvalue()


def main(argv: list[str] | None = None) -> None:
    """Run from the command line."""
    p = h.parser(__doc__.splitlines()[0])
    p.add_argument("--what", choices=["publish", "consume"], required=True)
    p.add_argument("--spans", type=int, default=100_000)
    p.add_argument("--top", type=int, default=25, help="functions per thread")
    args = p.parse_args(argv)
    bootstrap = h.require_bootstrap(args)
    spans = 2000 if args.quick else args.spans
    if args.what == "publish":
        print(_publish(bootstrap, spans, args.top))
    else:
        print(_consume(bootstrap, spans, args.top, args.shape))


if __name__ == "__main__":
    main()
