"""A consumer's close never hangs the host: librdkafka's close is waited for a bounded time."""

from __future__ import annotations

import logging
import threading

import pytest

from spanstream.consumer._broker_health import close_client


class _CloseThatBlocks:
    """A client whose close() blocks until released, as librdkafka's does with no broker."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def close(self) -> None:
        self.release.wait()


def test_a_close_that_blocks_is_given_up_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """close_client returns False and says so when the client's close does not return in time."""
    client = _CloseThatBlocks()
    with caplog.at_level(logging.WARNING, logger="spanstream.consumer"):
        closed = close_client(client, wait_s=0.05)  # type: ignore[arg-type]
    client.release.set()
    assert closed is False
    assert "did not close within" in caplog.text


def test_a_close_that_returns_is_reported_closed() -> None:
    """A client that closes at once is reported closed."""
    client = _CloseThatBlocks()
    client.release.set()
    assert close_client(client, wait_s=5.0) is True  # type: ignore[arg-type]
