"""Flink's ``flink-metrics-otel`` trace and event reporters: spans and events over OTLP.

Both read Flink's keys (``exporter.endpoint``, ``exporter.protocol``, ``exporter.timeout``,
``exporter.compression``, ``service.name``, ``service.version``) and hand what they are given
to an :class:`~spanstream.producer._otlp_sender.OtlpSender`: a bounded queue and one export
thread, so the caller never waits for the network and every item is counted (exported, failed
or dropped).

Where spanstream differs from Flink: boolean attributes are exported (Flink drops them with
"Unsupported attribute type"); ``service.name``/``service.version`` apply to events too (Flink's
event reporter ignores them); trace and span ids are the span's own (Flink's SDK makes new
ones), so a span has the same ids on a Kafka topic and in the trace viewer; an unknown
protocol is a configuration error (Flink warns and uses gRPC); reporters are closed, and flush,
at exit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from spanstream.producer._config import MetricConfig
from spanstream.producer._otlp_sender import OtlpQueueLimits, OtlpReporterStats, OtlpSender
from spanstream.producer._reporter import ReporterKeys
from spanstream.schemas import Event, ExtraMissingError, Span

if TYPE_CHECKING:
    from spanstream.otel import OtlpSettings

__all__ = [
    "OtelEventReporter",
    "OtelEventReporterFactory",
    "OtelTraceReporter",
    "OtelTraceReporterFactory",
]

_OWN_KEYS: Final = frozenset(
    {
        "exporter.endpoint",
        "exporter.protocol",
        "exporter.timeout",
        "exporter.compression",
        "service.name",
        "service.version",
        "queue.max.size",
        "batch.max.size",
        "batch.delay.ms",
        "close.timeout.s",
        # Flink's metric reporter reads these; accepted so one section serves both, unused here.
        "batch.size",
        "export-completion-timeout-millis",
    }
)
_DEFAULT_QUEUE_MAX: Final = 2048
_DEFAULT_BATCH_MAX: Final = 512
_DEFAULT_DELAY_MS: Final = 1000
_DEFAULT_CLOSE_TIMEOUT_S: Final = 10.0
_T = TypeVar("_T")
_Exporter = tuple[Callable[[list[_T]], bool], Callable[[], None]]
"""An export function for one batch, and the shutdown of what it exports with."""


def _otel_module() -> ModuleType:
    try:
        import spanstream.otel as otel_module
    except ImportError as exc:
        raise ExtraMissingError("the otel trace and event reporters", "otel") from exc
    return otel_module


class _Options:
    """The reporter's parameters, read once from its :class:`MetricConfig`."""

    __slots__ = ("limits", "resource", "settings")

    def __init__(self, config: MetricConfig, otel: ModuleType) -> None:
        # The registry checks the keys first (the factories' reporter_keys); a reporter opened
        # by hand gets the same check here.
        ReporterKeys(_OWN_KEYS).check(config, prefix=config.prefix)
        values = dict(config)
        self.settings: OtlpSettings = otel.OtlpSettings.from_flink_config(
            values, prefix=config.prefix
        )
        attributes = otel.service_resource_attributes(values, prefix=config.prefix)
        self.resource = otel.flink_resource(attributes)
        self.limits = OtlpQueueLimits(
            queue_max=config.get_int("queue.max.size", _DEFAULT_QUEUE_MAX, minimum=1),
            batch_max=config.get_int("batch.max.size", _DEFAULT_BATCH_MAX, minimum=1),
            delay_s=config.get_int("batch.delay.ms", _DEFAULT_DELAY_MS, minimum=1) / 1000,
            close_timeout_s=config.get_float(
                "close.timeout.s", _DEFAULT_CLOSE_TIMEOUT_S, minimum=0.0
            ),
        )


class _OtlpReporter(Generic[_T]):
    """What the OTLP trace and event reporters share: options, the sender and its lifecycle.

    A subclass says how a batch of its items is exported (:meth:`_exporter`) and adds Flink's
    ``notify_of_added_*`` method, which offers the item to the sender.
    """

    __slots__ = ("_close_timeout_s", "_sender")

    _default_name = "otel"

    def __init__(self) -> None:
        self._sender: OtlpSender[_T] | None = None
        self._close_timeout_s = _DEFAULT_CLOSE_TIMEOUT_S

    def open(self, config: MetricConfig) -> None:
        """Read the configuration and start the export thread.

        Raises:
            ConfigError: a missing endpoint or a bad value, naming the full key.
            ExtraMissingError: ``spanstream[otel]`` is not installed.
        """
        otel = _otel_module()
        options = _Options(config, otel)
        export, shutdown = self._exporter(otel, options)
        self._close_timeout_s = options.limits.close_timeout_s
        name = config.prefix.rstrip(".") or self._default_name
        self._sender = OtlpSender(name, export, options.limits, shutdown=shutdown)

    def _exporter(self, otel: ModuleType, options: _Options) -> _Exporter[_T]:
        raise NotImplementedError

    def flush(self, timeout_s: float | None = None) -> int:
        """Wait (``close.timeout.s`` by default) until the items queued now are exported.

        Returns:
            How many are still waiting.
        """
        if self._sender is None:
            return 0
        return self._sender.flush(self._close_timeout_s if timeout_s is None else timeout_s)

    def close(self, timeout_s: float | None = None) -> int:
        """Export what is queued within ``close.timeout.s`` (or ``timeout_s``).

        Returns:
            How many items (span trees, or events) were dropped (still queued at the deadline).
        """
        if self._sender is None:
            return 0
        return self._sender.close(self._close_timeout_s if timeout_s is None else timeout_s)

    def snapshot(self) -> OtlpReporterStats:
        """The reporter's counters (of span trees, or of events)."""
        return OtlpReporterStats() if self._sender is None else self._sender.snapshot()


class OtelTraceReporter(_OtlpReporter[Span]):
    """Exports spans over OTLP, as Flink's ``OpenTelemetryTraceReporter``.

    Parameters (under ``traces.reporter.<name>.``): Flink's ``exporter.endpoint`` (required),
    ``exporter.protocol`` (``gRPC`` or ``HTTP``), ``exporter.timeout`` (``10 s``),
    ``exporter.compression`` (``none``/``gzip``), ``service.name``, ``service.version``; and
    spanstream's ``queue.max.size`` (2048 span trees), ``batch.max.size`` (512),
    ``batch.delay.ms`` (1000) and ``close.timeout.s`` (10).

    Mapping: the span's scope is the instrumentation scope (one tracer per scope), each child a
    child span of its parent, ids kept, ``<>`` stripped from attribute keys, every value kept.
    """

    __slots__ = ()

    def _exporter(self, otel: ModuleType, options: _Options) -> _Exporter[Span]:
        client = otel.OtlpClient(options.settings)
        # Flink's mapping: every scope variable stays a span attribute; the resource is the
        # SDK's default one with service.name/version. The request is built straight from the
        # spans (a fifth of the SDK path's CPU, which the export thread takes from the
        # application's share of the GIL); tests hold that encoder to the SDK's.
        encoder = otel.TraceRequestEncoder(dict(options.resource.attributes))
        timeout_s = options.settings.timeout_s

        def export(spans: list[Span]) -> bool:
            request, _count = encoder.encode(spans)
            return bool(otel.export_within(client.export_traces, request, timeout_s=timeout_s))

        return export, client.close

    def notify_of_added_span(self, span: Span) -> None:
        """Queue the span tree for export. Never blocks, never raises."""
        sender = self._sender
        if sender is not None:
            sender.offer(span)


class OtelEventReporter(_OtlpReporter[Event]):
    """Exports events as OpenTelemetry log records, as Flink's ``OpenTelemetryEventReporter``.

    Parameters as :class:`OtelTraceReporter` (under ``events.reporter.<name>.``); unlike Flink,
    ``service.name`` and ``service.version`` are applied.

    Mapping: one logger per class scope; body, severity text (and number, when the text is an
    OpenTelemetry severity name such as ``INFO``), observed time; attributes with ``<>``
    stripped, plus ``name`` (the event's name) as Flink sets it; an event reported inside a
    span carries that span's trace and span ids.
    """

    __slots__ = ()

    _default_name = "otel-events"

    def _exporter(self, otel: ModuleType, options: _Options) -> _Exporter[Event]:
        exporter = otel.log_exporter(options.settings)
        resource = options.resource
        scopes: dict[str, Any] = {}

        def export(events: list[Event]) -> bool:
            records = [
                otel.to_otel_log(event, resource=resource, scopes=scopes) for event in events
            ]
            return bool(otel.export_succeeded(exporter.export(records)))

        return export, exporter.shutdown

    def notify_of_added_event(self, event: Event) -> None:
        """Queue the event for export. Never blocks, never raises."""
        sender = self._sender
        if sender is not None:
            sender.offer(event)


class OtelTraceReporterFactory:
    """Creates :class:`OtelTraceReporter`; entry point ``otel`` (``spanstream.trace_reporters``)."""

    reporter_keys = ReporterKeys(_OWN_KEYS)
    """The parameters the reporter reads (the registry rejects any other, naming the closest)."""

    def create_trace_reporter(self, properties: Mapping[str, object]) -> OtelTraceReporter:
        """Return a new, not yet opened, OTLP trace reporter."""
        return OtelTraceReporter()


class OtelEventReporterFactory:
    """Creates :class:`OtelEventReporter`; entry point ``otel`` (``spanstream.event_reporters``)."""

    reporter_keys = ReporterKeys(_OWN_KEYS)
    """The parameters the reporter reads (the registry rejects any other, naming the closest)."""

    def create_event_reporter(self, properties: Mapping[str, object]) -> OtelEventReporter:
        """Return a new, not yet opened, OTLP event reporter."""
        return OtelEventReporter()
