"""The OTLP log exporter of ``opentelemetry-exporter-otlp`` (gRPC or HTTP), made from settings.

The event reporter uses it (events are few); spans go through :class:`OtlpClient` with
requests built by :class:`TraceRequestEncoder`, which costs a fifth of the SDK path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spanstream.otel._settings import OtlpSettings

if TYPE_CHECKING:
    from opentelemetry.sdk._logs.export import LogRecordExporter

__all__ = ["log_exporter"]


def _grpc_arguments(settings: OtlpSettings) -> dict[str, Any]:
    import grpc

    return {
        "endpoint": settings.endpoint,
        "insecure": settings.endpoint.startswith("http://"),
        "headers": dict(settings.headers) or None,
        "timeout": settings.timeout_s,
        "compression": grpc.Compression.Gzip
        if settings.compression == "gzip"
        else grpc.Compression.NoCompression,
    }


def _http_arguments(settings: OtlpSettings, signal: str) -> dict[str, Any]:
    from opentelemetry.exporter.otlp.proto.http import Compression

    return {
        "endpoint": settings.signal_endpoint("traces" if signal == "traces" else "logs"),
        "headers": dict(settings.headers) or None,
        "timeout": settings.timeout_s,
        "compression": Compression.Gzip
        if settings.compression == "gzip"
        else Compression.NoCompression,
    }


def log_exporter(settings: OtlpSettings) -> LogRecordExporter:
    """An OTLP log record exporter (gRPC or HTTP, as ``settings`` say)."""
    if settings.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

        return OTLPLogExporter(**_grpc_arguments(settings))
    from opentelemetry.exporter.otlp.proto.http._log_exporter import (
        OTLPLogExporter as HttpLogExporter,
    )

    return HttpLogExporter(**_http_arguments(settings, "logs"))
