"""``spanstream demo``: a simulated Flink deployment reporting to Kafka, consumed live.

The run, in order: read the reporter configuration (the packaged ``demo.yaml`` or ``--config``);
obtain a broker as everything in the project does (``$KAFKA_BOOTSTRAP_SERVERS``, else Docker,
else the local Apache Kafka broker), unless the configuration names one; open the reporters
(the Kafka reporter creates the topic); start a :class:`~spanstream.consumer.SpanConsumer` at the
run's start time; run :class:`FlinkSimulation` for ``duration_s`` while a live table shows
checkpoint health per job; flush the reporter; let the consumer catch up; print the counters.

The demo counts its own spans by the ``<demo_run>`` variable it adds to the Kafka reporter's
``scope.variables.additional``, so spans of other runs on a shared topic do not confuse it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import MutableMapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from spanstream.broker import BOOTSTRAP_ENV, Broker, obtain_broker
from spanstream.cli._demo_config import (
    DEFAULT_TOPIC,
    EVENTS_REPORTER_PREFIX,
    REPORTER_PREFIX,
    RUN_VARIABLE,
    default_config_path,
    kafka_reporter_names,
    prepare_config,
    report_events_as_spans,
)
from spanstream.cli._exit import ExitCode, UsageError
from spanstream.cli._health import HealthBoard, JobHealth, percentile
from spanstream.cli._kafka import RDKAFKA_LOG, BrokerAddress, check_reachable
from spanstream.cli._simulation import FlinkSimulation
from spanstream.cli._tables import job_table, number, text
from spanstream.consumer import ConsumerStats, SpanConsumer, SpanRecord
from spanstream.producer import (
    KafkaEventReporter,
    KafkaReporterStats,
    KafkaTraceReporter,
    ReporterRegistry,
)
from spanstream.schemas import ConfigError

__all__ = [
    "DEFAULT_TOPIC",
    "DemoOptions",
    "DemoResult",
    "default_config_path",
    "prepare_config",
    "run_demo",
]

_PLAIN_REPORT_EVERY_S: Final = 2.0


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """How ``spanstream demo`` runs."""

    duration_s: float = 20.0
    config_path: Path | None = None
    app_spans_per_s: float = 150.0
    task_managers: int = 4
    drain_timeout_s: float = 30.0
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What the demo counted at the end."""

    reporter: KafkaReporterStats
    consumer: ConsumerStats
    consumed: int
    """Distinct spans of this run the consumer read back."""
    other_spans: int
    """Spans on the topic from other producers (not this run), read meanwhile."""
    reported: int
    """Top-level spans the simulation handed to its metric groups."""
    events_reported: int = 0
    """System events the simulation handed to its metric groups."""
    event_reporter: KafkaReporterStats | None = None
    """The Kafka event reporter's counters, when the configuration has one."""
    events_consumed: int = 0
    """Distinct events of this run the consumer read back (when they share the span topic)."""
    latency_p50_millis: float | None = None
    """Median time from a span's end (when it was reported) to its rebuild by the consumer."""
    latency_p99_millis: float | None = None
    """99th percentile of the same."""

    @property
    def lost(self) -> int:
        """Spans accepted by the reporter but not consumed back."""
        return self.reporter.accepted - self.consumed

    @property
    def ok(self) -> bool:
        """Every span the reporter was given was delivered and consumed back, once each."""
        r = self.reporter
        return (
            r.delivered == self.consumed
            and r.accepted == r.delivered
            and r.rejected == 0
            and r.pending == 0
        )


# -- the consumer side ------------------------------------------------------------------------


class _DemoConsumer:
    """A SpanConsumer on its own thread, feeding the health board."""

    def __init__(self, consumer: SpanConsumer, run_id: str) -> None:
        self._consumer = consumer
        self._run_id = run_id
        self.lock = threading.Lock()
        self.board = HealthBoard()
        self.span_ids: set[bytes] = set()
        self.event_ids: set[bytes] = set()
        self.other_spans = 0
        self.latencies_millis: list[int] = []
        """Per span of this run: when it was rebuilt minus its end time (when it was reported)."""
        self.stats = ConsumerStats()
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="spanstream-demo-consumer")

    @property
    def consumed(self) -> int:
        """Distinct spans of this run read so far."""
        return len(self.span_ids)

    def start(self) -> None:
        """Start consuming on the thread."""
        self._thread.start()

    def _run(self) -> None:
        consumer = self._consumer
        run_key = f"<{RUN_VARIABLE}>"
        try:
            while not self._stop.is_set():
                # A short wait: poll_batch gathers until max_spans or the timeout, and the
                # end-to-end latency the summary shows should not be this loop's.
                batch = consumer.poll_batch(max_spans=5000, timeout_s=0.02)
                now_millis = time.time_ns() // 1_000_000
                with self.lock:
                    for record in batch:
                        if not isinstance(record, SpanRecord):
                            # The simulated JobManager's system events (status changes, job
                            # failures) reach the board; they are not spans to count.
                            event = record.event
                            if event.attributes.get(run_key) == self._run_id:
                                self.event_ids.add(event.event_id)
                                self.board.observe(event)
                            continue
                        span = record.span
                        if span.attributes.get(run_key) == self._run_id:
                            if span.span_id not in self.span_ids:
                                self.span_ids.add(span.span_id)
                                self.latencies_millis.append(now_millis - span.end_ts_millis)
                                self.board.observe(span)
                        else:
                            self.other_spans += 1
                    self.stats = consumer.stats()
                batch.ack()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            self.error = exc
        finally:
            consumer.close()
            with self.lock:
                self.stats = consumer.stats()

    def stop(self) -> None:
        """Stop the thread (the consumer commits and leaves its group)."""
        self._stop.set()
        self._thread.join(30.0)

    @property
    def alive(self) -> bool:
        """Whether the thread still runs."""
        return self._thread.is_alive()


# -- rendering ------------------------------------------------------------------------------


_STATE_STYLE: Final = {
    "healthy": "green",
    "slow": "yellow",
    "failing": "red",
    "restarting": "bold red",
    "restored": "cyan",
    "waiting": "dim",
    # A job's terminal status, from Flink 2.3's JobStatusChangeEvent (the run ends cancelling).
    "cancelling": "dim",
    "canceled": "dim",
    "finished": "dim",
    "suspended": "dim",
    "failed": "bold red",
}


def format_bytes(size: float | None) -> str:
    """``12.3 MiB``-style sizes.

    >>> format_bytes(3 * 1024 * 1024)
    '3.0 MiB'
    """
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f}"


def health_table(jobs: list[JobHealth], *, title: str) -> Table:
    """The checkpoint-health table: one row per job (about 100 columns wide)."""
    headings = (
        "ckpts\nok",
        "ckpts\nfailed",
        "last\nckpt",
        "last\nms",
        "p50\nms",
        "p95\nms",
        "incr\nMiB",
        "full\nMiB",
        "job\nfails",
        "app\nspans",
    )
    table = job_table(
        title, text("state", wrap=False), *map(number, headings), padding=(0, 1, 0, 0)
    )
    for job in jobs:
        durations = job.durations_millis()
        last = job.last
        p50, p95 = percentile(durations, 0.5), percentile(durations, 0.95)
        table.add_row(
            job.job,
            Text(job.state, style=_STATE_STYLE.get(job.state, "")),
            str(job.completed),
            str(job.failed),
            "-" if last is None else f"#{last.checkpoint_id}",
            "-" if last is None else f"{last.duration_millis:,}",
            "-" if p50 is None else f"{p50:,.0f}",
            "-" if p95 is None else f"{p95:,.0f}",
            "-" if last is None else _mib(last.checkpointed_size_bytes),
            "-" if last is None else _mib(last.full_size_bytes),
            str(job.failures),
            f"{sum(job.other_spans.values()):,}",
        )
    return table


def _counters_line(reporter: KafkaReporterStats, consumed: int, elapsed_s: float) -> str:
    return (
        f"t={elapsed_s:5.1f}s  reporter: accepted {reporter.accepted:,}, delivered "
        f"{reporter.delivered:,}, dropped {reporter.dropped_total:,}, pending {reporter.pending:,}"
        f"  |  consumer: {consumed:,} spans"
    )


def _plain_line(jobs: list[JobHealth]) -> str:
    parts = []
    for job in jobs:
        last = job.last
        last_text = "-" if last is None else f"#{last.checkpoint_id} {last.duration_millis} ms"
        parts.append(f"{job.job}: {job.state}, {job.completed} ok/{job.failed} failed, {last_text}")
    return "; ".join(parts)


def summary_table(result: DemoResult) -> Table:
    """The end-of-run counters: reporter, consumer, and the verdict."""
    r, c = result.reporter, result.consumer
    table = Table(title="summary", title_justify="left", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("count", justify="right")
    table.add_column("detail")
    dropped = ", ".join(f"{k} {v}" for k, v in sorted(r.dropped.items()) if v) or "none"
    failed = ", ".join(f"{k} {v}" for k, v in sorted(r.failed.items()) if v) or "none"
    table.add_row("spans reported", f"{result.reported:,}", "by the simulated jobs' metric groups")
    table.add_row("reporter accepted", f"{r.accepted:,}", "taken into the hand-off queue")
    table.add_row(
        "reporter delivered",
        f"{r.delivered:,}",
        f"acknowledged by the broker ({format_bytes(r.delivered_bytes)})",
    )
    table.add_row("reporter dropped", f"{r.dropped_total:,}", dropped)
    table.add_row("reporter failed", f"{r.failed_total:,}", failed)
    table.add_row("consumer consumed", f"{result.consumed:,}", "distinct spans of this run rebuilt")
    table.add_row("consumer bad records", f"{c.bad_records:,}", "records that were not spans")
    table.add_row("consumer duplicates", f"{c.duplicate_spans:,}", "redelivered span ids")
    events = result.event_reporter
    if events is not None:
        table.add_row(
            "events reported", f"{result.events_reported:,}", "Flink's system events, by the jobs"
        )
        table.add_row(
            "events delivered",
            f"{events.delivered:,}",
            f"acknowledged by the broker; dropped {events.dropped_total:,}, "
            f"failed {events.failed_total:,}",
        )
        table.add_row("events consumed", f"{result.events_consumed:,}", "distinct events rebuilt")
    if result.latency_p50_millis is not None:
        table.add_row(
            "end-to-end latency",
            f"{result.latency_p50_millis:,.0f} ms",
            f"median, p99 {result.latency_p99_millis or 0:,.0f} ms: span reported -> rebuilt",
        )
    if result.other_spans:
        table.add_row("other spans", f"{result.other_spans:,}", "on the topic from other producers")
    return table


# -- the run --------------------------------------------------------------------------------


def _obtain(
    servers: str | None, console: Console, stack: ExitStack
) -> tuple[BrokerAddress, Broker | None]:
    if servers is not None:
        address = BrokerAddress(servers, "bootstrap.servers in the demo's configuration")
        console.print(f"broker: {servers} (from the configuration)", highlight=False)
        check_reachable(address, command="demo")
        return address, None
    with console.status(
        "obtaining a Kafka broker (the first local start resolves Kafka from Maven Central)..."
    ):
        broker = obtain_broker()
    stack.callback(broker.stop)
    if broker.started_here:
        where = "started for this run; stopped at the end"
    else:
        where = "already running; left running"
    console.print(
        f"broker: {broker.bootstrap_servers} ({broker.source.value}, {where})", highlight=False
    )
    origin = (
        f"${BOOTSTRAP_ENV}" if broker.source.value == "env" else f"the {broker.source.value} broker"
    )
    address = BrokerAddress(broker.bootstrap_servers, origin)
    check_reachable(address, timeout_s=10.0, command="demo")
    return address, broker


def _open_registry(flat: MutableMapping[str, object], name: str, servers: str) -> ReporterRegistry:
    flat.setdefault(f"{REPORTER_PREFIX}{name}.bootstrap.servers", servers)
    for events_name in kafka_reporter_names(flat, EVENTS_REPORTER_PREFIX):
        flat.setdefault(f"{EVENTS_REPORTER_PREFIX}{events_name}.bootstrap.servers", servers)
    try:
        return ReporterRegistry.from_config(flat)
    except ConfigError as exc:
        raise UsageError(f"the demo's reporter configuration: {exc}") from exc


def run_demo(options: DemoOptions, console: Console) -> ExitCode:
    """Run the demo end to end and print its summary; returns the exit code."""
    run_id = uuid.uuid4().hex[:8]
    config_path = options.config_path or default_config_path()
    flat, name, topic, servers = prepare_config(config_path, run_id=run_id)
    try:
        events_as_spans = report_events_as_spans(flat)
    except ConfigError as exc:
        raise UsageError(f"--config: {exc}") from exc
    run_start_millis = time.time_ns() // 1_000_000
    with ExitStack() as stack:
        address, broker = _obtain(servers, console, stack)
        registry = _open_registry(flat, name, address.bootstrap_servers)
        stack.callback(registry.close)
        reporter = registry.reporter(name)
        if not isinstance(reporter, KafkaTraceReporter):
            raise UsageError(f"--config: reporter {name!r} is not a KafkaTraceReporter")
        config: dict[str, Any] = {"logger": RDKAFKA_LOG}
        consumer = SpanConsumer(
            topic,
            bootstrap_servers=address.bootstrap_servers,
            group_id=f"spanstream-demo-{run_id}",
            start=run_start_millis,
            config=config,
        )
        stack.callback(consumer.close)  # idempotent; the reader's thread closes it normally
        reader = _DemoConsumer(consumer, run_id)
        with console.status(f"joining consumer group for topic {topic}..."):
            consumer.wait_for_assignment(timeout_s=30.0)
        reader.start()
        stack.callback(reader.stop)
        console.print(
            f"config: {config_path}  topic: {topic}  run: {run_id}  "
            f"duration: {options.duration_s:g} s",
            highlight=False,
            soft_wrap=True,
        )
        simulation = FlinkSimulation(
            registry,
            duration_s=options.duration_s,
            task_managers=options.task_managers,
            app_spans_per_s=options.app_spans_per_s,
            seed=options.seed,
            report_events_as_spans=events_as_spans,
        )
        result = _run_live(options, console, simulation, reporter, reader, registry)
        console.print(summary_table(result))
        if result.ok:
            console.print(
                f"[bold green]OK[/]: every delivered span was consumed "
                f"({result.consumed:,} of {result.reporter.delivered:,}), none lost, "
                f"{result.consumer.duplicate_spans} duplicates.",
                highlight=False,
            )
        else:
            console.print(
                f"[bold red]FAILED[/]: the reporter accepted {result.reporter.accepted:,} spans, "
                f"delivered {result.reporter.delivered:,}; the consumer read back "
                f"{result.consumed:,}.",
                highlight=False,
            )
        if reader.error is not None:
            console.print(f"[red]consumer error:[/] {reader.error}", highlight=False)
        console.print(
            f"explore the topic: spanstream tail {topic} --from-beginning --max 5; "
            f"spanstream stats {topic} --since 10m",
            highlight=False,
            soft_wrap=True,
        )
        if broker is not None and broker.started_here:
            console.print(
                "(the broker this demo started is stopped now; `spanstream broker start` keeps "
                "one running for tail/stats/export)",
                highlight=False,
                soft_wrap=True,
            )
    return ExitCode.OK if result.ok and reader.error is None else ExitCode.FAILURE


def _run_live(
    options: DemoOptions,
    console: Console,
    simulation: FlinkSimulation,
    reporter: KafkaTraceReporter,
    reader: _DemoConsumer,
    registry: ReporterRegistry,
) -> DemoResult:
    stop = threading.Event()
    started = time.monotonic()
    sim_thread = threading.Thread(
        target=simulation.run, args=(stop,), name="spanstream-demo-simulation", daemon=True
    )

    def view(phase: str) -> Group:
        with reader.lock:
            jobs = reader.board.jobs()
            table = health_table(jobs, title=f"checkpoint health per job ({phase})")
            consumed = reader.consumed
        line = _counters_line(reporter.snapshot(), consumed, time.monotonic() - started)
        return Group(table, Text(line))

    events = _kafka_event_reporter(registry)

    def flush() -> None:
        _flush(reporter, events)

    def done_draining() -> bool:
        return _drained(reporter, events, reader)

    sim_thread.start()
    try:
        if console.is_terminal:
            with Live(view("running"), console=console, refresh_per_second=4) as live:
                while sim_thread.is_alive():
                    sim_thread.join(0.25)
                    live.update(view("running"))
                flush()
                deadline = time.monotonic() + options.drain_timeout_s
                while not done_draining() and time.monotonic() < deadline and reader.alive:
                    time.sleep(0.1)
                    live.update(view("draining"))
                live.update(view("done"))
        else:
            next_line = started + _PLAIN_REPORT_EVERY_S
            printed: tuple[str, str] | None = None
            while sim_thread.is_alive():
                sim_thread.join(0.25)
                if time.monotonic() >= next_line:
                    next_line += _PLAIN_REPORT_EVERY_S
                    printed = _print_plain(console, reader, reporter, started, unless=None)
            flush()
            deadline = time.monotonic() + options.drain_timeout_s
            while not done_draining() and time.monotonic() < deadline and reader.alive:
                time.sleep(0.1)
            # The last state once more only if it changed since the last line printed.
            _print_plain(console, reader, reporter, started, unless=printed)
            with reader.lock:
                console.print(health_table(reader.board.jobs(), title="checkpoint health per job"))
    finally:
        stop.set()
        sim_thread.join()
    reader.stop()
    with reader.lock:
        latencies = reader.latencies_millis
        return DemoResult(
            reporter=reporter.snapshot(),
            consumer=reader.stats,
            consumed=reader.consumed,
            other_spans=reader.other_spans,
            reported=simulation.counts.total,
            events_reported=simulation.counts.events,
            event_reporter=None if events is None else events.snapshot(),
            events_consumed=len(reader.event_ids),
            latency_p50_millis=percentile(latencies, 0.5),
            latency_p99_millis=percentile(latencies, 0.99),
        )


def _flush(reporter: KafkaTraceReporter, events: KafkaEventReporter | None) -> None:
    reporter.flush(30.0)
    if events is not None:
        events.flush(30.0)


def _drained(
    reporter: KafkaTraceReporter, events: KafkaEventReporter | None, reader: _DemoConsumer
) -> bool:
    """Whether every delivered span (and event of this run on the span topic) was read back."""
    snapshot = reporter.snapshot()
    spans_done = snapshot.pending == 0 and reader.consumed >= snapshot.delivered
    if events is None:
        return spans_done
    with reader.lock:
        events_read = len(reader.event_ids)
    # Events on a topic of their own are not read back here: only the demo's shared topic.
    return spans_done and (not events_read or events_read >= events.snapshot().delivered)


def _kafka_event_reporter(registry: ReporterRegistry) -> KafkaEventReporter | None:
    """The configuration's first Kafka event reporter, or None when there is none."""
    for name in registry.event_names:
        reporter = registry.event_reporter(name)
        if isinstance(reporter, KafkaEventReporter):
            return reporter
    return None


def _print_plain(
    console: Console,
    reader: _DemoConsumer,
    reporter: KafkaTraceReporter,
    started: float,
    *,
    unless: tuple[str, str] | None,
) -> tuple[str, str]:
    """Print the progress lines, unless the state is ``unless``; returns the state shown.

    The state is the counters and the jobs' line, without the elapsed time.
    """
    with reader.lock:
        jobs = reader.board.jobs()
        consumed = reader.consumed
    counters = _counters_line(reporter.snapshot(), consumed, time.monotonic() - started)
    jobs_line = _plain_line(jobs) if jobs else ""
    state = (counters.split("  ", 1)[1], jobs_line)
    if state == unless:
        return state
    console.print(counters, highlight=False, soft_wrap=True)
    if jobs_line:
        console.print("  " + jobs_line, highlight=False, soft_wrap=True)
    return state
