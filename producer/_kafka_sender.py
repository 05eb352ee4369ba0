"""The Kafka sender: a bounded hand-off queue, one sender thread, and its delivery accounting.

It knows nothing of spans or events: a reporter gives it the item's encoder, key function and
headers. ``KafkaTraceReporter`` and ``KafkaEventReporter`` are its two users.

How an item travels:

1. :meth:`KafkaSender.offer` (the application's thread) appends the item to a bounded
   in-process hand-off queue (a ``collections.deque``, whose ``append`` is atomic) and returns;
   it wakes the sender only when the sender sleeps. When the queue already holds
   ``queue.max.spans`` items, the overflow policy decides: ``drop-newest`` (the default) drops
   the new item, ``drop-oldest`` evicts the oldest item still in the queue; either way the drop
   is counted as ``queue-full``. Nothing on this path blocks, allocates more than the queue
   slot, or raises.
2. One sender thread takes items in batches, encodes each, picks the record key, enforces the
   record size the topic accepts (a larger item is dropped and counted ``too-large``, never a
   failed batch), and hands the record to librdkafka (``produce``), which batches, compresses
   and retries: ``_produce_loop``, where a C loop calls librdkafka with the interpreter lock
   released for the plain items, and the Python loop, the reference, handles every other.
3. librdkafka reports failed deliveries only (see ``_kafka_producer``). The sender, the only
   thread that serves those reports (``poll``), derives the delivered count
   (:meth:`SenderCounters.settle`): a lower bound that only grows, exact when nothing is in flight.

Memory bounds: the hand-off queue holds at most ``queue.max.spans`` items; the records in
librdkafka are bounded by ``queue.max.bytes`` and ``queue.max.spans`` records. When librdkafka's
queue is full the sender stops taking items and polls (backpressure): the hand-off queue fills,
and the overflow policy drops. Exit and fork: see ``_sender_exit``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Final, Generic, TypeVar

from confluent_kafka import Producer

from spanstream.kafka import LOG_INTERVAL_S, RateLimiter, safe_cause, scrub
from spanstream.producer._delivery_stats import KafkaReporterStats
from spanstream.producer._kafka_config import KafkaReporterConfig
from spanstream.producer._kafka_errors import topic_missing_error, topic_rejected_error
from spanstream.producer._kafka_producer import DeliveryReports, new_producer
from spanstream.producer._kafka_topic import TopicAdmin, TopicMissingError, TopicRejectedError
from spanstream.producer._produce_loop import RECORD_OVERHEAD_BYTES, ProduceLoop
from spanstream.producer._sender_counters import SenderCounters
from spanstream.producer._sender_exit import forget, remember
from spanstream.schemas import BrokerError, SpanstreamError

__all__ = ["RECORD_OVERHEAD_BYTES", "KafkaSender", "ReporterStateError", "SenderState"]

T = TypeVar("T")

# Items taken from the hand-off queue per round of the sender (between two ``poll(0)`` calls).
_BATCH_ITEMS: Final = 2048
_IDLE_WAIT_S: Final = 0.1
_IN_FLIGHT_POLL_S: Final = 0.005
_TOPIC_RETRY_S: Final = 1.0


class ReporterStateError(SpanstreamError, RuntimeError):
    """A reporter was asked to do what its state does not allow (e.g. to open a second time)."""


class SenderState(Enum):
    """The steps of a sender's life, in order; each moves forward only."""

    NEW = "new"
    """Created, not opened: every item offered is dropped ``closed``."""
    OPENING = "opening"
    """``open`` is validating the settings, creating the producer and checking the topic; items
    offered meanwhile are still dropped ``closed`` (the queue admits none yet)."""
    OPEN = "open"
    """The queue admits items and the sender thread publishes them."""
    CLOSING = "closing"
    """``close`` is delivering what is queued within its deadline; new items are dropped."""
    CLOSED = "closed"
    """Done (or ``open`` failed): the thread has stopped or is purging; items are dropped."""


class KafkaSender(Generic[T]):
    """Publishes items of one kind to one Kafka topic from a bounded queue, on its own thread.

    Args:
        label: names the user in log lines, e.g. ``"Kafka trace reporter"``.
        noun: what an item is called in log lines, e.g. ``"span"``.
        log: the logger of those lines (librdkafka's go to its ``.librdkafka`` child).

    The user calls :meth:`open` with the validated settings, the encoder and key function, then
    :meth:`offer` per item; :meth:`snapshot`, :meth:`flush` and :meth:`close` are the user's own
    public methods, unchanged.
    """

    def __init__(self, *, label: str, noun: str, log: logging.Logger) -> None:
        # The hot path reads only queue, max_queued and idle: a closed or unopened sender has
        # max_queued == 0, so every item goes to overflow(), which counts it.
        self.queue: deque[T] = deque()
        self.max_queued = 0
        self.idle = False
        self.wake = threading.Event()
        self.counters = SenderCounters()
        self._label = label
        self._noun = noun
        self._log = log
        self._lock = threading.Lock()
        self._state = SenderState.NEW
        self._stopping = False
        self._close_pending = 0
        self._drop_log = RateLimiter(LOG_INTERVAL_S)
        self.config: KafkaReporterConfig | None = None
        self.producer: Producer | None = None
        self.producer_conf: dict[str, object] = {}
        self._topic: TopicAdmin | None = None
        self._topic_ready = False
        self.thread: threading.Thread | None = None
        self._loop: ProduceLoop[T] = ProduceLoop(self.counters, self._drop, self._is_stopping)
        self._reports: DeliveryReports | None = None

    @property
    def state(self) -> SenderState:
        """The step of its life the sender is at."""
        return self._state

    @property
    def fast_produced(self) -> int:
        """Records the C produce loop handed to librdkafka (0 when the Python loop runs)."""
        return self._loop.fast_produced

    # -- the application's side ---------------------------------------------------------------

    def offer(self, item: T) -> None:
        """Hand the item to the sender thread and return at once. Never blocks, never raises."""
        queue = self.queue
        if len(queue) < self.max_queued:
            queue.append(item)
            if self.idle:
                self.wake.set()
            return
        self.overflow(item)

    def overflow(self, item: T) -> None:
        """The queue is full, or the sender is not open: apply the overflow policy and count."""
        try:
            counters = self.counters
            with self._lock:
                config = self.config
                reason = "queue-full"
                if self._state is not SenderState.OPEN or config is None:
                    reason = "closed"
                    counters.rejected[reason] += 1
                elif config.overflow_policy == "drop-oldest":
                    try:
                        self.queue.popleft()
                    except IndexError:
                        counters.rejected[reason] += 1
                    else:
                        counters.evicted += 1
                        self.queue.append(item)
                else:
                    counters.rejected[reason] += 1
            self._log_drop(reason)
        except Exception:  # noqa: BLE001, S110 - telemetry never raises into the application
            pass

    # -- lifecycle ------------------------------------------------------------------------------

    @contextmanager
    def opening(self) -> Iterator[None]:
        """Around a user's ``open``: ``NEW`` to ``OPENING``; on any failure, ``CLOSED``.

        A failure that is not a :class:`SpanstreamError` becomes a ``BrokerError`` (its
        message without credentials), so ``open`` raises the package's errors only.

        Raises:
            ReporterStateError: the sender was opened before.
        """
        with self._lock:
            if self._state is not SenderState.NEW:
                raise ReporterStateError(
                    f"a {self._label} opens once; this one is {self._state.value}"
                )
            self._state = SenderState.OPENING
        try:
            yield
        except SpanstreamError:
            self._fail_open()
            raise
        except Exception as exc:  # noqa: BLE001 - any other failure becomes a BrokerError
            text = scrub(f"{type(exc).__name__}: {exc}", self.producer_conf)
            self._fail_open()
            raise BrokerError(f"{self._label} could not open: {text}") from safe_cause(
                exc, self.producer_conf
            )
        except BaseException:
            self._fail_open()
            raise

    def _fail_open(self) -> None:
        with self._lock:
            self._state = SenderState.CLOSED
        self.producer = None
        self._topic = None

    def open(
        self,
        config: KafkaReporterConfig,
        *,
        encode: Callable[[T], bytes],
        key_of: Callable[[T], bytes | None],
        headers: list[tuple[str, bytes]],
        too_large: Callable[[T], bool] | None = None,
    ) -> None:
        """Create the producer, check the topic, start the thread (inside :meth:`opening`).

        Args:
            config: the validated settings.
            encode: an item's record value; any exception drops the item ``encode-error``.
            key_of: an item's record key (``None`` for none).
            headers: the headers of every record.
            too_large: whether an item breaks a limit of the user's own (dropped ``too-large``).

        Raises:
            ConfigError: librdkafka refused a property, or the broker answered that the topic is
                missing while ``topic.create`` is off, or refused to create it as configured.
            BrokerError: the Kafka client failed in another way.
        """
        self.config = config
        self._loop.configure(
            topic=config.topic,
            encode=encode,
            key_of=key_of,
            headers=headers,
            too_large=too_large,
            max_record_bytes=config.record_max_bytes,
        )
        self.producer = self._new_producer(config, batch_max_bytes=None)
        self._topic = TopicAdmin(config, self.producer_conf, self._log, self._label)
        if config.open_timeout_s > 0:
            try:
                self._prepare_topic(time.monotonic() + config.open_timeout_s)
            except TopicMissingError as exc:
                raise topic_missing_error(config) from exc
            except TopicRejectedError as exc:
                raise topic_rejected_error(config, str(exc)) from exc
        self.thread = threading.Thread(
            target=self._run, name=f"spanstream-kafka-{config.name}", daemon=True
        )
        with self._lock:
            self._state = SenderState.OPEN
            self.max_queued = config.queue_max_spans
        self.thread.start()
        remember(self)

    def flush(self, timeout_s: float | None = None) -> int:
        """Wait until every accepted item has an outcome or ``timeout_s`` passed; return pending."""
        config = self.config
        if timeout_s is None:
            timeout_s = config.flush_timeout_s if config is not None else 0.0
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            pending = self.counters.pending(len(self.queue))
            thread = self.thread
            if pending <= 0 or thread is None or not thread.is_alive():
                return max(0, pending)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return pending
            self.wake.set()
            time.sleep(min(0.005, remaining))

    def close(self, timeout_s: float | None = None) -> int:
        """Stop accepting items, deliver the queue within ``timeout_s``, stop; return pending."""
        with self._lock:
            if self._state in {SenderState.CLOSING, SenderState.CLOSED}:
                return self._close_pending
            was_open = self._state is SenderState.OPEN
            self._state = SenderState.CLOSING
            self.max_queued = 0
        config = self.config
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
                self.wake.set()
                thread = self.thread
                if thread is not None:
                    thread.join(max(0.0, deadline - time.monotonic()))
        finally:
            with self._lock:
                self._state = SenderState.CLOSED
                self._close_pending = pending
            forget(self)
        # Whatever is still in the queue is dropped now, even if the sender has not stopped yet
        # (it may be waiting on an unreachable broker): the deadline holds either way.
        self._settle_residual()
        return pending

    def snapshot(self) -> KafkaReporterStats:
        """Return the counters now (see :class:`KafkaReporterStats` for their invariant)."""
        self._settle_residual()
        return self.counters.snapshot(self._lock, self.queue)  # type: ignore[arg-type]

    def _settle_residual(self) -> None:
        """Count items still in the queue of a closed sender as dropped ``closed``."""
        if self._state is not SenderState.CLOSED or not self.queue:
            return
        with self._lock:
            count = 0
            while True:
                try:
                    self.queue.popleft()
                except IndexError:
                    break
                count += 1
            self.counters.discarded += count

    def _new_producer(
        self, config: KafkaReporterConfig, *, batch_max_bytes: int | None
    ) -> Producer:
        reports = DeliveryReports(
            self.counters, self._drop_log, self._log, self._label, self._noun, config.name
        )
        self._reports = reports
        producer, self.producer_conf = new_producer(
            config, reports, self._log, batch_max_bytes=batch_max_bytes
        )
        return producer

    # -- the topic ------------------------------------------------------------------------------

    def _prepare_topic(self, deadline: float) -> bool:
        """Make sure the topic is ready and cap the record size at its limit; False on timeout.

        Raises:
            TopicMissingError: the topic does not exist and may not be created.
            TopicRejectedError: the broker refused to create it.
        """
        config, topic, producer = self.config, self._topic, self.producer
        assert config is not None
        assert topic is not None
        assert producer is not None
        topic_max_bytes = topic.prepare(producer, deadline, lambda: self._stopping)
        if topic_max_bytes is None:
            return False
        if topic_max_bytes:
            self._loop.max_record_bytes = min(config.record_max_bytes, topic_max_bytes)
            batch_bytes = int(str(self.producer_conf.get("batch.size", 1_000_000)))
            if topic_max_bytes < batch_bytes + RECORD_OVERHEAD_BYTES:
                # librdkafka does not split a batch the broker refuses as too large: keep its
                # batches within the topic's limit. Nothing was produced yet, so a new producer
                # replaces the old one without losing anything.
                self.producer = self._new_producer(
                    config, batch_max_bytes=max(1024, topic_max_bytes - RECORD_OVERHEAD_BYTES)
                )
        self._topic_ready = True
        return True

    def _wait_for_topic(self) -> None:
        config = self.config
        assert config is not None
        while not self._topic_ready and not self._stopping:
            try:
                if self._prepare_topic(time.monotonic() + 1.0):
                    return
                reason = f"cannot reach the broker(s) at {config.bootstrap_servers}"
            except TopicMissingError:
                reason = f"topic {config.topic!r} does not exist and topic.create is off"
            except TopicRejectedError as exc:
                reason = f"the broker refused to create topic {config.topic!r}: {exc}"
            # Serve librdkafka's error and log callbacks meanwhile: an authentication or TLS
            # failure is counted in client_errors and logged, not hidden behind this reason.
            producer = self.producer
            if producer is not None:
                producer.poll(0)
            suppressed = self._drop_log.allow("topic")
            if suppressed is not None:
                self._log.warning(
                    "%s %r: %s; %ss wait in the queue (%d queued)",
                    self._label,
                    self._name(),
                    reason,
                    self._noun,
                    len(self.queue),
                )
            self.wake.wait(_TOPIC_RETRY_S)
            self.wake.clear()

    # -- the sender thread ----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._wait_for_topic()
            while not self._stopping:
                try:
                    self._send_until_stopped()
                except Exception:  # noqa: BLE001 - a bug must not end publishing
                    self._log.exception("%s %r: sender error", self._label, self._name())
                    time.sleep(0.1)
        finally:
            self._finish()

    def _send_until_stopped(self) -> None:
        queue = self.queue
        wake = self.wake
        counters = self.counters
        producer = self.producer
        reports = self._reports
        assert producer is not None
        assert reports is not None
        client_id = str(self.producer_conf.get("client.id", ""))
        self._loop.start(producer, client_id=client_id, on_delivery=reports.on_delivery)
        send = self._loop.send
        poll = producer.poll
        while not self._stopping:
            count = len(queue)
            if count:
                count = min(count, _BATCH_ITEMS)
                # Counted before the items leave the queue, so a snapshot never misses them.
                counters.taken += count
                batch: list[T] = []
                take = batch.append
                popleft = queue.popleft
                try:
                    for _ in range(count):
                        take(popleft())
                except IndexError:  # close() discarded the rest meanwhile
                    counters.taken -= count - len(batch)
                send(batch, producer)
                poll(0)
                counters.settle(len(producer))
            elif counters.in_flight():
                poll(_IN_FLIGHT_POLL_S)
                counters.settle(len(producer))
            else:
                wake.clear()
                self.idle = True
                if not queue and not self._stopping:
                    wake.wait(_IDLE_WAIT_S)
                self.idle = False
                poll(0)
                counters.settle(len(producer))

    def _drop(self, reason: str) -> None:
        # The sender's drops (rare): counted, and logged at a limited rate.
        self.counters.dropped[reason] += 1
        self._log_drop(reason)

    def _finish(self) -> None:
        """The sender's last act: drop what is left as ``closed``, purge librdkafka, let go."""
        producer = self.producer
        counters = self.counters
        if producer is not None:
            try:
                producer.poll(0)
                if len(producer):
                    producer.purge(in_queue=True, in_flight=True, blocking=False)
                    give_up = time.monotonic() + 1.0
                    while len(producer) and time.monotonic() < give_up:
                        producer.poll(0.01)
                producer.poll(0)
                counters.settle(len(producer))
            except Exception:  # noqa: BLE001 - closing must finish
                self._log.exception("%s %r: error while closing", self._label, self._name())
        queue = self.queue
        while queue:
            counters.taken += 1
            try:
                queue.popleft()
            except IndexError:  # close() discarded it meanwhile
                counters.taken -= 1
                break
            counters.dropped["closed"] += 1
        self._loop.let_go()
        self.producer = None
        if self._topic is not None:
            self._topic.close()

    # -- helpers --------------------------------------------------------------------------------

    def _is_stopping(self) -> bool:
        return self._stopping

    def _name(self) -> str:
        return self.config.name if self.config is not None else "?"

    def _log_drop(self, reason: str) -> None:
        suppressed = self._drop_log.allow("drop:" + reason)
        if suppressed is not None:
            self._log.warning(
                "%s %r dropped a %s (%s); %d more such drops not logged since the last message",
                self._label,
                self._name(),
                self._noun,
                reason,
                suppressed,
            )

    def log_exit(self, pending: int | None) -> None:
        """Log the outcome of the exit hook's close (``None``: it raised)."""
        if pending is None:
            self._log.exception("%s %r: error while closing at exit", self._label, self._name())
        elif pending:
            self._log.warning(
                "%s %r: %d %ss still pending at exit were dropped",
                self._label,
                self._name(),
                pending,
                self._noun,
            )

    def after_fork_in_child(self) -> None:
        """Become closed without sending: librdkafka's threads do not exist in a forked child."""
        self.max_queued = 0
        self._state = SenderState.CLOSED
        self._lock = threading.Lock()
        self.queue = deque()
        self.thread = None
        self._loop.let_go()
        self.producer = None
        self._topic = None
