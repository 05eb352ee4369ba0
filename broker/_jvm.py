"""A local Kafka node's JVM: its command line, storage formatting, spawning, and admin probes.

The process-level half of :class:`~spanstream.broker.LocalKafka` (which decides *what* runs
where); here is *how* one node's JVM is started and asked about.
"""

from __future__ import annotations

import base64
import importlib.resources
import logging
import os
import shutil
import subprocess
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from confluent_kafka.admin import AdminClient

from spanstream.broker._process import read_pid
from spanstream.broker._properties import NodeLayout
from spanstream.schemas import BrokerError

if TYPE_CHECKING:
    # confluent-kafka returns this type from list_topics but does not re-export its name.
    from confluent_kafka.admin._metadata import ClusterMetadata

__all__ = [
    "CHILDREN",
    "admin_client",
    "broker_main",
    "cluster_metadata",
    "exit_status",
    "format_storage",
    "jvm_command",
    "log4j_config",
    "log_tail",
    "new_cluster_id",
    "spawn",
    "storage_tool_main",
]

_MAIN_CLASS: Final = "kafka.Kafka"
_log = logging.getLogger("spanstream.broker")
# librdkafka reports every refused connection while a broker boots; keep that out of stderr.
_rdkafka_log = logging.getLogger("spanstream.broker.rdkafka")
_rdkafka_log.addHandler(logging.NullHandler())
_rdkafka_log.propagate = False

CHILDREN: Final[dict[int, subprocess.Popen[bytes]]] = {}
"""The JVMs spawned in this process, by pid, kept so that they can be reaped and never trigger
Popen's "still running" ResourceWarning when garbage-collected."""


def new_cluster_id() -> str:
    """Return a fresh KRaft cluster id: a random UUID as 22 characters of base64url.

    Example:
        >>> len(new_cluster_id())
        22
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        # One id in 64 starts with "-", which kafka-storage's parser reads as an option (Kafka's
        # own Uuid.randomUuid() skips those too).
        if not cluster_id.startswith("-"):
            return cluster_id


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise BrokerError(
            "cannot start a local Kafka broker: no java on PATH (Java 17+ is needed); "
            "or set KAFKA_BOOTSTRAP_SERVERS, or start a Docker engine"
        )
    return found


def log_tail(path: Path, *, lines: int) -> str:
    """The last ``lines`` lines of a log file ("" when it cannot be read)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def admin_client(bootstrap_servers: str) -> AdminClient:
    """An admin client that gives up on a connection quickly and logs nothing to stderr."""
    return AdminClient(
        {
            "bootstrap.servers": bootstrap_servers,
            "socket.connection.setup.timeout.ms": 2000,
            "reconnect.backoff.max.ms": 500,
        },
        logger=_rdkafka_log,
    )


def cluster_metadata(admin: AdminClient, *, timeout_s: float) -> ClusterMetadata | None:
    """The cluster's metadata, or None while it does not answer."""
    try:
        return admin.list_topics(timeout=timeout_s)
    except Exception:  # noqa: BLE001 - any failure means "not answering yet"
        return None


def log4j_config(cluster_dir: Path) -> Path:
    """The cluster's ``log4j2.xml`` (the packaged one, copied in when it changed)."""
    target = cluster_dir / "log4j2.xml"
    source = importlib.resources.files("spanstream.broker").joinpath("log4j2.xml")
    text = source.read_text()
    if not target.is_file() or target.read_text() != text:
        target.write_text(text)
    return target


def jvm_command(
    node: NodeLayout,
    *,
    libs: Path,
    main: Sequence[str],
    heap_mb: int,
    extra_jvm_args: Sequence[str],
    log4j: Path,
) -> list[str]:
    """The java command line that runs ``main`` for ``node`` with the Kafka jars in ``libs``."""
    return [
        _java(),
        f"-Xmx{heap_mb}m",
        "-Xms64m",
        "-XX:+UseSerialGC",
        # C1 only: starts the broker about twice as fast on a busy 2-core machine; a test
        # broker never runs long enough to repay C2. `extra_jvm_args` come later and win.
        "-XX:TieredStopAtLevel=1",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j}",
        f"-Dkafka.logs.dir={node.log_dir}",
        *extra_jvm_args,
        "-cp",
        f"{libs}/*",
        *main,
    ]


def storage_tool_main(node: NodeLayout, cluster_id: str) -> list[str]:
    """The main class and arguments that format ``node``'s KRaft storage (if not yet)."""
    return [
        "kafka.tools.StorageTool",
        "format",
        "--ignore-formatted",
        "--cluster-id",
        cluster_id,
        "--config",
        str(node.properties_path),
    ]


def format_storage(node: NodeLayout, command: list[str]) -> None:
    """Run the storage tool ``command`` for ``node``.

    Raises:
        BrokerError: it failed (its output is in the message).
    """
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise BrokerError(
            f"formatting KRaft storage of node {node.node_id} in {node.data_dir} failed "
            f"(exit {done.returncode}):\n{(done.stdout + done.stderr).strip()}"
        )


def spawn(node: NodeLayout, command: list[str]) -> int:
    """Start ``node``'s broker JVM in its own process group; record and return its pid."""
    with (node.log_dir / "stdout.log").open("ab") as console:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: signals reach the JVM only
            close_fds=True,
        )
    CHILDREN[process.pid] = process
    node.pid_path.write_text(f"{process.pid}\n")
    _log.info("started Kafka node %d (pid %d) on %s", node.node_id, process.pid, node.host)
    return process.pid


def broker_main(node: NodeLayout) -> list[str]:
    """The main class and arguments of ``node``'s broker."""
    return [_MAIN_CLASS, str(node.properties_path)]


def exit_status(node: NodeLayout) -> str:
    """How ``node``'s JVM ended, when this process spawned it."""
    pid = read_pid(node.pid_path)
    process = CHILDREN.get(pid) if pid is not None else None
    if process is None or process.poll() is None:
        return "exit status unknown"
    code = process.returncode
    return f"killed by signal {-code}" if code < 0 else f"exit code {code}"
