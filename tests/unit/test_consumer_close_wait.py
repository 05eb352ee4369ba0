"""A consumer's close and commit never hang the host: librdkafka's are waited for a bounded time."""

from __future__ import annotations

import logging
import threading

import pytest

from spanstream.consumer import CommitError
from spanstream.consumer._broker_health import ErrorLog, close_client
from spanstream.consumer._partitions import Partitions
from spanstream.consumer._stats import ConsumerCounters
from spanstream.schemas import BrokerError


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


class _CommitThatBlocks(_CloseThatBlocks):
    """A client whose synchronous commit blocks until released, as librdkafka's may."""

    def store_offsets(self, offsets: object) -> None:
        pass

    def commit(self, asynchronous: bool) -> list[object]:
        self.release.wait()
        return []


def test_a_commit_that_blocks_raises_broker_error_naming_the_servers() -> None:
    """A bounded commit given up after commit_wait_s is a BrokerError (and a CommitError)."""
    counters = ConsumerCounters()
    client = _CommitThatBlocks()
    partitions = Partitions(
        client,  # type: ignore[arg-type]
        counters=counters,
        errors=ErrorLog(counters, None),
        start_ms=None,
        closed=lambda: False,
        bootstrap_servers="broker-a:9092,broker-b:9092",
        commit_wait_s=0.05,
    )
    try:
        with pytest.raises(BrokerError, match="broker-a:9092,broker-b:9092") as raised:
            partitions.commit_stored(bounded=True)
    finally:
        client.release.set()
    assert isinstance(raised.value, CommitError)
    assert counters.commit_failures == 1
