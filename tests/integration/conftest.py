"""Fixtures of the integration tests beyond the broker's (``tests/conftest.py``): a real OTLP
backend (an OpenTelemetry Collector built from Go modules, see ``_otlp_backend.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _otlp_backend import OtlpBackend, collector_binary


@pytest.fixture(scope="session")
def otelcol_binary() -> Path:
    """The collector binary (built on first use, then cached under the state dir)."""
    return collector_binary()


@pytest.fixture
def otlp_backend(otelcol_binary: Path, tmp_path: Path) -> Iterator[OtlpBackend]:
    """A collector of this test's own: OTLP in on loopback, OTLP JSON out to a file."""
    backend = OtlpBackend(otelcol_binary, tmp_path)
    backend.start()
    yield backend
    backend.stop()
