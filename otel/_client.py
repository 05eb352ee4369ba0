"""Sending built OTLP trace and log requests over gRPC or HTTP, one attempt per call.

The forwarder builds its requests itself (:class:`~spanstream.otel.TraceRequestEncoder`) and
retries on its own terms (it commits nothing until a request was accepted), so this client makes
exactly one attempt and says why it failed: no retry loop of its own, no SDK span objects.
"""

from __future__ import annotations

import gzip
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Final, Literal, TypeVar, cast

import grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.logs.v1.logs_service_pb2_grpc import LogsServiceStub
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from spanstream.otel._settings import OtlpSettings
from spanstream.schemas import SpanstreamError

__all__ = ["OtlpClient", "OtlpExportError", "export_within"]

_PROTOBUF: Final = "application/x-protobuf"
_Reply = TypeVar("_Reply")
_Request = TypeVar("_Request")
_Response = TypeVar("_Response", ExportTraceServiceResponse, ExportLogsServiceResponse)


class OtlpExportError(SpanstreamError, RuntimeError):
    """One OTLP export attempt failed; the message says how (status, or connection error)."""


class OtlpClient:
    """One connection to an OTLP endpoint (see :class:`OtlpSettings`), for traces and logs.

    :meth:`export_traces` and :meth:`export_logs` send one request each and return how many
    items the endpoint rejected as malformed (OTLP's partial success; retrying would not help),
    or raise :class:`OtlpExportError`.
    """

    __slots__ = ("_channel", "_logs", "_settings", "_traces")

    def __init__(self, settings: OtlpSettings) -> None:
        self._settings = settings
        self._channel: grpc.Channel | None = None
        self._traces: TraceServiceStub | None = None
        self._logs: LogsServiceStub | None = None
        if settings.protocol == "grpc":
            parsed = urllib.parse.urlsplit(settings.endpoint)
            gzip_on = settings.compression == "gzip"
            compression = grpc.Compression.Gzip if gzip_on else grpc.Compression.NoCompression
            if parsed.scheme == "https":
                credentials = grpc.ssl_channel_credentials()
                self._channel = grpc.secure_channel(
                    parsed.netloc, credentials, compression=compression
                )
            else:
                self._channel = grpc.insecure_channel(parsed.netloc, compression=compression)
            # The generated gRPC stub modules carry no annotations.
            self._traces = TraceServiceStub(self._channel)  # type: ignore[no-untyped-call]
            self._logs = LogsServiceStub(self._channel)  # type: ignore[no-untyped-call]

    def export_traces(self, request: ExportTraceServiceRequest) -> int:
        """Send ``request`` once; return the spans rejected as malformed.

        Raises:
            OtlpExportError: the endpoint could not be reached or refused the request.
        """
        reply = self._export(self._traces, "traces", request, ExportTraceServiceResponse)
        return int(reply.partial_success.rejected_spans)

    def export_logs(self, request: ExportLogsServiceRequest) -> int:
        """Send ``request`` once; return the log records rejected as malformed.

        Raises:
            OtlpExportError: the endpoint could not be reached or refused the request.
        """
        reply = self._export(self._logs, "logs", request, ExportLogsServiceResponse)
        return int(reply.partial_success.rejected_log_records)

    def close(self) -> None:
        """Close the connection."""
        if self._channel is not None:
            self._channel.close()

    def _export(
        self,
        stub: TraceServiceStub | LogsServiceStub | None,
        signal: Literal["traces", "logs"],
        request: ExportTraceServiceRequest | ExportLogsServiceRequest,
        reply_type: type[_Response],
    ) -> _Response:
        """Send ``request`` once: by gRPC when the client has ``stub``, else by HTTP."""
        if stub is not None:
            return cast(_Response, self._call_grpc(stub.Export, request))
        reply = reply_type()
        reply.ParseFromString(self._post(signal, request.SerializeToString()))
        return reply

    def _call_grpc(self, call: Callable[..., _Reply], request: object) -> _Reply:
        try:
            return call(
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

    def _post(self, signal: Literal["traces", "logs"], body: bytes) -> bytes:
        url = self._settings.signal_endpoint(signal)
        headers = {"Content-Type": _PROTOBUF, **self._settings.headers}
        if self._settings.compression == "gzip":
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        # The URL was checked to be http:// or https:// (OtlpSettings).
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self._settings.timeout_s) as reply:  # noqa: S310
                return bytes(reply.read())
        except (urllib.error.URLError, OSError) as exc:
            raise OtlpExportError(
                f"OTLP/HTTP export to {url} failed: {type(exc).__name__}: {exc}"
            ) from exc


def export_within(
    export: Callable[[_Request], int], request: _Request, *, timeout_s: float
) -> bool:
    """Try ``export(request)`` until it succeeds or ``timeout_s`` has passed; True on success.

    Attempts are 1 s apart, then 2, 4...: the SDK exporters' retry, for the reporters, whose
    export thread may spend a batch's timeout on it (the forwarder retries on its own, longer,
    terms). An attempt that would start after the deadline is not made.

    Raises:
        OtlpExportError: the last attempt's error, once the time is up.
    """
    deadline = time.monotonic() + timeout_s
    pause_s = 1.0
    while True:
        try:
            export(request)
        except OtlpExportError:
            if time.monotonic() + pause_s > deadline:
                raise
            time.sleep(pause_s)
            pause_s *= 2
        else:
            return True
