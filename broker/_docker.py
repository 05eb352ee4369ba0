"""The Docker path: the compose file's ``apache/kafka`` service, or a testcontainers container."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from spanstream.schemas import BrokerError

__all__ = [
    "COMPOSE_BOOTSTRAP_SERVERS",
    "compose_down",
    "compose_file",
    "compose_service_running",
    "compose_up",
    "docker_answers",
    "start_test_container",
]

COMPOSE_BOOTSTRAP_SERVERS = "localhost:9092"
"""Where ``docker-compose.yml``'s Kafka service listens."""


def docker_answers(*, timeout_s: float = 5.0) -> bool:
    """Tell whether a Docker engine answers ``docker info`` within ``timeout_s``."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        done = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def compose_file() -> Path:
    """Return the project's ``docker-compose.yml`` (next to the source checkout's packages)."""
    path = Path(__file__).resolve().parent.parent / "docker-compose.yml"
    if not path.is_file():
        raise BrokerError(
            f"no docker-compose.yml at {path}: the Docker path needs a source checkout; "
            "set KAFKA_BOOTSTRAP_SERVERS or SPANSTREAM_BROKER=local instead"
        )
    return path


def _compose(*args: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    command = ["docker", "compose", "-f", str(compose_file()), *args]
    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BrokerError(f"{' '.join(command)} took more than {timeout_s:.0f} s") from exc


def compose_service_running() -> bool:
    """Tell whether the compose file's ``kafka`` service has a running container."""
    done = _compose("ps", "--status", "running", "-q", "kafka", timeout_s=30)
    return done.returncode == 0 and bool(done.stdout.strip())


def compose_up(*, timeout_s: float = 180.0) -> None:
    """Start the compose file's ``kafka`` service and wait until its health check passes."""
    done = _compose("up", "-d", "--wait", "kafka", timeout_s=timeout_s)
    if done.returncode != 0:
        raise BrokerError(f"docker compose up kafka failed:\n{done.stdout}{done.stderr}")


def compose_down(*, timeout_s: float = 120.0) -> None:
    """Stop and remove the compose file's containers."""
    _compose("down", timeout_s=timeout_s)


def start_test_container() -> tuple[str, Callable[[], None]]:
    """Start testcontainers' Kafka container in KRaft mode; return its address and a stopper."""
    from testcontainers.community.kafka import KafkaContainer

    # testcontainers' KafkaContainer drives the Confluent image's start scripts (its default
    # image); KRaft mode formats the storage and runs a combined broker+controller.
    container = KafkaContainer().with_kraft()
    container.start()
    return container.get_bootstrap_server(), container.stop
