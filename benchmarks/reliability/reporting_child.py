"""A process that reports spans through the Kafka reporter, driven by commands on stdin.

The process-death tests (and ``process_death.py``) start it, tell it what to publish, and then
stop it with SIGTERM or SIGKILL. It installs :func:`spanstream.producer.close_on_exit`, so
SIGTERM closes the registry (flushing within ``close.timeout.s``) before the process exits.

Usage: ``reporting_child.py BOOTSTRAP TOPIC [producer.key=value ...]``. Commands, one a line:

* ``publish N``: report N spans (``seq`` counting on from the last), as fast as possible;
* ``flush``: wait until every accepted span has an outcome;
* ``watch``: from now on print the counters every 50 ms;
* ``report``: print the counters once.

Every output line is a JSON object: ``event`` and the reporter's counters. The last one, printed
at exit, is ``{"event": "exit", "close_pending": ...}`` with the counters after close.
"""

from __future__ import annotations

import atexit
import json
import resource
import sys
import threading
import time
import uuid
from typing import Any

from spanstream.producer import KafkaTraceReporter, ReporterRegistry, close_on_exit
from spanstream.schemas import Span

SCOPE = "org.apache.flink.runtime.checkpoint.CheckpointStatsTracker"
_print_lock = threading.Lock()


def _emit(event: str, reporter: KafkaTraceReporter, **extra: Any) -> None:
    stats = reporter.snapshot()
    line = {
        "event": event,
        "time": time.time(),
        "notified": stats.notified,
        "accepted": stats.accepted,
        "delivered": stats.delivered,
        "pending": stats.pending,
        "queued": stats.queued,
        "in_flight": stats.in_flight,
        "dropped": dict(stats.dropped),
        "failed": dict(stats.failed),
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **extra,
    }
    with _print_lock:
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()


def main(argv: list[str]) -> int:
    """Run the command loop (see the module docstring)."""
    bootstrap, topic, *properties = argv
    prefix = "traces.reporter.kafka."
    config: dict[str, object] = {
        prefix + "factory.class": "kafka",
        prefix + "bootstrap.servers": bootstrap,
        prefix + "topic": topic,
        prefix + "topic.create": "false",
        prefix + "key": "trace-id",
        prefix + "open.timeout.s": "60",
    }
    for item in properties:
        key, _, value = item.partition("=")
        config[prefix + key] = value
    registry = ReporterRegistry.from_config(config)
    reporter = registry.reporter("kafka")
    assert isinstance(reporter, KafkaTraceReporter)
    run_id = uuid.uuid4().hex[:12]
    # Registered before close_on_exit's own hook, so it runs after the registry is closed.
    atexit.register(lambda: _emit("exit", reporter, close_pending=reporter.close()))
    close_on_exit(registry)
    group = registry.root_group()
    seq = 0
    _emit("ready", reporter, run=run_id, pid_ready=True)
    for raw in sys.stdin:
        command, *args = raw.split()
        if command == "publish":
            worst_ns = 0
            for _ in range(int(args[0])):
                builder = (
                    Span.builder(SCOPE, "Checkpoint")
                    .set_attribute("seq", seq)
                    .set_attribute("run", run_id)
                    .set_attribute("checkpointStatus", "COMPLETED")
                )
                t0 = time.perf_counter_ns()
                group.add_span(builder)
                worst_ns = max(worst_ns, time.perf_counter_ns() - t0)
                seq += 1
            _emit("published", reporter, worst_add_span_ns=worst_ns)
        elif command == "flush":
            _emit("flushed", reporter, flush_pending=reporter.flush(120))
        elif command == "watch":
            threading.Thread(target=_watch, args=(reporter,), daemon=True).start()
        elif command == "report":
            _emit("report", reporter)
    return 0


def _watch(reporter: KafkaTraceReporter) -> None:
    while True:
        _emit("watch", reporter)
        time.sleep(0.05)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
