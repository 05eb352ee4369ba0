"""``spanstream forward``: a span topic on to an OTLP endpoint (Jaeger, Tempo, a Collector)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any, Literal

from rich.console import Console

from spanstream.cli._exit import ExitCode, UsageError
from spanstream.cli._kafka import RDKAFKA_LOG, BrokerAddress, check_reachable
from spanstream.consumer import DEFAULT_FORWARD_GROUP, BadRecordPolicy, ForwardStats, forward_spans
from spanstream.schemas import ConfigError, ExtraMissingError

__all__ = ["ForwardOptions", "run_forward"]

_Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


@dataclass(frozen=True, slots=True)
class ForwardOptions:
    """What ``spanstream forward`` was asked for.

    Attributes:
        topic: the span topic.
        endpoint: the OTLP endpoint URL.
        protocol: ``grpc`` or ``http``.
        start: where a partition starts when the group has no committed offset: ``earliest``,
            or epoch milliseconds (``--since``).
        group_id: the consumer group (its committed offsets are where a restart resumes).
        service_name: the ``service.name`` of every exported span.
        bad_records: the policy for records that are not spans.
        dead_letter_topic: where ``dead-letter`` writes them.
        idle_exit_s: exit once no record arrived for this long (``None``: run until stopped).
        retry_timeout_s: how long a failing export is retried before the command fails.
        timeout_s: the longest one export request may take.
        compression: ``none`` or ``gzip``.
    """

    topic: str
    endpoint: str
    protocol: Literal["grpc", "http"] = "grpc"
    start: Literal["earliest", "latest"] | int = "earliest"
    group_id: str = DEFAULT_FORWARD_GROUP
    service_name: str = "spanstream"
    bad_records: BadRecordPolicy = BadRecordPolicy.SKIP
    dead_letter_topic: str | None = None
    idle_exit_s: float | None = None
    retry_timeout_s: float = 300.0
    timeout_s: float = 10.0
    compression: Literal["none", "gzip"] = "none"


def run_forward(options: ForwardOptions, address: BrokerAddress, console: Console) -> ExitCode:
    """Forward until Ctrl-C, SIGTERM or ``--idle-exit``; print the totals.

    Raises:
        ForwardError: the endpoint kept refusing a batch for ``--retry-timeout``.
    """
    try:
        from spanstream.otel import OtlpSettings
    except ImportError as exc:
        raise ExtraMissingError("spanstream forward", "otel") from exc
    try:
        settings = OtlpSettings(
            options.endpoint,
            protocol=options.protocol,
            timeout_s=options.timeout_s,
            compression=options.compression,
        )
    except ConfigError as exc:
        raise UsageError(f"--otlp-endpoint: {exc.value!r}; expected {exc.expected}") from exc
    if options.topic not in check_reachable(address):
        Console(stderr=True).print(
            f"note: topic {options.topic!r} does not exist on {address.bootstrap_servers} (yet); "
            "waiting for it",
            highlight=False,
            soft_wrap=True,
        )
    stop = threading.Event()
    previous = _stop_on_sigterm(stop)
    config: dict[str, Any] = {"logger": RDKAFKA_LOG, "topic.metadata.refresh.interval.ms": 3000}
    status = Console(stderr=True)
    status.print(
        f"forwarding {options.topic} -> {options.endpoint} ({options.protocol}) as group "
        f"{options.group_id!r}",
        highlight=False,
        soft_wrap=True,
    )
    try:
        totals = forward_spans(
            options.topic,
            bootstrap_servers=address.bootstrap_servers,
            otlp=settings,
            group_id=options.group_id,
            start=options.start,
            service_name=options.service_name,
            bad_records=options.bad_records,
            dead_letter_topic=options.dead_letter_topic,
            consumer_config=config,
            retry_timeout_s=options.retry_timeout_s,
            idle_timeout_s=options.idle_exit_s,
            stop=stop,
        )
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    _print_totals(console, options, totals)
    return ExitCode.OK


def _print_totals(console: Console, options: ForwardOptions, totals: ForwardStats) -> None:
    console.print(
        f"forwarded {totals.records:,} records ({totals.spans:,} spans with their children, "
        f"{totals.events:,} events) from {options.topic} to {options.endpoint} in "
        f"{totals.batches:,} batches; {totals.failed_exports:,} failed exports retried; "
        f"{totals.rejected:,} rejected by the endpoint; {totals.bad_records:,} bad records",
        highlight=False,
        soft_wrap=True,
    )


def _stop_on_sigterm(stop: threading.Event) -> _Handler:
    """Let SIGTERM finish the batch in hand and exit cleanly (only on the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    return signal.signal(signal.SIGTERM, handler)
