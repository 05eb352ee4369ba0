"""Helpers the integration tests share (importable as ``_helpers``: pytest puts this folder on
the path of the test modules in it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from _chaos import read_records
from confluent_kafka import Message

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
