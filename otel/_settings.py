"""Where and how to export over OTLP: Flink's ``exporter.*`` keys, validated once."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

from spanstream.schemas import ConfigError

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "OtlpCompression",
    "OtlpProtocol",
    "OtlpSettings",
    "parse_duration_s",
    "service_resource_attributes",
]

OtlpProtocol = Literal["grpc", "http"]
"""OTLP over gRPC (port 4317 by convention) or over HTTP with protobuf bodies (4318)."""
OtlpCompression = Literal["none", "gzip"]
"""What OTLP request bodies are compressed with."""

DEFAULT_TIMEOUT_S: Final = 10.0
"""How long one export may take, as the OpenTelemetry SDK's default."""

_ENDPOINT: Final = "exporter.endpoint"
_PROTOCOL: Final = "exporter.protocol"
_TIMEOUT: Final = "exporter.timeout"
_COMPRESSION: Final = "exporter.compression"
_SERVICE_NAME: Final = "service.name"
_SERVICE_VERSION: Final = "service.version"

# Flink's TimeUtils.parseDuration units (a number alone is milliseconds, as there).
_DURATION_UNITS_S: Final = {
    "ns": 1e-9,
    "nano": 1e-9,
    "nanos": 1e-9,
    "nanosecond": 1e-9,
    "nanoseconds": 1e-9,
    "us": 1e-6,
    "micro": 1e-6,
    "micros": 1e-6,
    "microsecond": 1e-6,
    "microseconds": 1e-6,
    "ms": 1e-3,
    "milli": 1e-3,
    "millis": 1e-3,
    "millisecond": 1e-3,
    "milliseconds": 1e-3,
    "": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
}
_DURATION: Final = re.compile(r"\s*(\d+)\s*([a-z]*)\s*")
_DURATION_EXPECTED: Final = (
    "a positive duration as Flink writes it: a number and a unit (500 ms, 10 s, 1 min); "
    "a number alone is milliseconds"
)


def parse_duration_s(key: str, value: object) -> float:
    """Parse a Flink duration (``10 s``, ``500ms``, ``1 min``; a bare number is ms) into seconds.

    >>> parse_duration_s("exporter.timeout", "1500")
    1.5

    Raises:
        ConfigError: not a positive duration; the message names ``key`` and the value.
    """
    if isinstance(value, bool):
        raise ConfigError(key, value, _DURATION_EXPECTED)
    if isinstance(value, int):
        value = str(value)
    match = _DURATION.fullmatch(value.lower()) if isinstance(value, str) else None
    if match is None or match.group(2) not in _DURATION_UNITS_S or int(match.group(1)) <= 0:
        raise ConfigError(key, value, _DURATION_EXPECTED)
    return int(match.group(1)) * _DURATION_UNITS_S[match.group(2)]


def _check_endpoint(key: str, value: object) -> str:
    expected = "an http:// or https:// URL of an OTLP endpoint, e.g. http://localhost:4317"
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, value, expected)
    text = value.strip()
    try:
        parsed = urllib.parse.urlsplit(text)
        port = parsed.port
    except ValueError as exc:
        raise ConfigError(key, value, expected) from exc
    if parsed.scheme not in {"http", "https"} or not parsed.hostname or port == 0:
        raise ConfigError(key, value, expected)
    return text


@dataclass(frozen=True, slots=True)
class OtlpSettings:
    """One OTLP destination: endpoint, protocol, timeout, compression, headers.

    Build it directly, or from Flink's reporter keys with :meth:`from_flink_config`.

    Attributes:
        endpoint: ``http://host:port`` (``https://`` for TLS). Over HTTP, an endpoint without a
            path gets the signal's standard path (``/v1/traces``, ``/v1/logs``); one with a
            path is used as written.
        protocol: ``"grpc"`` or ``"http"``.
        timeout_s: the longest one export may take, retries of the exporter included.
        compression: ``"none"`` or ``"gzip"``.
        headers: extra request headers (gRPC metadata), e.g. an authorization token. They are
            never printed.

    Example:
        >>> OtlpSettings("http://localhost:4318", protocol="http").signal_endpoint("traces")
        'http://localhost:4318/v1/traces'
    """

    endpoint: str
    protocol: OtlpProtocol = "grpc"
    timeout_s: float = DEFAULT_TIMEOUT_S
    compression: OtlpCompression = "none"
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "endpoint", _check_endpoint("endpoint", self.endpoint))
        if self.protocol not in {"grpc", "http"}:
            raise ConfigError("protocol", self.protocol, "'grpc' or 'http'")
        if self.compression not in {"none", "gzip"}:
            raise ConfigError("compression", self.compression, "'none' or 'gzip'")
        if not (isinstance(self.timeout_s, int | float) and self.timeout_s > 0):
            raise ConfigError("timeout_s", self.timeout_s, "a positive number of seconds")
        object.__setattr__(self, "headers", MappingProxyType(dict(self.headers)))

    @classmethod
    def from_flink_config(cls, config: Mapping[str, object], *, prefix: str = "") -> OtlpSettings:
        """Read Flink's ``flink-metrics-otel`` keys.

        The keys: ``exporter.endpoint`` (required), ``exporter.protocol`` (``gRPC``/``HTTP``,
        any case; default gRPC),
        ``exporter.timeout`` (a Flink duration) and ``exporter.compression`` (``none``/``gzip``).

        Unlike Flink, an unknown protocol is an error rather than a warning and gRPC.

        Raises:
            ConfigError: naming the full key (``prefix`` + key), the value and what is accepted.
        """
        if _ENDPOINT not in config:
            raise ConfigError(prefix + _ENDPOINT, None, "an OTLP endpoint URL (it is required)")
        endpoint = _check_endpoint(prefix + _ENDPOINT, config[_ENDPOINT])
        protocol_text = config.get(_PROTOCOL, "gRPC")
        if not isinstance(protocol_text, str) or protocol_text.lower() not in {"grpc", "http"}:
            raise ConfigError(prefix + _PROTOCOL, protocol_text, "gRPC or HTTP (any case)")
        protocol: OtlpProtocol = "grpc" if protocol_text.lower() == "grpc" else "http"
        timeout_s = (
            parse_duration_s(prefix + _TIMEOUT, config[_TIMEOUT])
            if _TIMEOUT in config
            else DEFAULT_TIMEOUT_S
        )
        compression_text = config.get(_COMPRESSION, "none")
        if not isinstance(compression_text, str) or compression_text.lower() not in {
            "none",
            "gzip",
        }:
            raise ConfigError(prefix + _COMPRESSION, compression_text, "none or gzip")
        compression: OtlpCompression = "gzip" if compression_text.lower() == "gzip" else "none"
        return cls(endpoint, protocol=protocol, timeout_s=timeout_s, compression=compression)

    def signal_endpoint(self, signal: Literal["traces", "logs"]) -> str:
        """The URL an exporter of ``signal`` sends to (see :attr:`endpoint`)."""
        if self.protocol == "grpc":
            return self.endpoint
        parsed = urllib.parse.urlsplit(self.endpoint)
        if parsed.path in {"", "/"}:
            return urllib.parse.urlunsplit(parsed._replace(path=f"/v1/{signal}"))
        return self.endpoint


def service_resource_attributes(
    config: Mapping[str, object], *, prefix: str = ""
) -> dict[str, str]:
    """Flink's ``service.name`` and ``service.version`` keys as resource attributes."""
    attributes: dict[str, str] = {}
    for key in (_SERVICE_NAME, _SERVICE_VERSION):
        if key in config:
            value = config[key]
            if not isinstance(value, str | int | float) or isinstance(value, bool) or value == "":
                raise ConfigError(prefix + key, value, "a non-empty string")
            attributes[key] = str(value)
    return attributes
