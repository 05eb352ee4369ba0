"""``spanstream tail``: follow a topic and print rebuilt spans, one line (or JSON) each."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from rich.console import Console

from spanstream.cli._exit import CliError, ExitCode
from spanstream.cli._kafka import RDKAFKA_LOG, BrokerAddress, check_reachable, ephemeral_group_id
from spanstream.cli._spans import SpanFilter, span_json, span_line
from spanstream.consumer import SpanConsumer, SpanRecord

__all__ = ["TailOptions", "run_tail"]


@dataclass(frozen=True, slots=True)
class TailOptions:
    """What ``spanstream tail`` was asked for.

    Attributes:
        topic: the topic to follow.
        start: ``"latest"`` (new spans only), ``"earliest"`` (``--from-beginning``), or epoch
            milliseconds (``--since``).
        span_filter: which spans to print.
        as_json: one JSON object per line instead of text.
        max_spans: stop after printing this many (``None``: never).
        timeout_s: stop after this many seconds (``None``: never).
    """

    topic: str
    start: Literal["earliest", "latest"] | int = "latest"
    span_filter: SpanFilter = field(default_factory=SpanFilter)
    as_json: bool = False
    max_spans: int | None = None
    timeout_s: float | None = None


def run_tail(options: TailOptions, address: BrokerAddress, console: Console) -> ExitCode:
    """Follow the topic until ``--max`` spans were printed, ``--timeout`` passed, or Ctrl-C.

    Returns:
        ``OK``; ``FAILURE`` when ``--max`` was given and the timeout came first.
    """
    if options.topic not in check_reachable(address):
        Console(stderr=True).print(
            f"note: topic {options.topic!r} does not exist on {address.bootstrap_servers} (yet); "
            "waiting for it",
            highlight=False,
            soft_wrap=True,
        )
    # A topic created after we subscribed is noticed within seconds, not librdkafka's 5 minutes.
    config: dict[str, Any] = {"logger": RDKAFKA_LOG, "topic.metadata.refresh.interval.ms": 3000}
    deadline = None if options.timeout_s is None else time.monotonic() + options.timeout_s
    printed = 0
    with SpanConsumer(
        options.topic,
        bootstrap_servers=address.bootstrap_servers,
        group_id=ephemeral_group_id("tail"),
        start=options.start,
        config=config,
    ) as consumer:
        while options.max_spans is None or printed < options.max_spans:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            batch = consumer.poll_batch(
                max_spans=1000, timeout_s=0.5 if remaining is None else min(0.5, remaining)
            )
            for record in batch:
                if not isinstance(record, SpanRecord):
                    continue  # an event on the same topic: tail shows spans
                span = record.span
                if not options.span_filter.matches(span):
                    continue
                if options.as_json:
                    text = span_json(
                        span,
                        topic=record.topic,
                        partition=record.partition,
                        offset=record.offset,
                        timestamp_ms=record.timestamp_ms,
                    )
                    console.out(text, highlight=False)
                else:
                    console.out(span_line(span), highlight=False)
                printed += 1
                if options.max_spans is not None and printed >= options.max_spans:
                    break
            batch.ack()
        stats = consumer.stats()
    if stats.bad_records:
        Console(stderr=True).print(
            f"note: {stats.bad_records} record(s) were not spans and were skipped",
            highlight=False,
        )
    if options.max_spans is not None and printed < options.max_spans:
        raise CliError(
            f"printed {printed} of --max {options.max_spans} spans before --timeout "
            f"{options.timeout_s:g} s"
        )
    return ExitCode.OK
