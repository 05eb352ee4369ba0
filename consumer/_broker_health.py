"""Whether the brokers answer: the consumer's client errors, counted, logged sparingly, watched.

An unreachable broker must not look like a topic with nothing new. librdkafka reports it only
through its error callback (``_TRANSPORT``, ``_ALL_BROKERS_DOWN``...) while ``consume()`` keeps
returning nothing. :class:`ErrorLog` counts those errors, logs each kind at most once per
``LOG_INTERVAL_S`` (60 s) with the count held back, and remembers since when every broker has
been down; :class:`BrokerWatch` turns a silence longer than ``broker_timeout_s`` into a
:class:`~spanstream.schemas.BrokerError`, after one last metadata request to be sure.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Final, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from spanstream.consumer._stats import ConsumerCounters
from spanstream.kafka import LOG_INTERVAL_S, RateLimiter, scrub
from spanstream.schemas import BrokerError

__all__ = [
    "CLOSE_WAIT_S",
    "BrokerWatch",
    "ErrorLog",
    "close_client",
    "metadata_probe",
    "partitions_at_end",
    "run_bounded",
]

_LOG: Final = logging.getLogger("spanstream.consumer")
CLOSE_WAIT_S: Final = 30.0
"""How long ``close()`` waits for librdkafka to leave the group before it gives up waiting."""
_PROBE_TIMEOUT_S: Final = 5.0
_T = TypeVar("_T")
# The errors that say no broker can be reached (rather than one request failing).
_UNREACHABLE: Final = frozenset(
    {
        KafkaError._ALL_BROKERS_DOWN,
        KafkaError._TRANSPORT,
        KafkaError._RESOLVE,
        KafkaError._AUTHENTICATION,
        KafkaError._SSL,
    }
)


class ErrorLog:
    """Counts librdkafka's client errors and logs each kind at most once a minute.

    It is the client's ``error_cb``: a broker that is down reports a transport error every few
    milliseconds; the application's log says so once a minute, with the count of repeats.
    """

    __slots__ = ("_config", "_counters", "_limiter", "_user_callback", "down_since")

    def __init__(
        self,
        counters: ConsumerCounters,
        user_callback: object,
        *,
        config: Mapping[str, object] | None = None,
    ) -> None:
        self._counters = counters
        self._user_callback = user_callback
        self._config: Mapping[str, object] = dict(config or {})
        self._limiter = RateLimiter(LOG_INTERVAL_S)
        self.down_since: float | None = None
        """When the first "unreachable" error came since the brokers last answered (monotonic)."""

    def __call__(self, error: KafkaError) -> None:
        self.record(error)
        if callable(self._user_callback):
            self._user_callback(error)

    def record(self, error: KafkaError) -> None:
        """Count ``error``, note an unreachable cluster, log it unless its kind was just logged."""
        self._counters.kafka_errors += 1
        code = error.code()
        if code in _UNREACHABLE and self.down_since is None:
            self.down_since = time.monotonic()
        held_back = self._limiter.allow(str(code))
        if held_back is not None:
            text = scrub(str(error), self._config)
            if held_back:
                _LOG.warning(
                    "Kafka client error (repeats are logged once a minute; %d since the last "
                    "line): %s",
                    held_back,
                    text,
                )
            else:
                _LOG.warning("Kafka client error (repeats are logged once a minute): %s", text)

    def answered(self) -> None:
        """A broker answered (records or a rebalance arrived): the brokers are up."""
        self.down_since = None


class BrokerWatch:
    """Raises BrokerError once no broker has answered for ``timeout_s`` (None: never)."""

    __slots__ = ("_bootstrap_servers", "_errors", "_probe", "_timeout_s")

    def __init__(
        self,
        errors: ErrorLog,
        *,
        timeout_s: float | None,
        bootstrap_servers: str,
        probe: Callable[[], object],
    ) -> None:
        self._errors = errors
        self._timeout_s = timeout_s
        self._bootstrap_servers = bootstrap_servers
        self._probe = probe

    def check(self) -> None:
        """Raise BrokerError when the brokers have been unreachable for longer than the timeout.

        A metadata request confirms it first, so that a broker back in a quiet moment (no
        records to bring the news) is not taken for a dead one.
        """
        since = self._errors.down_since
        if since is None or self._timeout_s is None:
            return
        silent_s = time.monotonic() - since
        if silent_s < self._timeout_s:
            return
        try:
            self._probe()
        except (KafkaException, RuntimeError) as exc:
            raise BrokerError(
                f"no Kafka broker at {self._bootstrap_servers} has answered for "
                f"{silent_s:.0f} s (broker_timeout_s={self._timeout_s:g}): {exc}"
            ) from exc
        self._errors.answered()


def metadata_probe(consumer: Consumer) -> Callable[[], object]:
    """A probe that asks the cluster for its metadata (raises KafkaException if none answers)."""
    return lambda: consumer.list_topics(timeout=_PROBE_TIMEOUT_S)


def partitions_at_end(consumer: Consumer, keys: list[tuple[str, int]], timeout_s: float) -> bool:
    """Whether the consumer's position in each partition has reached its end offset.

    The end is the high watermark the last fetch saw, or, for a partition not fetched yet, what
    the broker answers within ``timeout_s``. A partition never read (no position) is at its end
    only when it is empty. No answer counts as not at the end.
    """
    try:
        positions = consumer.position([TopicPartition(topic, p) for topic, p in keys])
        for tp in positions:
            low, high = consumer.get_watermark_offsets(tp, cached=True)
            if high < 0:  # not fetched yet: ask the broker
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(tp.topic, tp.partition), timeout=timeout_s
                )
            if high < 0 or (high > low and not 0 <= high <= tp.offset):
                return False
    except KafkaException:
        return False
    return True


def run_bounded(call: Callable[[], _T], *, wait_s: float, name: str) -> _T:
    """Return ``call()``, run on a daemon thread and waited for at most ``wait_s``.

    librdkafka's synchronous commit and its close (which leaves the group) can both wait for
    ever when no broker answers, with the interpreter lock released, so no timeout or signal
    can interrupt them. On a daemon thread they are waited for a bounded time; one that does
    not return in time is left to finish later, or to the process exit.

    Raises:
        TimeoutError: ``call`` did not return within ``wait_s``.
        Exception: whatever ``call`` raised.
    """
    outcome: list[_T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread, raised there
            failure.append(exc)

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    thread.join(wait_s)
    if thread.is_alive():
        raise TimeoutError(f"{name} did not return within {wait_s:g} s")
    if failure:
        raise failure[0]
    return outcome[0]


def close_client(
    client: Consumer, close: Callable[[], None] | None = None, *, wait_s: float = CLOSE_WAIT_S
) -> bool:
    """Close a librdkafka consumer, waiting at most ``wait_s``; whether it closed in time.

    ``close`` (default: ``client.close``) may commit first. It runs bounded (see
    :func:`run_bounded`): when it does not return in time, a WARNING says so and the caller goes
    on; the client's resources are then left to the process (a close never hangs the host). An
    error while closing is logged, never raised.
    """
    try:
        run_bounded(
            client.close if close is None else close,
            wait_s=wait_s,
            name="spanstream-consumer-close",
        )
    except TimeoutError:
        _LOG.warning(
            "the Kafka consumer did not close within %.0f s (no broker answers?); left to exit",
            wait_s,
        )
        return False
    except Exception:  # noqa: BLE001 - a close never raises into the host; logged instead
        _LOG.exception("closing the Kafka consumer failed")
    return True
