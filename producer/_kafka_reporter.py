"""The Kafka trace reporter: spans become Avro records on a Kafka topic, never blocking the caller.

How a span travels:

1. ``notify_of_added_span`` (the application's thread) appends the span to a bounded in-process
   hand-off queue (a ``collections.deque``, whose ``append`` is atomic) and returns; it wakes the
   sender only when the sender sleeps. When the queue already holds ``queue.max.spans`` spans, the
   overflow policy decides: ``drop-newest`` (the default) drops the new span, ``drop-oldest`` evicts
   the oldest span still in the queue; either way the drop is counted as ``queue-full``. Nothing on
   this path blocks, allocates more than the queue slot, or raises.
2. One sender thread per reporter takes spans in batches, encodes each with
   :func:`spanstream.schemas.encode_span`, picks the record key (``key`` strategy), enforces the
   record size the topic accepts (a larger span is dropped and counted ``too-large``, never a failed
   batch), and hands the record to librdkafka (``produce``), which batches, compresses and retries.
3. librdkafka reports failed deliveries only (``delivery.report.only.error``: a Python call per
   acknowledged record would cost the sender as much as encoding it). The sender, the only
   thread that serves those reports (``poll``), counts failures by error code name and derives
   the delivered count: records produced, less failures reported, less what librdkafka still
   holds (``len(producer)``, which counts a record until its report has been served). That is a
   lower bound at every moment and exact whenever nothing is in flight; the counter only grows.
   :meth:`KafkaTraceReporter.snapshot` reads the counters.

Memory bounds (what ``queue.max.spans`` and ``queue.max.bytes`` mean): the hand-off queue holds at
most ``queue.max.spans`` span objects (references to spans the application built anyway); the
encoded records waiting in librdkafka are bounded by ``queue.max.bytes`` (librdkafka's
``queue.buffering.max.kbytes``) and by ``queue.max.spans`` records
(``queue.buffering.max.messages``). When librdkafka's queue is full (the broker is slow or
down) the sender stops taking spans and polls (backpressure): the hand-off queue fills, and
the overflow policy drops what it says. So while the broker is down, memory stays within those
two bounds.

Fork: a reporter does not survive ``fork()``. In the child process every reporter inherited from
the parent is closed (librdkafka's threads do not exist there): spans reported in the child are
counted as dropped ``closed``, and the parent's queued spans are not sent twice. Open a new reporter
in the child to report from it.

Exit: a reporter still open when the interpreter exits is closed by an ``atexit`` hook, with its
``close.timeout.s`` deadline, so that queued spans are delivered rather than lost with the sender
thread (a daemon thread, which never keeps the application alive on its own).
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from importlib import metadata
from types import MappingProxyType
from typing import Final

from confluent_kafka import KafkaError, KafkaException, Message, Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource  # not re-exported for typing
from confluent_kafka.cimpl import NewTopic  # typed here; confluent_kafka.admin does not export it

from spanstream.kafka import CONNECTION_KEY_PREFIXES as _ADMIN_PREFIXES
from spanstream.kafka import LOG_INTERVAL_S as _LOG_INTERVAL_S
from spanstream.kafka import RateLimiter as _RateLimiter
from spanstream.kafka import safe_cause as _safe_cause
from spanstream.producer._config import MetricConfig
from spanstream.producer._delivery_stats import KafkaReporterStats
from spanstream.producer._kafka_client_errors import ProducerLibrdkafkaLog as _LibrdkafkaLog
from spanstream.producer._kafka_client_errors import config_error as _config_error
from spanstream.producer._kafka_config import DEFAULT_COMPRESSION, KafkaReporterConfig
from spanstream.producer._span_limits import SpanLimits
from spanstream.schemas import SCHEMA_FINGERPRINT, ConfigError, Span, encode_span

__all__ = [
    "CONTENT_TYPE",
    "HEADER_CONTENT_TYPE",
    "HEADER_PRODUCER",
    "HEADER_SCHEMA_FINGERPRINT",
    "KafkaTraceReporter",
    "KafkaTraceReporterFactory",
]

_LOG: Final = logging.getLogger("spanstream.producer.kafka")

HEADER_CONTENT_TYPE: Final = "content-type"
HEADER_SCHEMA_FINGERPRINT: Final = "spanstream-schema-fingerprint"
HEADER_PRODUCER: Final = "spanstream-producer"
CONTENT_TYPE: Final = "application/vnd.apache.avro+binary; framing=single-object"
"""The ``content-type`` header: an Avro single-object message (``C3 01``, fingerprint, body)."""

# Spans taken from the hand-off queue per round of the sender (between two ``poll(0)`` calls).
_BATCH_SPANS: Final = 2048
# What a record costs on the wire beyond its key, value and header bytes (the record batch
# header, the record's varints): a margin for the size check against the topic's limit.
_RECORD_OVERHEAD_BYTES: Final = 256
_IDLE_WAIT_S: Final = 0.1
_IN_FLIGHT_POLL_S: Final = 0.005
_BACKPRESSURE_POLL_S: Final = 0.02
_TOPIC_RETRY_S: Final = 1.0
_PURGED: Final = frozenset({KafkaError._PURGE_QUEUE, KafkaError._PURGE_INFLIGHT})


def _library_version() -> str:
    try:
        return metadata.version("spanstream")
    except metadata.PackageNotFoundError:
        return "0+unknown"


class _TopicMissingError(Exception):
    """The topic does not exist and ``topic.create`` is off."""


class _TopicRejectedError(Exception):
    """The broker refused to create the topic (bad partitions, replication factor, policy)."""


class KafkaTraceReporter:
    """A :class:`~spanstream.producer.TraceReporter` that publishes spans to a Kafka topic.

    Configure it under ``traces.reporter.<name>.*`` (see the README's "Kafka reporter
    configuration" table); the registry calls :meth:`open`. ``notify_of_added_span`` never
    blocks and never raises; :meth:`snapshot` tells what became of every span;
    :meth:`flush` and :meth:`close` honour their deadlines and return how many spans were still
    pending. The module docstring describes the queue bounds, the overflow policy and fork.

    Example:
        >>> reporter = KafkaTraceReporter()
        >>> reporter.open(MetricConfig(                                  # doctest: +SKIP
        ...     {"bootstrap.servers": "127.0.0.1:9092", "topic": "flink-traces"},
        ...     prefix="traces.reporter.kafka.",
        ... ))
        >>> reporter.notify_of_added_span(Span.builder("app.Job", "Load").build())  # doctest: +SKIP
        >>> reporter.close(5.0)                                          # doctest: +SKIP
        0
    """

    def __init__(self) -> None:
        # The hot path reads only these three attributes: a closed or unopened reporter has
        # _max_queued == 0, so every span goes to the slow path, which counts it.
        self._queue: deque[Span] = deque()
        self._max_queued = 0
        self._sender_idle = False
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._config: KafkaReporterConfig | None = None
        self._producer: Producer | None = None
        self._producer_conf: dict[str, object] = {}
        self._admin_client: AdminClient | None = None
        self._thread: threading.Thread | None = None
        self._headers: list[tuple[str, str | bytes | None]] | None = None
        self._key_of: Callable[[Span], bytes | None] = _no_key
        self._fixed_record_bytes = _RECORD_OVERHEAD_BYTES
        self._max_record_bytes = 0
        self._limits: SpanLimits | None = None  # the span.max.* keys, when any is set
        self._topic_ready = False
        self._state = "new"  # new -> open -> closing -> closed
        self._stopping = False
        self._close_pending = 0
        self._drop_log = _RateLimiter(_LOG_INTERVAL_S)
        # Written by callers under _lock (the rare paths).
        self._rejected: dict[str, int] = {}
        self._evicted = 0
        self._discarded = 0  # accepted, then left in the queue at close: dropped ``closed``
        # Written by the sender thread only (single writer): no lock on the hot paths.
        self._taken = 0
        self._produced = 0  # records librdkafka accepted
        self._produced_bytes = 0  # their values' bytes
        self._reported = 0  # records with a failure report (failed, or purged at close)
        self._reported_bytes = 0
        self._delivered = 0  # derived by _settle: produced - reported - still in librdkafka
        self._delivered_bytes = 0
        self._failed: dict[str, int] = {}
        self._dropped: dict[str, int] = {}
        self._client_errors: dict[str, int] = {}

    # -- the application's side ---------------------------------------------------------------

    def notify_of_added_span(self, span: Span) -> None:
        """Hand the span to the sender and return at once. Never blocks, never raises."""
        queue = self._queue
        if len(queue) < self._max_queued:
            queue.append(span)
            if self._sender_idle:
                self._wake.set()
            return
        self._overflow(span)

    def _overflow(self, span: Span) -> None:
        try:
            with self._lock:
                config = self._config
                if self._state != "open" or config is None:
                    reason = "closed"
                    self._rejected[reason] = self._rejected.get(reason, 0) + 1
                elif config.overflow_policy == "drop-oldest":
                    reason = "queue-full"
                    try:
                        self._queue.popleft()
                    except IndexError:
                        self._rejected[reason] = self._rejected.get(reason, 0) + 1
                    else:
                        self._evicted += 1
                        self._queue.append(span)
                else:
                    reason = "queue-full"
                    self._rejected[reason] = self._rejected.get(reason, 0) + 1
            self._log_drop(reason)
        except Exception:  # noqa: BLE001, S110 - telemetry never raises into the application
            pass

    # -- lifecycle ------------------------------------------------------------------------------

    def open(self, config: MetricConfig) -> None:
        """Validate the configuration, create the producer, check the topic, start the sender.

        The topic is checked (and created when missing, with ``topic.create``) for at most
        ``open.timeout.s``; when the broker cannot be reached in that time, ``open`` returns
        anyway and the sender keeps trying, holding spans in the bounded queue meanwhile.

        Raises:
            ConfigError: a setting is invalid (a librdkafka property included), or the broker
                answered that the topic is missing while ``topic.create`` is off, or refused to
                create it as configured.
        """
        with self._lock:
            if self._state != "new":
                raise RuntimeError(f"a KafkaTraceReporter opens once; this one is {self._state}")
            self._state = "opening"
        try:
            limits = SpanLimits.from_metric_config(config)
            self._limits = limits if limits.active else None
            self._open(KafkaReporterConfig.from_metric_config(config))
        except BaseException:
            with self._lock:
                self._state = "closed"
            self._producer = None
            raise

    def _open(self, config: KafkaReporterConfig) -> None:
        self._config = config
        self._producer = self._new_producer(config, batch_max_bytes=None)
        self._max_record_bytes = config.record_max_bytes
        self._key_of = _key_function(config)
        headers = _headers(config)
        wire_headers: list[tuple[str, str | bytes | None]] = list(headers)
        self._headers = wire_headers or None
        self._fixed_record_bytes = _RECORD_OVERHEAD_BYTES + sum(
            len(name) + len(value) + 8 for name, value in headers
        )
        if config.open_timeout_s > 0:
            try:
                self._prepare_topic(time.monotonic() + config.open_timeout_s)
            except _TopicMissingError as exc:
                raise ConfigError(
                    config.full_key("topic"),
                    config.topic,
                    "an existing topic (the broker says it does not exist; set "
                    f"{config.full_key('topic.create')}=true to create it)",
                ) from exc
            except _TopicRejectedError as exc:
                raise ConfigError(
                    config.full_key("topic.partitions"),
                    config.topic_partitions,
                    f"settings the broker accepts for a new topic ({exc}); see also "
                    f"{config.full_key('topic.replication.factor')}="
                    f"{config.topic_replication_factor}",
                ) from exc
        self._thread = threading.Thread(
            target=self._run, name=f"spanstream-kafka-{config.name}", daemon=True
        )
        with self._lock:
            self._state = "open"
            self._max_queued = config.queue_max_spans
        self._thread.start()
        _LIVE_REPORTERS.add(self)
        _close_reporters_at_exit_once()

    def flush(self, timeout_s: float | None = None) -> int:
        """Wait until every accepted span has an outcome, or until ``timeout_s`` has passed.

        Args:
            timeout_s: the deadline in seconds (default: ``flush.timeout.s``).

        Returns:
            How many spans were still pending (0 when everything was delivered or dropped).
        """
        config = self._config
        if timeout_s is None:
            timeout_s = config.flush_timeout_s if config is not None else 0.0
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            pending = self._pending()
            thread = self._thread
            if pending <= 0 or thread is None or not thread.is_alive():
                return max(0, pending)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return pending
            self._wake.set()
            time.sleep(min(0.005, remaining))

    def close(self, timeout_s: float | None = None) -> int:
        """Stop accepting spans, deliver what is queued within ``timeout_s``, then stop.

        Spans notified after ``close`` started are counted as dropped ``closed``; spans still
        pending at the deadline are dropped ``closed`` too (records already in librdkafka are
        purged). A second ``close`` does nothing and returns the first one's answer.

        Args:
            timeout_s: the deadline in seconds (default: ``close.timeout.s``).

        Returns:
            How many spans were still pending at the deadline (and so were dropped).
        """
        with self._lock:
            if self._state in {"closing", "closed"}:
                return self._close_pending
            was_open = self._state == "open"
            self._state = "closing"
            self._max_queued = 0
        config = self._config
        if timeout_s is None:
            timeout_s = config.close_timeout_s if config is not None else 0.0
        timeout_s = max(0.0, timeout_s)
        deadline = time.monotonic() + timeout_s
        # The last tenth of the time (at most a second) is kept for the sender to purge what
        # librdkafka still holds and count it, so the counters are final when close returns.
        grace_s = min(1.0, timeout_s / 10)
        pending = 0
        try:
            if was_open:
                pending = self.flush(max(0.0, deadline - grace_s - time.monotonic()))
                self._stopping = True
                self._wake.set()
                thread = self._thread
                if thread is not None:
                    thread.join(max(0.0, deadline - time.monotonic()))
        finally:
            with self._lock:
                self._state = "closed"
                self._close_pending = pending
            _LIVE_REPORTERS.discard(self)
        # Whatever is still in the queue is dropped now, even if the sender has not stopped yet
        # (it may be waiting on an unreachable broker): the deadline holds either way.
        self._settle_residual()
        return pending

    # -- counters -------------------------------------------------------------------------------

    def snapshot(self) -> KafkaReporterStats:
        """Return the counters now (see :class:`KafkaReporterStats` for their invariant)."""
        self._settle_residual()
        # Outcomes first, then the queue, then what the sender took: every outcome read here
        # belongs to a span counted as accepted below, so ``pending`` is never negative.
        delivered = self._delivered
        delivered_bytes = self._delivered_bytes
        failed = dict(self._failed)
        dropped_after = dict(self._dropped)
        reported = self._reported
        with self._lock:
            rejected = dict(self._rejected)
            evicted = self._evicted
            discarded = self._discarded
            queued = len(self._queue)
        taken = self._taken
        produced = self._produced
        accepted = taken + queued + evicted + discarded
        dropped = dict(rejected)
        for reason, count in dropped_after.items():
            dropped[reason] = dropped.get(reason, 0) + count
        if evicted:
            dropped["queue-full"] = dropped.get("queue-full", 0) + evicted
        if discarded:
            dropped["closed"] = dropped.get("closed", 0) + discarded
        outcomes = delivered + sum(failed.values()) + sum(dropped_after.values()) + evicted
        outcomes += discarded
        rejected_total = sum(rejected.values())
        return KafkaReporterStats(
            notified=accepted + rejected_total,
            accepted=accepted,
            rejected=rejected_total,
            delivered=delivered,
            delivered_bytes=delivered_bytes,
            failed=_frozen(failed),
            dropped=_frozen(dropped),
            pending=max(0, accepted - outcomes),
            queued=queued,
            in_flight=max(0, produced - reported - delivered),
            client_errors=_frozen(dict(self._client_errors)),
        )

    def _pending(self) -> int:
        # Accepted (queued, taken, evicted, discarded) less every outcome (the same evictions
        # and discards included).
        outcomes = self._delivered + sum(self._failed.values()) + sum(self._dropped.values())
        return len(self._queue) + self._taken - outcomes

    def _settle_residual(self) -> None:
        """Count spans still in the queue of a closed reporter as dropped ``closed``."""
        if self._state != "closed" or not self._queue:
            return
        with self._lock:
            count = 0
            while True:
                try:
                    self._queue.popleft()
                except IndexError:
                    break
                count += 1
            self._discarded += count

    # -- the producer ---------------------------------------------------------------------------

    def _new_producer(
        self, config: KafkaReporterConfig, *, batch_max_bytes: int | None
    ) -> Producer:
        conf: dict[str, object] = {
            "bootstrap.servers": config.bootstrap_servers,
            "client.id": f"spanstream-{config.name}",
            "acks": "all",
            "enable.idempotence": "true",
            "compression.type": DEFAULT_COMPRESSION,
            "linger.ms": "5",
            "allow.auto.create.topics": "false",
            "queue.buffering.max.messages": str(config.queue_max_spans),
            "queue.buffering.max.kbytes": str(max(1, math.ceil(config.queue_max_bytes / 1024))),
        }
        if config.record_max_bytes > 1_000_000:
            conf["message.max.bytes"] = str(config.record_max_bytes + 65_536)
        conf.update(config.producer)
        if batch_max_bytes is not None:
            current = int(str(conf.get("batch.size", 1_000_000)))
            conf["batch.size"] = str(min(current, batch_max_bytes))
        conf["delivery.report.only.error"] = True  # see the module docstring, step 3
        self._producer_conf = dict(conf)
        conf["on_delivery"] = self._on_delivery
        conf["error_cb"] = self._on_client_error
        conf["logger"] = _LibrdkafkaLog()
        try:
            return Producer(conf)
        except (KafkaException, ValueError, TypeError) as exc:
            raise _config_error(config, self._producer_conf, exc) from _safe_cause(
                exc, self._producer_conf
            )

    def _admin(self) -> AdminClient:
        if self._admin_client is None:
            conf: dict[str, object] = {
                key: value
                for key, value in self._producer_conf.items()
                if key.startswith(_ADMIN_PREFIXES)
            }
            conf["logger"] = _LibrdkafkaLog()
            self._admin_client = AdminClient(conf)  # type: ignore[arg-type]  # logger is allowed
        return self._admin_client

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        # Runs on the sender thread (inside poll): the single writer of these counters. Reports
        # come for failures only (delivery.report.only.error); _settle derives the delivered.
        if err is None:
            return
        self._reported += 1
        try:
            self._reported_bytes += len(msg)
            code = err.code()
            if code in _PURGED:
                self._dropped["closed"] = self._dropped.get("closed", 0) + 1
                return
            name = err.name()
            self._failed[name] = self._failed.get(name, 0) + 1
            suppressed = self._drop_log.allow("failed:" + name)
            if suppressed is not None:
                _LOG.warning(
                    "Kafka trace reporter %r: a span failed delivery to %r: %s "
                    "(%d more such failures not logged)",
                    self._name(),
                    msg.topic(),
                    err.str(),
                    suppressed,
                )
        except Exception:  # noqa: BLE001 - an exception here would surface from poll()
            self._failed["_UNKNOWN"] = self._failed.get("_UNKNOWN", 0) + 1

    def _on_client_error(self, err: KafkaError) -> None:
        try:
            name = err.name()
            self._client_errors[name] = self._client_errors.get(name, 0) + 1
            suppressed = self._drop_log.allow("client:" + name)
            if suppressed is not None or err.fatal():
                level = logging.ERROR if err.fatal() else logging.WARNING
                _LOG.log(
                    level,
                    "Kafka trace reporter %r: %s (%d more not logged)",
                    self._name(),
                    err.str(),
                    suppressed or 0,
                )
        except Exception:  # noqa: BLE001, S110 - an exception here would surface from poll()
            pass

    # -- the topic ------------------------------------------------------------------------------

    def _prepare_topic(self, deadline: float) -> bool:
        """Make sure the topic exists (creating it if configured) and learn its size limit.

        Returns:
            Whether the topic is ready; ``False`` when the deadline passed first.

        Raises:
            _TopicMissingError: the broker says the topic does not exist and may not be created.
            _TopicRejectedError: the broker refused to create it.
        """
        config = self._config
        assert config is not None
        pause_s = 0.05
        while not self._stopping:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            state = self._topic_state(min(remaining, 0.5))
            if state == "ready":
                self._learn_topic_limit(min(max(deadline - time.monotonic(), 0.5), 5.0))
                self._topic_ready = True
                return True
            if state == "missing":
                if not config.topic_create:
                    raise _TopicMissingError(config.topic)
                self._create_topic(min(max(deadline - time.monotonic(), 0.1), 10.0))
            time.sleep(max(0.0, min(pause_s, deadline - time.monotonic())))
            pause_s = min(pause_s * 2, 0.5)
        return False

    def _topic_state(self, timeout_s: float) -> str:
        config = self._config
        producer = self._producer
        assert config is not None
        assert producer is not None
        try:
            topics = producer.list_topics(config.topic, timeout=timeout_s).topics
        except KafkaException:
            return "unreachable"
        topic = topics.get(config.topic)
        if topic is None:
            return "unreachable"
        if topic.error is not None:
            if topic.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                return "missing"
            return "not-ready"
        if not topic.partitions or any(p.leader < 0 for p in topic.partitions.values()):
            return "not-ready"
        return "ready"

    def _create_topic(self, timeout_s: float) -> None:
        config = self._config
        assert config is not None
        new_topic = NewTopic(
            config.topic,
            num_partitions=config.topic_partitions,
            replication_factor=config.topic_replication_factor,
        )
        try:
            futures = self._admin().create_topics(
                [new_topic], operation_timeout=timeout_s, request_timeout=timeout_s
            )
            futures[config.topic].result(timeout=timeout_s)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if not isinstance(error, KafkaError):
                return
            code = error.code()
            if code in {
                KafkaError.INVALID_PARTITIONS,
                KafkaError.INVALID_REPLICATION_FACTOR,
                KafkaError.INVALID_REPLICA_ASSIGNMENT,
                KafkaError.INVALID_CONFIG,
                KafkaError.POLICY_VIOLATION,
                KafkaError.TOPIC_AUTHORIZATION_FAILED,
                KafkaError.CLUSTER_AUTHORIZATION_FAILED,
            }:
                raise _TopicRejectedError(error.str()) from exc
            # TOPIC_ALREADY_EXISTS (a race with another creator), or a timeout: look again.
        except Exception:  # noqa: BLE001 - a timeout or a broker going away: look again
            return
        _LOG.info("Kafka trace reporter %r created topic %r", self._name(), config.topic)

    def _learn_topic_limit(self, timeout_s: float) -> None:
        """Cap the record size (and librdkafka's batches) at the topic's ``max.message.bytes``."""
        config = self._config
        assert config is not None
        resource = ConfigResource(ConfigResource.Type.TOPIC, config.topic)
        try:
            futures = self._admin().describe_configs([resource], request_timeout=timeout_s)
            entries = futures[resource].result(timeout=timeout_s)
            topic_max_bytes = int(entries["max.message.bytes"].value)
        except Exception:  # noqa: BLE001 - the limit is a refinement; the configured one stands
            return
        self._max_record_bytes = min(config.record_max_bytes, topic_max_bytes)
        batch_bytes = int(str(self._producer_conf.get("batch.size", 1_000_000)))
        if topic_max_bytes < batch_bytes + _RECORD_OVERHEAD_BYTES:
            # librdkafka does not split a batch the broker refuses as too large: keep its
            # batches within the topic's limit. Nothing was produced yet, so a new producer
            # replaces the old one without losing anything.
            self._producer = self._new_producer(
                config, batch_max_bytes=max(1024, topic_max_bytes - _RECORD_OVERHEAD_BYTES)
            )

    # -- the sender thread ----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._wait_for_topic()
            while not self._stopping:
                try:
                    self._send_until_stopped()
                except Exception:  # noqa: BLE001 - a bug must not end publishing
                    _LOG.exception("Kafka trace reporter %r: sender error", self._name())
                    time.sleep(0.1)
        finally:
            self._finish()

    def _wait_for_topic(self) -> None:
        config = self._config
        assert config is not None
        while not self._topic_ready and not self._stopping:
            try:
                if self._prepare_topic(time.monotonic() + 1.0):
                    return
                reason = f"cannot reach the broker(s) at {config.bootstrap_servers}"
            except _TopicMissingError:
                reason = f"topic {config.topic!r} does not exist and topic.create is off"
            except _TopicRejectedError as exc:
                reason = f"the broker refused to create topic {config.topic!r}: {exc}"
            # Serve librdkafka's error and log callbacks meanwhile: an authentication or TLS
            # failure is counted in client_errors and logged, not hidden behind this reason.
            producer = self._producer
            if producer is not None:
                producer.poll(0)
            suppressed = self._drop_log.allow("topic")
            if suppressed is not None:
                _LOG.warning(
                    "Kafka trace reporter %r: %s; spans wait in the queue (%d queued)",
                    self._name(),
                    reason,
                    len(self._queue),
                )
            self._wake.wait(_TOPIC_RETRY_S)
            self._wake.clear()

    def _send_until_stopped(self) -> None:
        queue = self._queue
        wake = self._wake
        producer = self._producer
        assert producer is not None
        poll = producer.poll
        while not self._stopping:
            count = len(queue)
            if count:
                count = min(count, _BATCH_SPANS)
                # Counted before the spans leave the queue, so a snapshot never misses them.
                self._taken += count
                batch: list[Span] = []
                take = batch.append
                popleft = queue.popleft
                try:
                    for _ in range(count):
                        take(popleft())
                except IndexError:  # close() discarded the rest meanwhile
                    self._taken -= count - len(batch)
                self._send(batch, producer)
                poll(0)
                self._settle(producer)
            elif self._produced != self._reported + self._delivered:
                poll(_IN_FLIGHT_POLL_S)
                self._settle(producer)
            else:
                wake.clear()
                self._sender_idle = True
                if not queue and not self._stopping:
                    wake.wait(_IDLE_WAIT_S)
                self._sender_idle = False
                poll(0)
                self._settle(producer)

    def _settle(self, producer: Producer) -> None:
        """Derive the delivered count (and bytes) after ``poll`` served the failure reports.

        ``len(producer)`` counts a record until librdkafka destroys it: after its acknowledgement
        (no report asked), or after its failure report was served and counted in ``_reported``.
        So ``produced - reported - len(producer)`` never counts a record twice or too early.
        """
        holding = len(producer)
        delivered = self._produced - self._reported - holding
        self._delivered = max(self._delivered, delivered)
        if holding == 0:
            self._delivered_bytes = self._produced_bytes - self._reported_bytes
        elif self._delivered:
            # Records in flight: their share of the produced bytes, by the mean record size.
            settled_bytes = self._produced_bytes - self._reported_bytes
            settled = self._produced - self._reported
            estimate = settled_bytes * self._delivered // settled if settled > 0 else 0
            self._delivered_bytes = max(self._delivered_bytes, estimate)

    def _send(self, batch: list[Span], producer: Producer) -> None:
        """Encode and produce a batch of spans; every span ends counted or in librdkafka."""
        produce = producer.produce
        poll = producer.poll
        topic = self._config.topic if self._config is not None else ""
        headers = self._headers
        key_of = self._key_of
        fixed_bytes = self._fixed_record_bytes
        max_bytes = self._max_record_bytes
        limits = self._limits
        produced = produced_bytes = 0
        index = 0
        for index, span in enumerate(batch):
            try:
                value = encode_span(span)
                key = key_of(span)
            except Exception:  # noqa: BLE001 - a span the codec refuses is dropped and counted
                self._drop("encode-error")
                continue
            # Over the record size, or over a span.max.* limit (checked only when one is set).
            if len(value) + (len(key) if key is not None else 0) + fixed_bytes > max_bytes or (
                limits is not None and limits.violation(span) is not None
            ):
                self._drop("too-large")
                continue
            while True:
                try:
                    if headers is None:
                        produce(topic, value, key)
                    else:
                        produce(topic, value, key, headers=headers)
                except BufferError:
                    # librdkafka's own queue is full: keep the span and let deliveries drain
                    # it (backpressure); the hand-off queue fills meanwhile.
                    if self._stopping:
                        self._produced += produced
                        self._produced_bytes += produced_bytes
                        remaining = len(batch) - index
                        self._dropped["closed"] = self._dropped.get("closed", 0) + remaining
                        return
                    self._produced += produced
                    self._produced_bytes += produced_bytes
                    produced = produced_bytes = 0
                    poll(_BACKPRESSURE_POLL_S)
                    self._settle(producer)
                    continue
                except KafkaException as exc:
                    self._record_produce_error(exc)
                except Exception as exc:  # noqa: BLE001 - counted, never raised
                    name = type(exc).__name__
                    self._failed[name] = self._failed.get(name, 0) + 1
                else:
                    produced += 1
                    produced_bytes += len(value)
                break
        self._produced += produced
        self._produced_bytes += produced_bytes

    def _drop(self, reason: str) -> None:
        # The sender's drops (rare): counted, and logged at a limited rate.
        self._dropped[reason] = self._dropped.get(reason, 0) + 1
        self._log_drop(reason)

    def _record_produce_error(self, exc: KafkaException) -> None:
        error = exc.args[0] if exc.args else None
        if isinstance(error, KafkaError) and error.code() == KafkaError.MSG_SIZE_TOO_LARGE:
            self._dropped["too-large"] = self._dropped.get("too-large", 0) + 1
            self._log_drop("too-large")
            return
        name = error.name() if isinstance(error, KafkaError) else type(exc).__name__
        self._failed[name] = self._failed.get(name, 0) + 1

    def _finish(self) -> None:
        """The sender's last act: drop what is left as ``closed``, purge librdkafka, let go."""
        producer = self._producer
        if producer is not None:
            try:
                producer.poll(0)
                if len(producer):
                    producer.purge(in_queue=True, in_flight=True, blocking=False)
                    give_up = time.monotonic() + 1.0
                    while len(producer) and time.monotonic() < give_up:
                        producer.poll(0.01)
                producer.poll(0)
                self._settle(producer)
            except Exception:  # noqa: BLE001 - closing must finish
                _LOG.exception("Kafka trace reporter %r: error while closing", self._name())
        queue = self._queue
        dropped = self._dropped
        while queue:
            self._taken += 1
            try:
                queue.popleft()
            except IndexError:  # close() discarded it meanwhile
                self._taken -= 1
                break
            dropped["closed"] = dropped.get("closed", 0) + 1
        self._producer = None
        self._admin_client = None

    # -- helpers --------------------------------------------------------------------------------

    def _name(self) -> str:
        return self._config.name if self._config is not None else "?"

    def _log_drop(self, reason: str) -> None:
        suppressed = self._drop_log.allow("drop:" + reason)
        if suppressed is not None:
            _LOG.warning(
                "Kafka trace reporter %r dropped a span (%s); %d more such drops not logged "
                "since the last message",
                self._name(),
                reason,
                suppressed,
            )

    def _after_fork_in_child(self) -> None:
        # librdkafka's threads and the sender do not exist in the child: close without sending.
        self._max_queued = 0
        self._state = "closed"
        self._lock = threading.Lock()
        self._queue = deque()
        self._thread = None
        self._producer = None
        self._admin_client = None

    def __repr__(self) -> str:
        config = self._config
        if config is None:
            return f"KafkaTraceReporter(state={self._state!r})"
        return (
            f"KafkaTraceReporter(name={config.name!r}, topic={config.topic!r}, "
            f"bootstrap_servers={config.bootstrap_servers!r}, state={self._state!r})"
        )


class KafkaTraceReporterFactory:
    """Creates :class:`KafkaTraceReporter` instances (entry point ``kafka``).

    Name it in the configuration as ``traces.reporter.<name>.factory.class: kafka``.
    """

    def create_trace_reporter(self, properties: Mapping[str, object]) -> KafkaTraceReporter:
        """Return a new, not yet opened, reporter; its settings come with ``open``."""
        del properties
        return KafkaTraceReporter()


# -- keys and headers -------------------------------------------------------------------------


def _no_key(span: Span) -> bytes | None:
    del span
    return None


def _attribute_text(value: object) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _key_function(config: KafkaReporterConfig) -> Callable[[Span], bytes | None]:
    """Return the function that gives a span's record key, for the configured strategy.

    ``job-id``: the ``<job_id>`` attribute, else the trace id (32 lowercase hex digits);
    ``attribute:<name>``: that attribute's text, else the trace id; ``trace-id``; ``none``.
    """
    if config.key_strategy == "none":
        return _no_key
    if config.key_strategy == "trace-id":

        def trace_id_key(span: Span) -> bytes:
            return span.trace_id.hex().encode()

        return trace_id_key
    attribute = "<job_id>" if config.key_strategy == "job-id" else config.key_attribute
    assert attribute is not None

    def attribute_key(span: Span) -> bytes:
        value = span.attributes.get(attribute)
        if value is None:
            return span.trace_id.hex().encode()
        if value.__class__ is str:
            return value.encode()
        return _attribute_text(value).encode()

    return attribute_key


def _headers(config: KafkaReporterConfig) -> list[tuple[str, bytes]]:
    values = {
        "content-type": (HEADER_CONTENT_TYPE, CONTENT_TYPE.encode()),
        "schema-fingerprint": (HEADER_SCHEMA_FINGERPRINT, SCHEMA_FINGERPRINT.hex().encode()),
        "producer": (HEADER_PRODUCER, f"spanstream/{_library_version()}".encode()),
    }
    headers = [values[name] for name in config.headers]
    headers.extend((name, value.encode()) for name, value in config.additional_headers)
    return headers


def _frozen(counts: dict[str, int]) -> Mapping[str, int]:
    return MappingProxyType(dict(sorted(counts.items())))


# -- fork -------------------------------------------------------------------------------------

_LIVE_REPORTERS: Final[weakref.WeakSet[KafkaTraceReporter]] = weakref.WeakSet()


_AT_EXIT_REGISTERED: list[bool] = []


def _close_reporters_at_exit_once() -> None:
    # Registered at the first open rather than at import, so that an application's own exit
    # hooks registered before that open run after the reporters have closed (atexit is LIFO).
    if not _AT_EXIT_REGISTERED:
        _AT_EXIT_REGISTERED.append(True)
        atexit.register(_close_reporters_at_exit)


def _close_reporters_at_exit() -> None:
    for reporter in list(_LIVE_REPORTERS):
        try:
            pending = reporter.close()
        except Exception:  # noqa: BLE001 - one reporter failing must not stop the others
            _LOG.exception("Kafka trace reporter %r: error while closing at exit", reporter)
            continue
        if pending:
            _LOG.warning(
                "Kafka trace reporter %r: %d spans still pending at exit were dropped",
                reporter._name(),
                pending,
            )


def _close_reporters_in_child() -> None:
    for reporter in list(_LIVE_REPORTERS):
        reporter._after_fork_in_child()
    _LIVE_REPORTERS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_reporters_in_child)
