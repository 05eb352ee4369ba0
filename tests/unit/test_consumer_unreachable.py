"""A consumer whose broker never answers is not "caught up": it says so (no network needed)."""

import pytest

from spanstream.consumer import SpanConsumer
from spanstream.schemas import BrokerError, ConfigError

NOWHERE = "127.0.0.1:9"  # nothing listens: every connection is refused


def test_an_unreachable_broker_is_never_caught_up_and_raises_broker_error():
    """Empty batches are not the end: caught_up() stays False, then BrokerError names servers."""
    consumer = SpanConsumer("spans", bootstrap_servers=NOWHERE, group_id="g", broker_timeout_s=1.0)
    raised = None
    try:
        for _ in range(200):
            try:
                assert not consumer.caught_up()
                assert not consumer.poll_batch(timeout_s=0.2)
            except BrokerError as exc:
                raised = exc
                break
        assert raised is not None, "no BrokerError while no broker answered"
        assert "127.0.0.1:9" in str(raised)
        assert "broker_timeout_s=1" in str(raised)
        assert consumer.stats().kafka_errors >= 1
    finally:
        consumer.close()


def test_without_a_timeout_reading_waits_for_the_broker():
    """broker_timeout_s=None: empty batches, never caught up, no BrokerError."""
    consumer = SpanConsumer("spans", bootstrap_servers=NOWHERE, group_id="g", broker_timeout_s=None)
    try:
        for _ in range(10):
            assert not consumer.poll_batch(timeout_s=0.2)
            assert not consumer.caught_up()
    finally:
        consumer.close()


@pytest.mark.parametrize("value", [0, -1, "10", True])
def test_a_bad_broker_timeout_is_a_config_error(value):
    """broker_timeout_s is seconds > 0 or None."""
    with pytest.raises(ConfigError, match="broker_timeout_s"):
        SpanConsumer("spans", bootstrap_servers=NOWHERE, group_id="g", broker_timeout_s=value)
