"""``spanstream tail``: follow a topic and print rebuilt spans and events, one line (or JSON) each.

The topic is read by assignment (every partition, no consumer group, nothing committed), as
kcat reads: a ``tail`` leaves nothing behind on the cluster and needs no group permissions.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from rich.console import Console

from spanstream.cli._event_lines import event_line, event_line_long, event_record_json
from spanstream.cli._exit import CliError, ExitCode, UsageError
from spanstream.cli._kafka import RDKAFKA_LOG, BrokerAddress, check_reachable
from spanstream.cli._spans import (
    SpanFilter,
    record_json,
    render_template,
    span_line,
    span_line_long,
)
from spanstream.consumer import EventRecord, SpanReader, SpanRecord

__all__ = [
    "IDLE_HINT_S",
    "KINDS",
    "RecordKind",
    "TailFormat",
    "TailOptions",
    "check_kind",
    "run_tail",
]

RecordKind = Literal["span", "event", "all"]
"""Which records a command takes (``--kind``): spans, events, or both."""

KINDS: Final[tuple[RecordKind, ...]] = ("span", "event", "all")
"""The values ``--kind`` accepts."""


def check_kind(kind: str) -> RecordKind:
    """Check a ``--kind`` value; returns it.

    Raises:
        UsageError: it is not one of span, event, all.
    """
    for accepted in KINDS:
        if kind == accepted:
            return accepted
    raise UsageError(f"--kind: {kind!r} is not one of span, event, all")


IDLE_HINT_S: Final = 2.0
"""After this long with nothing printed, ``tail`` says on stderr that it is waiting."""


class TailFormat(enum.Enum):
    """How ``tail`` prints a span or event."""

    LINE = "line"
    """The compact line: time, job, name, duration, key attributes."""
    LONG = "long"
    """Every attribute (``--long``)."""
    JSON = "json"
    """One JSON object per line (``--json``)."""
    TEMPLATE = "template"
    """A ``--format`` template."""

    @classmethod
    def choose(cls, *, long: bool, as_json: bool, template: str | None) -> TailFormat:
        """The format ``--long``, ``--json`` or ``--format`` asks for (the line by default).

        Raises:
            UsageError: more than one of them was given.
        """
        chosen = [flag for flag, on in (("--long", long), ("--json", as_json)) if on]
        if template is not None:
            chosen.append("--format")
        if len(chosen) > 1:
            raise UsageError(f"{' and '.join(chosen)} are exclusive; give one of them")
        if as_json:
            return cls.JSON
        if long:
            return cls.LONG
        return cls.LINE if template is None else cls.TEMPLATE


@dataclass(frozen=True, slots=True)
class TailOptions:
    """What ``spanstream tail`` was asked for.

    Attributes:
        topic: the topic to follow.
        start: ``"latest"`` (new spans only), ``"earliest"`` (``--from-beginning``), or epoch
            milliseconds (``--since``).
        until_millis: stop at records from this time on (``--until``; ``None``: never).
        exit_at_end: stop at the topic's end as it was at the start (``--exit-at-end``/``-e``).
        span_filter: which spans and events to print.
        kind: print spans, events or both (``--kind``).
        output: the line format.
        template: the ``--format`` template (with ``TailFormat.TEMPLATE``).
        max_spans: stop after printing this many spans and events (``None``: never).
        timeout_s: stop after this many seconds (``None``: never).
        properties: librdkafka client properties (``-X``).
    """

    topic: str
    start: Literal["earliest", "latest"] | int = "latest"
    until_millis: int | None = None
    exit_at_end: bool = False
    span_filter: SpanFilter = field(default_factory=SpanFilter)
    kind: RecordKind = "all"
    output: TailFormat = TailFormat.LINE
    template: str = ""
    max_spans: int | None = None
    timeout_s: float | None = None
    # May hold credentials (sasl.password): never in the repr.
    properties: Mapping[str, str] = field(default_factory=dict, repr=False)


_WAITING_FOR: Final = {"span": "spans", "event": "events", "all": "spans and events"}


def _render(options: TailOptions, record: SpanRecord | EventRecord) -> str:
    output = options.output
    if output is TailFormat.TEMPLATE:
        return render_template(options.template, record)
    if isinstance(record, EventRecord):
        event_render = {TailFormat.JSON: event_record_json, TailFormat.LONG: _event_long}
        return event_render.get(output, _event_short)(record)
    if output is TailFormat.JSON:
        return record_json(record)
    if output is TailFormat.LONG:
        return span_line_long(record.span)
    return span_line(record.span)


def _event_long(record: EventRecord) -> str:
    return event_line_long(record.event)


def _event_short(record: EventRecord) -> str:
    return event_line(record.event)


def _wanted(options: TailOptions, record: SpanRecord | EventRecord) -> bool:
    if isinstance(record, EventRecord):
        return options.kind != "span" and options.span_filter.matches_event(record.event)
    return options.kind != "event" and options.span_filter.matches(record.span)


def run_tail(options: TailOptions, address: BrokerAddress, console: Console) -> ExitCode:
    """Follow the topic until ``--max``, ``--timeout``, ``--until``, its end (``-e``) or Ctrl-C.

    Returns:
        ``OK``; ``FAILURE`` when ``--max`` was given and the timeout came first.
    """
    stderr = Console(stderr=True, soft_wrap=True, highlight=False)
    if options.topic not in check_reachable(address, properties=options.properties):
        if options.exit_at_end:
            raise CliError(f"topic {options.topic!r} does not exist on {address.bootstrap_servers}")
        stderr.print(
            f"note: topic {options.topic!r} does not exist on {address.bootstrap_servers} (yet); "
            "waiting for it"
        )
    config: dict[str, Any] = {"logger": RDKAFKA_LOG, **options.properties}
    deadline = None if options.timeout_s is None else time.monotonic() + options.timeout_s
    printed = 0
    last_output = time.monotonic()
    hinted = False
    with SpanReader(
        options.topic,
        bootstrap_servers=address.bootstrap_servers,
        start=options.start,
        until=options.until_millis,
        stop_at_end=options.exit_at_end,
        config=config,
        events=options.kind != "span",
    ) as reader:
        while options.max_spans is None or printed < options.max_spans:
            remaining = None if deadline is None else deadline - time.monotonic()
            if (remaining is not None and remaining <= 0) or reader.done:
                break
            batch = reader.poll_records(
                max_records=1000, timeout_s=0.5 if remaining is None else min(0.5, remaining)
            )
            for record in batch:
                if not _wanted(options, record):
                    continue
                console.out(_render(options, record), highlight=False)
                printed += 1
                last_output = time.monotonic()
                hinted = False
                if options.max_spans is not None and printed >= options.max_spans:
                    break
            if not hinted and time.monotonic() - last_output >= IDLE_HINT_S and not reader.done:
                hinted = True
                stderr.print(
                    f"waiting for {_WAITING_FOR[options.kind]} on {options.topic}... "
                    f"({printed:,} printed so far; Ctrl-C to stop)"
                )
        stats = reader.stats()
    if stats.bad_records:
        stderr.print(
            f"note: {stats.bad_records} record(s) were not spans or events and were skipped"
        )
    unmet = options.max_spans is not None and printed < options.max_spans
    if unmet and deadline is not None and time.monotonic() >= deadline:
        raise CliError(
            f"printed {printed} of --max {options.max_spans} records before --timeout "
            f"{options.timeout_s:g} s"
        )
    return ExitCode.OK
