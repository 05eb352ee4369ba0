"""Forwarding span topics to an OTLP endpoint (Jaeger, Tempo, an OpenTelemetry Collector...).

:func:`forward_spans` reads topics as a member of a consumer group and exports each batch over
OTLP, at-least-once: a batch's offsets are acknowledged and committed only after the endpoint
accepted the whole batch. A failed export is retried, with a growing pause, for up to
``retry_timeout_s``; after that :class:`ForwardError` is raised and nothing past the last
exported batch is committed, so a restarted forwarder resends from there (a span may then reach
the backend twice; backends keep one copy of a span id per trace, or show both).

Mapping: each span tree is exported with its own ids and parent links; its scope is the
instrumentation scope; the root's ``<host>``, ``<job_name>``, ``<job_id>`` and ``<tm_id>``
become resource attributes (``host``, ``job_name``, ...) beside ``service.name``; every other
attribute becomes a span attribute with ``<>`` stripped from its key. Event records on the
same topics (a topic may carry both) become OTLP log records under the same resource rule, with
the event's observed time as their timestamp; a batch is committed once its spans and its
events were both accepted.

This module reads; it never imports ``spanstream.producer``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

from spanstream.consumer._bad_records import BadRecordPolicy
from spanstream.consumer._client_config import ConfigValue
from spanstream.consumer._consumer import SpanConsumer
from spanstream.consumer._positions import StartPosition
from spanstream.schemas import ExtraMissingError, SpanstreamError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from spanstream.otel import OtlpSettings

__all__ = ["DEFAULT_FORWARD_GROUP", "ForwardError", "ForwardStats", "forward_spans"]

DEFAULT_FORWARD_GROUP: Final = "spanstream-forward"
"""The consumer group :func:`forward_spans` joins unless told otherwise."""

_LOG: Final = logging.getLogger("spanstream.consumer.forward")
_FIRST_PAUSE_S: Final = 0.5
_MAX_PAUSE_S: Final = 10.0


class ForwardError(SpanstreamError, RuntimeError):
    """The OTLP endpoint refused a batch for longer than the retry allowed.

    Nothing past the last exported batch was committed: a forwarder started again resends it.
    """


@dataclass(frozen=True, slots=True)
class ForwardStats:
    """What a forwarder did.

    Attributes:
        records: records (span trees and events) exported and committed.
        spans: OpenTelemetry spans exported (every node of every tree).
        events: events exported as OpenTelemetry log records.
        batches: export requests that succeeded.
        failed_exports: export attempts that failed and were retried.
        rejected: spans and log records the endpoint accepted the request of but rejected as
            malformed (OTLP's partial success); committed past, as retrying cannot help.
        bad_records: records that were not spans (handled by the bad-record policy).
    """

    records: int = 0
    spans: int = 0
    events: int = 0
    batches: int = 0
    failed_exports: int = 0
    rejected: int = 0
    bad_records: int = 0


def _otel() -> ModuleType:
    try:
        import spanstream.otel as otel_module
    except ImportError as exc:
        raise ExtraMissingError("forwarding to OTLP", "otel") from exc
    return otel_module


def forward_spans(
    topics: str | Sequence[str],
    *,
    bootstrap_servers: str,
    otlp: OtlpSettings | str,
    group_id: str = DEFAULT_FORWARD_GROUP,
    start: StartPosition = "earliest",
    service_name: str = "spanstream",
    bad_records: BadRecordPolicy | str = BadRecordPolicy.SKIP,
    dead_letter_topic: str | None = None,
    consumer_config: Mapping[str, ConfigValue] | None = None,
    max_batch_records: int = 2000,
    retry_timeout_s: float = 300.0,
    idle_timeout_s: float | None = None,
    stop: threading.Event | None = None,
    on_batch: Callable[[ForwardStats], None] | None = None,
) -> ForwardStats:
    """Forward span topics to an OTLP endpoint until stopped; return what was forwarded.

    Args:
        topics: span topics (names, or ``^`` patterns).
        bootstrap_servers: the Kafka cluster.
        otlp: the endpoint: :class:`~spanstream.otel.OtlpSettings`, or a URL for OTLP/gRPC
            with the default timeout.
        group_id: the consumer group; its committed offsets are where a restart resumes.
        start: where a partition starts when the group has no committed offset for it.
        service_name: the ``service.name`` resource attribute of every span.
        bad_records: the consumer's policy for records that are not spans.
        dead_letter_topic: where the ``dead-letter`` policy writes them.
        consumer_config: further librdkafka consumer properties.
        max_batch_records: the most span records in one export request.
        retry_timeout_s: how long a failing export is retried before :class:`ForwardError`.
        idle_timeout_s: return once no record arrived for this long (``None``: never).
        stop: return (after the batch in hand is exported) once this event is set.
        on_batch: called with the running totals after each committed batch.

    Raises:
        ForwardError: an export kept failing for ``retry_timeout_s``.
        ConfigError: a bad setting.
        ExtraMissingError: ``spanstream[otel]`` is not installed.
        DecodeError: a bad record, with the ``raise`` policy.
    """
    otel = _otel()
    settings = otlp if not isinstance(otlp, str) else otel.OtlpSettings(otlp)
    client = otel.OtlpClient(settings)
    base = {"service.name": service_name}
    span_encoder = otel.TraceRequestEncoder(base, otel.FLINK_RESOURCE_VARIABLES)
    event_encoder = otel.LogRequestEncoder(base, otel.FLINK_RESOURCE_VARIABLES)
    stopped = stop if stop is not None else threading.Event()
    totals = ForwardStats()
    last_record_s = time.monotonic()
    try:
        with SpanConsumer(
            topics,
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            start=start,
            bad_records=bad_records,
            dead_letter_topic=dead_letter_topic,
            config=consumer_config,
        ) as consumer:
            while not stopped.is_set():
                batch = consumer.poll_batch(max_spans=max_batch_records, timeout_s=0.5)
                if not batch:
                    if (
                        idle_timeout_s is not None
                        and time.monotonic() - last_record_s >= idle_timeout_s
                    ):
                        break
                    continue
                last_record_s = time.monotonic()
                span_count, failures, rejected = _export(
                    batch.spans, span_encoder.encode, client.export_traces, "spans", retry_timeout_s
                )
                event_count, log_failures, log_rejected = _export(
                    batch.events,
                    event_encoder.encode,
                    client.export_logs,
                    "events",
                    retry_timeout_s,
                )
                failures += log_failures
                rejected += log_rejected
                batch.ack()
                consumer.commit()
                totals = ForwardStats(
                    records=totals.records + len(batch),
                    spans=totals.spans + span_count,
                    events=totals.events + event_count,
                    batches=totals.batches + 1,
                    failed_exports=totals.failed_exports + failures,
                    rejected=totals.rejected + rejected,
                    bad_records=consumer.stats().bad_records,
                )
                if on_batch is not None:
                    on_batch(totals)
            bad = consumer.stats().bad_records
    finally:
        client.close()
    return dataclasses.replace(totals, bad_records=bad)


def _export(
    items: Sequence[Any],
    encode: Callable[[Sequence[Any]], tuple[Any, int]],
    send: Callable[[Any], int],
    noun: str,
    retry_timeout_s: float,
) -> tuple[int, int, int]:
    """Encode ``items`` into one request and export it, retried; return three counts.

    The counts: the items exported (as encoded: every span of a tree), the failed attempts and
    the items the endpoint rejected.

    Raises:
        ForwardError: as :func:`_export_with_retry`.
    """
    if not items:
        return 0, 0, 0
    request, count = encode(items)
    failures, rejected = _export_with_retry(
        partial(send, request), f"{count} {noun}", retry_timeout_s=retry_timeout_s
    )
    return count, failures, rejected


def _export_with_retry(
    export: Callable[[], int], what: str, *, retry_timeout_s: float
) -> tuple[int, int]:
    """Export until the endpoint accepts; return the failed attempts and the rejected items.

    Raises:
        ForwardError: no attempt succeeded within ``retry_timeout_s``.
    """
    deadline = time.monotonic() + retry_timeout_s
    failures = 0
    pause_s = _FIRST_PAUSE_S
    while True:
        try:
            rejected = export()
        except SpanstreamError as exc:
            error = str(exc)
        else:
            if rejected:
                _LOG.warning("the OTLP endpoint rejected %d of %s as malformed", rejected, what)
            return failures, rejected
        failures += 1
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ForwardError(
                f"exporting {what} over OTLP failed for {retry_timeout_s:g} s "
                f"({failures} attempts; last: {error}); nothing past the last exported batch "
                "was committed"
            )
        _LOG.warning(
            "OTLP export of %s failed (attempt %d: %s); retrying in %.1f s",
            what,
            failures,
            error,
            min(pause_s, remaining),
        )
        time.sleep(min(pause_s, remaining))
        pause_s = min(pause_s * 2, _MAX_PAUSE_S)
