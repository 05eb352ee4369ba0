"""The sender's produce loops side by side in one process: the C loop with the interpreter lock
released (what the reporter uses), the same loop with the lock held, and the Python loop.

Not part of ``run_all``: each round publishes ``--spans`` spans of ``--shape`` through the Kafka
reporter once per loop, in turn, on a fresh topic each, and prints the rate, the caller's wall
and CPU time per span, how many spans were still queued when the caller finished, the drain
time, and the sender thread's CPU per span (with or without the lock).

    .venv/bin/python benchmarks/compare_sender_loops.py --shape flat --spans 100000 --rounds 3
"""

from __future__ import annotations

import time
from typing import Any

import _harness as h
from _spanstream import Pipeline, add_spans

import spanstream.producer._produce_loop as produce_loop
from spanstream.producer import _produce

LOOPS = ("c", "c-holding-lock", "python")


def _one(bootstrap: str, shape: str, spans: int, loop: str) -> str:
    chosen = produce_loop.record_producer
    if loop == "python":
        produce_loop.record_producer = lambda *_args, **_kwargs: None  # type: ignore[assignment]
    _produce.set_release_lock(loop == "c")
    try:
        with h.fresh_topic(bootstrap, "loops") as topic:
            pipeline = Pipeline(
                bootstrap=bootstrap,
                topic=topic,
                settings={"queue.max.spans": str(max(100_000, spans))},
            )
            try:
                return _measure(pipeline, shape, spans, loop)
            finally:
                pipeline.close()
    finally:
        produce_loop.record_producer = chosen
        _produce.set_release_lock(True)


def _measure(pipeline: Any, shape: str, spans: int, loop: str) -> str:
    add_spans(pipeline.group, 0, 1000, shape)
    pipeline.flush(60)
    sender = pipeline.reporter._sender
    clock = time.pthread_getcpuclockid(sender.thread.ident)
    sender_start, caller_start = time.clock_gettime(clock), time.thread_time()
    start = time.perf_counter()
    add_spans(pipeline.group, 1000, spans, shape)
    caller_done = time.perf_counter()
    caller_cpu = time.thread_time() - caller_start
    queued = len(sender.queue)
    pipeline.flush(120)
    end = time.perf_counter()
    sender_cpu = time.clock_gettime(clock) - sender_start
    delivered = pipeline.counters()["delivered"] - 1000
    return (
        f"{shape} {loop:15s} {delivered / (end - start):>9,.0f} spans/s; caller "
        f"{(caller_done - start) / spans * 1e6:.2f} us wall, {caller_cpu / spans * 1e6:.2f} us "
        f"CPU; queued at its end {queued:,}; drain {(end - caller_done) * 1e3:.0f} ms; sender "
        f"CPU {sender_cpu / spans * 1e6:.2f} us/span"
    )


def main(argv: list[str] | None = None) -> None:
    """Run from the command line."""
    p = h.parser(__doc__.splitlines()[0])
    p.add_argument("--spans", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    bootstrap = h.require_bootstrap(args)
    for _ in range(args.rounds):
        for loop in LOOPS:
            print(_one(bootstrap, args.shape, args.spans, loop), flush=True)


if __name__ == "__main__":
    main()
