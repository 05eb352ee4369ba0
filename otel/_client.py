"""Sending a built OTLP trace request over gRPC or HTTP, one attempt per call.

The forwarder builds its requests itself (:class:`~spanstream.otel.TraceRequestEncoder`) and
retries on its own terms (it commits nothing until a request was accepted), so this client makes
exactly one attempt and says why it failed: no retry loop of its own, no SDK span objects.
"""

from __future__ import annotations

import gzip
import urllib.error
import urllib.parse
import urllib.request
from typing import Final

import grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from spanstream.otel._settings import OtlpSettings
from spanstream.schemas import SpanstreamError

__all__ = ["OtlpExportError", "OtlpTraceClient"]

_PROTOBUF: Final = "application/x-protobuf"


class OtlpExportError(SpanstreamError, RuntimeError):
    """One OTLP export attempt failed; the message says how (status, or connection error)."""


class OtlpTraceClient:
    """One connection to an OTLP trace endpoint (see :class:`OtlpSettings`).

    :meth:`export` sends one request and returns how many spans the endpoint rejected as
    malformed (OTLP's partial success; retrying would not help), or raises
    :class:`OtlpExportError`.
    """

    __slots__ = ("_channel", "_settings", "_stub", "_url")

    def __init__(self, settings: OtlpSettings) -> None:
        self._settings = settings
        self._channel: grpc.Channel | None = None
        self._stub: TraceServiceStub | None = None
        self._url = settings.signal_endpoint("traces")
        if settings.protocol == "grpc":
            parsed = urllib.parse.urlsplit(settings.endpoint)
            target = parsed.netloc
            compression = (
                grpc.Compression.Gzip
                if settings.compression == "gzip"
                else grpc.Compression.NoCompression
            )
            if parsed.scheme == "https":
                self._channel = grpc.secure_channel(
                    target, grpc.ssl_channel_credentials(), compression=compression
                )
            else:
                self._channel = grpc.insecure_channel(target, compression=compression)
            # The generated gRPC stub module carries no annotations.
            self._stub = TraceServiceStub(self._channel)  # type: ignore[no-untyped-call]

    def export(self, request: ExportTraceServiceRequest) -> int:
        """Send ``request`` once; return the spans rejected as malformed.

        Raises:
            OtlpExportError: the endpoint could not be reached or refused the request.
        """
        if self._stub is not None:
            return self._export_grpc(request)
        return self._export_http(request)

    def close(self) -> None:
        """Close the connection."""
        if self._channel is not None:
            self._channel.close()

    def _export_grpc(self, request: ExportTraceServiceRequest) -> int:
        assert self._stub is not None
        try:
            response: ExportTraceServiceResponse = self._stub.Export(
                request,
                timeout=self._settings.timeout_s,
                metadata=tuple(self._settings.headers.items()) or None,
            )
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
            raise OtlpExportError(
                f"OTLP/gRPC export to {self._settings.endpoint} failed: {code}: {details}"
            ) from exc
        return int(response.partial_success.rejected_spans)

    def _export_http(self, request: ExportTraceServiceRequest) -> int:
        body = request.SerializeToString()
        headers = {"Content-Type": _PROTOBUF, **self._settings.headers}
        if self._settings.compression == "gzip":
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        http_request = urllib.request.Request(self._url, data=body, headers=headers, method="POST")  # noqa: S310 - the URL is checked to be http(s)
        try:
            with urllib.request.urlopen(http_request, timeout=self._settings.timeout_s) as reply:  # noqa: S310 - http(s) only
                payload = reply.read()
        except (urllib.error.URLError, OSError) as exc:
            raise OtlpExportError(
                f"OTLP/HTTP export to {self._url} failed: {type(exc).__name__}: {exc}"
            ) from exc
        response = ExportTraceServiceResponse()
        if payload:
            response.ParseFromString(payload)
        return int(response.partial_success.rejected_spans)
