"""What the reliability scripts and their CI tests share: private brokers, a steady publisher,
reading a topic back to its high watermarks (the one raw read loop, also the integration tests'),
the run loop of a publishing run under a fault, and the figures of a run.

Every run reports the same figures (the README's Reliability table): spans sent (given to
``add_span``), delivered (the reporter's count), read back (distinct spans on the topic), lost,
duplicated, dropped by the reporter (and why), the worst ``add_span`` latency and the peak RSS.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
import uuid
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil
from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from spanstream.broker import LocalKafka
from spanstream.broker._jvm import new_cluster_id
from spanstream.broker._security import find_free_base_port
from spanstream.producer import (
    KafkaReporterStats,
    KafkaTraceReporter,
    MetricGroup,
    ReporterRegistry,
)
from spanstream.schemas import BrokerError, DecodeError, Span, decode_span

SCOPE = "org.apache.flink.runtime.checkpoint.CheckpointStatsTracker"
PREFIX = "traces.reporter.kafka."


def private_kafka(state_dir: Path, *, name: str, nodes: int = 1) -> LocalKafka:
    """A local broker (or cluster) of its own: own folder, a free block of ports, not started."""
    kafka = LocalKafka(
        state_dir, nodes=nodes, base_port=find_free_base_port(nodes=nodes), name=name
    )
    # A cluster id starting with "-" reads as an option to kafka-storage (1 in 64 of
    # new_cluster_id()): seed one that does not.
    cluster_id = new_cluster_id()
    while cluster_id.startswith("-"):
        cluster_id = new_cluster_id()
    kafka.cluster_dir.mkdir(parents=True, exist_ok=True)
    (kafka.cluster_dir / "cluster.id").write_text(cluster_id + "\n")
    return kafka


def start_node_retrying(kafka: LocalKafka, node_id: int, *, timeout_s: float = 180.0) -> None:
    """Start a node again; one more try if its JVM gave up while starting on a loaded machine."""
    try:
        kafka.start_node(node_id, timeout_s=timeout_s)
    except BrokerError:
        kafka.stop_node(node_id)
        kafka.start_node(node_id, timeout_s=timeout_s)


def reporter_registry(
    bootstrap_servers: str, topic: str, **settings: object
) -> tuple[ReporterRegistry, KafkaTraceReporter]:
    """A registry with one Kafka reporter named ``kafka`` (settings without the prefix)."""
    config: dict[str, object] = {
        PREFIX + "factory.class": "kafka",
        PREFIX + "bootstrap.servers": bootstrap_servers,
        PREFIX + "topic": topic,
        PREFIX + "key": "trace-id",
    }
    config.update({PREFIX + key: value for key, value in settings.items()})
    registry = ReporterRegistry.from_config(config)
    reporter = registry.reporter("kafka")
    assert isinstance(reporter, KafkaTraceReporter)
    return registry, reporter


class RssSampler(threading.Thread):
    """Samples this process's RSS every ``interval_s``; ``peak_bytes`` is the largest seen."""

    def __init__(self, interval_s: float = 0.1) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self._process = psutil.Process()
        self._interval_s = interval_s
        self._halt = threading.Event()
        self.baseline_bytes = self._process.memory_info().rss
        self.peak_bytes = self.baseline_bytes

    def run(self) -> None:
        """Sample until stopped."""
        while not self._halt.wait(self._interval_s):
            self.peak_bytes = max(self.peak_bytes, self._process.memory_info().rss)

    def stop(self) -> int:
        """Stop sampling; return the peak RSS in bytes."""
        self._halt.set()
        self.join()
        self.peak_bytes = max(self.peak_bytes, self._process.memory_info().rss)
        return self.peak_bytes


class SteadyPublisher(threading.Thread):
    """Reports spans through ``group.add_span`` at a steady rate, timing every call.

    Span ``seq`` (an attribute) counts from 0; ``run`` (another) tells runs apart. It publishes
    ``total`` spans, or until :meth:`finish` when ``total`` is None. ``on_tick`` (if given) is
    called about every 0.1 s on the publisher's thread with the number sent so far.
    """

    def __init__(
        self,
        group: MetricGroup,
        *,
        rate_per_s: float,
        total: int | None = None,
        run_id: str | None = None,
        on_tick: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(name="steady-publisher", daemon=True)
        self._group = group
        self._rate_per_s = rate_per_s
        self._total = total
        self._finish = threading.Event()
        self._on_tick = on_tick
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.sent = 0
        self.worst_add_span_ns = 0
        self.slow_calls = 0  # add_span calls over 1 ms
        self.latencies_ns = array("q")
        self.error: BaseException | None = None

    def finish(self) -> None:
        """Stop publishing (when no total was given) and wait for the thread."""
        self._finish.set()
        self.join()

    def percentile_us(self, fraction: float) -> float:
        """The add_span latency at ``fraction`` (0.99 for p99), in microseconds."""
        if not self.latencies_ns:
            return 0.0
        ordered = sorted(self.latencies_ns)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1e3

    def run(self) -> None:
        """Publish in ticks of 10 ms, catching up when behind, so the average rate holds."""
        try:
            self._publish()
        except BaseException as exc:  # surfaced to the test by error
            self.error = exc

    def _publish(self) -> None:
        group = self._group
        perf = time.perf_counter_ns
        start = time.monotonic()
        next_tick = start
        builder_of = Span.builder
        run_id = self.run_id
        while not self._finish.is_set():
            due = int((time.monotonic() - start) * self._rate_per_s) + 1
            if self._total is not None:
                due = min(due, self._total)
            while self.sent < due:
                builder = (
                    builder_of(SCOPE, "Checkpoint")
                    .set_attribute("seq", self.sent)
                    .set_attribute("run", run_id)
                    .set_attribute("checkpointStatus", "COMPLETED")
                    .set_attribute("fullSize", 123_456_789)
                )
                t0 = perf()
                group.add_span(builder)
                spent = perf() - t0
                self.latencies_ns.append(spent)
                if spent > self.worst_add_span_ns:
                    self.worst_add_span_ns = spent
                if spent > 1_000_000:
                    self.slow_calls += 1
                self.sent += 1
            if self._total is not None and self.sent >= self._total:
                return
            now = time.monotonic()
            if self._on_tick is not None and now >= next_tick:
                self._on_tick(self.sent)
                next_tick = now + 0.1
            time.sleep(0.01)


@dataclass
class ReadBack:
    """What a topic holds for one run: distinct seqs, duplicates, and undecodable records."""

    records: int = 0
    seqs: Counter[int] = field(default_factory=Counter)
    bad_records: int = 0

    @property
    def distinct(self) -> int:
        """Spans read at least once."""
        return len(self.seqs)

    @property
    def duplicated(self) -> int:
        """Extra copies beyond the first of every span."""
        return sum(count - 1 for count in self.seqs.values() if count > 1)

    def missing(self, sent: int) -> list[int]:
        """The seqs below ``sent`` never read."""
        return [seq for seq in range(sent) if seq not in self.seqs]


def read_records(
    bootstrap_servers: str,
    topic: str,
    *,
    timeout_s: float = 300.0,
    config: Mapping[str, str] | None = None,
) -> Iterator[Message]:
    """Every record of ``topic`` from the beginning to its high watermarks, as they arrive.

    The one raw read loop of the benchmarks and tests (``tests/integration/_helpers.py``'s
    ``read_topic`` too): a consumer of a fresh group assigned every partition from its start,
    until each partition's position reaches the high watermark seen at the start. A message
    carrying an error is yielded too (it moves no position); the caller decides.

    Raises:
        TimeoutError: the marks were not reached within ``timeout_s``.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap_servers,
            "group.id": f"read-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            **(config or {}),
        }
    )
    try:
        partitions = sorted(consumer.list_topics(topic, timeout=30).topics[topic].partitions)
        high = {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1]
            for p in partitions
        }
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        position = dict.fromkeys(partitions, 0)
        read = 0
        deadline = time.monotonic() + timeout_s
        while any(position[p] < high[p] for p in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"read {read} records of {topic}; marks {high}")
            for message in consumer.consume(num_messages=5000, timeout=1.0):
                if message.error() is None:
                    read += 1
                    position[message.partition()] = message.offset() + 1  # type: ignore[index,operator]
                yield message
    finally:
        consumer.close()


def read_back(
    bootstrap_servers: str,
    topic: str,
    *,
    run_id: str | None = None,
    timeout_s: float = 300.0,
    config: Mapping[str, str] | None = None,
) -> ReadBack:
    """Read ``topic`` from the beginning to its high watermarks and count the spans' seqs."""
    result = ReadBack()
    for message in read_records(bootstrap_servers, topic, timeout_s=timeout_s, config=config):
        if message.error() is not None:
            continue
        result.records += 1
        try:
            span = decode_span(message.value() or b"")
        except DecodeError:
            result.bad_records += 1
            continue
        if run_id is not None and span.attributes.get("run") != run_id:
            continue
        seq = span.attributes.get("seq")
        if isinstance(seq, int):
            result.seqs[seq] += 1
    return result


@dataclass
class Figures:
    """One row of the README's Reliability table."""

    scenario: str
    sent: int
    delivered: int
    read_back: int
    lost: int
    duplicated: int
    dropped: dict[str, int]
    failed: dict[str, int]
    worst_add_span_ms: float
    peak_rss_mb: float
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """The figures as one JSON object."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)


@dataclass
class PublishRun:
    """What one publishing run measured (:func:`publish_through`): the publisher, the
    reporter's counters after its flush, the RSS, and what the topic holds."""

    publisher: SteadyPublisher
    stats: KafkaReporterStats
    pending_after_flush: int
    rss_baseline_bytes: int
    rss_peak_bytes: int
    read: ReadBack
    elapsed_s: float

    def figures(self, scenario: str, *, notes: str, extra: Mapping[str, Any]) -> Figures:
        """The run's row: the figures every scenario reports, then ``extra``'s own."""
        publisher, stats, read = self.publisher, self.stats, self.read
        return Figures(
            scenario=scenario,
            sent=publisher.sent,
            delivered=stats.delivered,
            read_back=read.distinct,
            lost=publisher.sent - read.distinct - stats.dropped_total,
            duplicated=read.duplicated,
            dropped=dict(stats.dropped),
            failed=dict(stats.failed),
            worst_add_span_ms=publisher.worst_add_span_ns / 1e6,
            peak_rss_mb=self.rss_peak_bytes / 2**20,
            notes=notes,
            extra={
                "notified": stats.notified,
                "pending_after_flush": self.pending_after_flush,
                "client_errors": dict(stats.client_errors),
                "records_on_topic": read.records,
                "bad_records": read.bad_records,
                "elapsed_s": round(self.elapsed_s, 1),
                "add_span_calls_over_1ms": publisher.slow_calls,
                "add_span_p50_us": publisher.percentile_us(0.5),
                "add_span_p99_us": publisher.percentile_us(0.99),
                "add_span_p999_us": publisher.percentile_us(0.999),
                **extra,
            },
        )


def publish_through(
    bootstrap_servers: str,
    topic: str,
    *,
    rate_per_s: float,
    settings: Mapping[str, str],
    fault: Callable[[SteadyPublisher, KafkaTraceReporter], None],
) -> PublishRun:
    """The run loop of the failover and outage scripts: publish while ``fault`` happens.

    A Kafka reporter with ``settings`` (:func:`reporter_registry`) and a steady publisher at
    ``rate_per_s`` start; ``fault(publisher, reporter)`` runs on this thread (it kills and
    restarts brokers, waiting on ``publisher.sent``); then the publisher stops, the reporter
    flushes (up to 300 s) and closes, and the topic is read back for this run's spans.
    """
    registry, reporter = reporter_registry(bootstrap_servers, topic, **settings)
    sampler = RssSampler()
    sampler.start()
    publisher = SteadyPublisher(registry.root_group(), rate_per_s=rate_per_s)
    started = time.monotonic()
    publisher.start()
    try:
        fault(publisher, reporter)
    finally:
        publisher.finish()
    pending = reporter.flush(300)
    stats = reporter.snapshot()
    registry.close()
    peak = sampler.stop()
    if publisher.error is not None:
        raise publisher.error
    return PublishRun(
        publisher=publisher,
        stats=stats,
        pending_after_flush=pending,
        rss_baseline_bytes=sampler.baseline_bytes,
        rss_peak_bytes=peak,
        read=read_back(bootstrap_servers, topic, run_id=publisher.run_id),
        elapsed_s=time.monotonic() - started,
    )


def run_on_private_kafka(
    kafka: LocalKafka,
    runs: Iterable[Callable[[], Figures]],
    *,
    start_timeout_s: float,
    json_out: Path | None,
) -> int:
    """Start ``kafka``, run each row (printing its figures), stop and remove it; write the rows
    to ``json_out`` when given. Exit code 0 when no row lost or duplicated a span, else 1."""
    rows: list[Figures] = []
    try:
        kafka.start(timeout_s=start_timeout_s)
        for run in runs:
            figures = run()
            print(figures.to_json(), flush=True)
            rows.append(figures)
    finally:
        kafka.stop()
        kafka.remove_data()
    if json_out:
        json_out.write_text("[" + ",\n".join(row.to_json() for row in rows) + "]\n")
    return 0 if all(row.lost == 0 and row.duplicated == 0 for row in rows) else 1


CHILD = Path(__file__).resolve().parent / "reporting_child.py"


class ChildProcess:
    """``reporting_child.py`` run as a subprocess; its JSON stdout lines read on a thread."""

    def __init__(self, bootstrap: str, topic: str, stderr_path: Path, *properties: str) -> None:
        self._stderr = stderr_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, str(CHILD), bootstrap, topic, *properties],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(json.loads(line))
        self.lines.put(None)

    def send(self, command: str) -> None:
        """Write one command line to the child."""
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def until(self, event: str, *, timeout_s: float = 180.0) -> dict[str, Any]:
        """Return the next line of ``event`` (earlier lines of other events are skipped)."""
        while True:
            line = self.lines.get(timeout=timeout_s)
            if line is None:
                raise EOFError(f"the child ended before {event!r}")
            if line["event"] == event:
                return line

    def rest(self, *, timeout_s: float = 180.0) -> list[dict[str, Any]]:
        """Every line until the child's stdout ends."""
        lines = []
        while (line := self.lines.get(timeout=timeout_s)) is not None:
            lines.append(line)
        return lines

    def close(self) -> None:
        """Kill the child if it still runs, and reap it."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=60)
        self._stderr.close()
