"""Resolve the Apache Kafka broker's jars from Maven Central, once, into the state folder."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from spanstream.broker._process import file_lock
from spanstream.schemas import BrokerError

__all__ = ["KAFKA_VERSION", "LOG4J_VERSION", "MAVEN_REPO_ENV", "resolve_kafka_libs"]

KAFKA_VERSION = "4.1.1"
"""The Apache Kafka release (``org.apache.kafka:kafka_2.13``) the local broker runs."""

LOG4J_VERSION = "2.24.3"
"""log4j2, the version Kafka 4.1 ships with; its SLF4J 1.x binding sends the broker's logs
to the file set up by the packaged ``log4j2.xml``."""

MAVEN_REPO_ENV = "SPANSTREAM_MAVEN_REPO"
"""Environment variable naming a Maven local repository to use instead of ``~/.m2``."""

_POM = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by spanstream.broker: only used to copy Apache Kafka's runtime jars. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.spanstream</groupId>
  <artifactId>kafka-broker-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>{kafka_version}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j_version}</version>
    </dependency>
  </dependencies>
</project>
"""

_DONE_MARKER = ".resolved"


def resolve_kafka_libs(
    state_dir: Path,
    *,
    kafka_version: str = KAFKA_VERSION,
    maven_repo: Path | None = None,
    timeout_s: float = 600.0,
) -> Path:
    """Return a folder holding Apache Kafka's broker jars and their runtime dependencies.

    The first call writes a small ``pom.xml`` under ``state_dir/kafka-<version>/`` and runs
    ``mvn dependency:copy-dependencies`` (Maven's own repository caches the downloads); later
    calls find the folder complete and return at once. Concurrent callers wait on a file lock.

    Args:
        state_dir: the state folder (see :func:`default_state_dir`).
        kafka_version: the ``org.apache.kafka:kafka_2.13`` version.
        maven_repo: a Maven local repository; default ``$SPANSTREAM_MAVEN_REPO`` or ``~/.m2``.
        timeout_s: how long Maven may take.

    Raises:
        BrokerError: Maven is missing or failed; the message carries its output.
    """
    home = state_dir / f"kafka-{kafka_version}"
    libs = home / "libs"
    if (home / _DONE_MARKER).is_file():
        return libs
    home.mkdir(parents=True, exist_ok=True)
    with file_lock(home / ".lock"):
        if (home / _DONE_MARKER).is_file():
            return libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError(
                "cannot start a local Kafka broker: Maven (mvn) is not on PATH; install Maven "
                "and Java 17+, set KAFKA_BOOTSTRAP_SERVERS, or start a Docker engine"
            )
        (home / "pom.xml").write_text(
            _POM.format(kafka_version=kafka_version, log4j_version=LOG4J_VERSION)
        )
        if libs.exists():
            shutil.rmtree(libs)
        command = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(home / "pom.xml"),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
        ]
        repo = maven_repo or (
            Path(os.environ[MAVEN_REPO_ENV]) if os.environ.get(MAVEN_REPO_ENV) else None
        )
        if repo is not None:
            command.append(f"-Dmaven.repo.local={repo}")
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise BrokerError(
                f"Maven did not resolve Apache Kafka {kafka_version} in {timeout_s:.0f} s"
            ) from exc
        if done.returncode != 0 or not any(libs.glob(f"kafka_2.13-{kafka_version}.jar")):
            output = "\n".join((done.stdout + done.stderr).strip().splitlines()[-30:])
            raise BrokerError(
                f"Maven could not resolve org.apache.kafka:kafka_2.13:{kafka_version} "
                f"(exit {done.returncode}); last lines:\n{output}"
            )
        (home / _DONE_MARKER).write_text(kafka_version + "\n")
    return libs
