"""Helpers the integration tests share (importable as ``_helpers``: pytest puts this folder on
the path of the test modules in it)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

from _chaos import read_records
from confluent_kafka import KafkaError, Message, Producer

SPANSTREAM = [sys.executable, "-m", "spanstream.cli"]


def run_cli(
    *args: str, bootstrap: str, timeout_s: float = 240.0
) -> subprocess.CompletedProcess[str]:
    """Run ``spanstream ARGS`` with the session broker in $KAFKA_BOOTSTRAP_SERVERS."""
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "COLUMNS": "160"}
    return subprocess.run(
        [*SPANSTREAM, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout_s,
        check=False,
    )


def read_topic(bootstrap: str, topic: str, *, timeout_s: float = 180.0) -> list[Message]:
    """Every record of ``topic``, partition by partition in offset order (up to the high marks).

    The loop is ``benchmarks/reliability/_chaos.py``'s (on the path: ``tests/conftest.py``).
    """
    records = []
    for message in read_records(
        bootstrap, topic, timeout_s=timeout_s, config={"auto.offset.reset": "earliest"}
    ):
        assert message.error() is None, message.error()
        records.append(message)
    return sorted(records, key=lambda m: (m.partition(), m.offset()))


def demo_config(tmp_path: Path, topic: str, *, events: bool = False) -> Path:
    """A ``spanstream demo --config`` file: the Kafka trace reporter on ``topic`` with
    ``region:test`` as an extra scope variable; with ``events``, the Kafka event reporter on
    the same topic too (the shape of ``cli/demo.yaml``)."""
    lines = [
        "traces.reporter.kafka.factory.class: kafka",
        f"traces.reporter.kafka.topic: {topic}",
        "traces.reporter.kafka.scope.variables.additional: region:test",
    ]
    if events:
        lines += [
            "events.reporter.kafka.factory.class: kafka",
            f"events.reporter.kafka.topic: {topic}",
        ]
    path = tmp_path / "traces.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_demo(
    bootstrap: str, config: Path, *, duration_s: int, seed: int | None = None
) -> subprocess.CompletedProcess[str]:
    """``spanstream demo`` for ``duration_s`` with ``config``; it must exit 0."""
    seeded = ("--seed", str(seed)) if seed is not None else ()
    done = run_cli(
        "demo",
        "--duration-s",
        str(duration_s),
        "--config",
        str(config),
        *seeded,
        bootstrap=bootstrap,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def produce_keyed(
    bootstrap: str,
    topic: str,
    records: Iterable[tuple[bytes, bytes]],
    *,
    config: Mapping[str, object] | None = None,
    flush_timeout_s: float = 120.0,
) -> dict[int, list[bytes]]:
    """Produce ``(key, value)`` records with an idempotent producer; every one must be
    acknowledged. Returns each partition's values in delivery order."""
    delivered: dict[int, list[bytes]] = defaultdict(list)
    failures: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            failures.append(err)
        else:
            delivered[msg.partition()].append(msg.value())

    producer = Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, **(config or {})}
    )
    for key, value in records:
        producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
        producer.poll(0)
    assert producer.flush(flush_timeout_s) == 0
    assert failures == []
    return dict(delivered)


def values_by_partition(messages: Iterable[Message]) -> dict[int, list[bytes]]:
    """Each partition's record values, in the order given (read_topic's: offset order)."""
    values: dict[int, list[bytes]] = defaultdict(list)
    for message in messages:
        values[message.partition()].append(message.value())
    return dict(values)


REPOSITORY = Path(__file__).resolve().parents[2]


def pyflink_python() -> str:
    """The python of the PyFlink environment (``.venv-pyflink``), made by ``./run`` if missing.

    ``./run pyflink-env`` installs nothing when the environment is current (a stamp file), so
    calling this in every PyFlink test costs a few milliseconds.
    """
    subprocess.run([str(REPOSITORY / "run"), "pyflink-env"], check=True, timeout=1800)
    return str(REPOSITORY / ".venv-pyflink" / "bin" / "python")


def run_pyflink(
    script: str | Path,
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout_s: float = 280.0,
) -> subprocess.CompletedProcess[str]:
    """Run a PyFlink job script with the PyFlink environment's python; fail with its output."""
    result = subprocess.run(
        [pyflink_python(), str(script), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=timeout_s,
        check=False,
    )
    output = f"{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
    assert result.returncode == 0, f"{script} failed:\n{output}"
    return result
