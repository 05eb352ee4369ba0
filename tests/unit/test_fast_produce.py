"""When the Kafka sender uses its C produce loop (``producer/_fast_produce.py``), and when not."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import Producer

from spanstream.producer import _fast_produce
from spanstream.producer._fast_produce import librdkafka_path, record_producer
from spanstream.producer._produce import RecordProducer

CLIENT_ID = "spanstream-unit"


@pytest.fixture
def producer() -> Producer:
    # Nothing is produced: the producer only has to exist (its broker is never reached).
    return Producer({"bootstrap.servers": "127.0.0.1:9", "client.id": CLIENT_ID, "log_level": 0})


def _choose(producer: Producer) -> RecordProducer | None:
    return record_producer(
        producer, client_id=CLIENT_ID, topic="t", headers=[("h", b"v")], on_delivery=print
    )


def test_the_installed_client_gets_the_c_loop(producer: Producer):
    """With the installed confluent-kafka (a verified version: constraints.txt) the C loop."""
    assert isinstance(_choose(producer), RecordProducer)


def test_no_speedups_turns_the_c_loop_off(producer: Producer, monkeypatch: pytest.MonkeyPatch):
    """SPANSTREAM_NO_SPEEDUPS=1 leaves the sending to the Python loop."""
    monkeypatch.setenv("SPANSTREAM_NO_SPEEDUPS", "1")
    assert _choose(producer) is None


@pytest.mark.parametrize("version", ["2.5.2", "2.17.0", "3.0.0", "unknown"])
def test_an_unverified_client_version_gets_the_python_loop(
    producer: Producer, monkeypatch: pytest.MonkeyPatch, version: str
):
    """A confluent-kafka outside the versions whose layout was read never gets the C loop."""
    monkeypatch.setattr(_fast_produce, "_client_version", lambda: version)
    assert _choose(producer) is None


def test_librdkafka_path_is_the_library_confluent_kafka_loaded():
    """The path found is a loaded librdkafka file."""
    path = librdkafka_path()
    assert path is not None
    assert Path(path).name.startswith("librdkafka")
    assert Path(path).is_file()


def test_the_c_loop_refuses_a_handle_of_another_client(producer: Producer):
    """A RecordProducer checks the handle's client name before it produces anything."""
    path = librdkafka_path()
    assert path is not None
    with pytest.raises(ValueError, match="handle"):
        RecordProducer(producer, path, "someone-else", "t", [], print)


def test_the_c_loop_refuses_a_library_that_is_not_loaded(producer: Producer, tmp_path: Path):
    """A path that is not the loaded librdkafka is refused: nothing new is loaded."""
    with pytest.raises(OSError, match="not loaded"):
        RecordProducer(producer, str(tmp_path / "librdkafka.so.1"), CLIENT_ID, "t", [], print)


def test_the_project_installs_only_verified_clients():
    """constraints.txt bounds confluent-kafka just above the newest verified layout."""
    constraints = (Path(__file__).parents[2] / "constraints.txt").read_text(encoding="utf-8")
    major, minor = _fast_produce.VERIFIED_VERSIONS[1]
    assert f"confluent-kafka<{major}.{minor + 1}\n" in constraints
