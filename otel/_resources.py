"""OpenTelemetry resources, and reading an exporter's result."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.sdk.resources import Resource

from spanstream.schemas import AttributeValue

__all__ = ["export_succeeded", "flink_resource", "make_resource"]


def make_resource(attributes: Mapping[str, AttributeValue]) -> Resource:
    """A resource with exactly ``attributes`` (no SDK defaults or environment merged in)."""
    return Resource(dict(attributes))


def flink_resource(service_attributes: Mapping[str, str]) -> Resource:
    """The resource of Flink's reporters, with ``service.name``/``service.version`` if set.

    That is the SDK's default resource (``service.name`` ``unknown_service``, the
    ``telemetry.sdk.*`` attributes, ``OTEL_RESOURCE_ATTRIBUTES``) with ``service_attributes``
    merged over it.
    """
    return Resource.create(dict(service_attributes))


def export_succeeded(result: object) -> bool:
    """Whether an exporter's result (``SpanExportResult``, ``LogRecordExportResult``) is success."""
    return getattr(result, "name", None) == "SUCCESS"
