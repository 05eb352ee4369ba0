"""Apache Kafka from Maven Central, run as local JVM processes: one node or a KRaft cluster."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from confluent_kafka.admin import AdminClient

from spanstream.broker._cluster_status import ClusterStatus, NodeStatus
from spanstream.broker._jvm import (
    CHILDREN,
    admin_client,
    broker_main,
    cluster_metadata,
    exit_status,
    format_storage,
    jvm_command,
    log4j_config,
    log_tail,
    new_cluster_id,
    spawn,
    storage_tool_main,
)
from spanstream.broker._maven import KAFKA_VERSION, resolve_kafka_libs
from spanstream.broker._paths import default_state_dir
from spanstream.broker._process import (
    file_lock,
    pid_alive,
    port_accepts,
    port_is_free,
    read_pid,
    signal_group,
    wait_for_exit,
)
from spanstream.broker._properties import (
    Listener,
    NodeLayout,
    node_layouts,
    render_server_properties,
    server_properties,
)
from spanstream.schemas import BrokerError, SpanValueError

if TYPE_CHECKING:
    # confluent-kafka returns this type from list_topics but does not re-export its name.
    from confluent_kafka.admin._metadata import ClusterMetadata

__all__ = ["DEFAULT_CLUSTER_BASE_PORT", "DEFAULT_SINGLE_NODE_PORT", "LocalKafka"]

DEFAULT_SINGLE_NODE_PORT = 39092
"""The single local broker's client port (its controller listens on the next one)."""

DEFAULT_CLUSTER_BASE_PORT = 39192
"""The first client port of a multi-node local cluster (node ``i`` adds ``10*(i-1)``)."""

_log = logging.getLogger("spanstream.broker")


class LocalKafka:
    """Apache Kafka ``kafka_2.13`` run from Maven Central jars as local KRaft processes.

    One node by default; ``nodes=3`` gives a cluster of three combined broker+controller
    processes on loopback with a three-voter quorum, one shared cluster id, distinct ports and
    a folder per node (``server.properties``, ``data/``, ``logs/server.log``, ``kafka.pid``)
    under ``state_dir/<name>/``. An instance is only a handle: the processes outlive it, and a
    new handle on the same folder finds them again (``spanstream broker status`` does this).

    Example:
        >>> kafka = LocalKafka(nodes=3)              # doctest: +SKIP
        >>> kafka.start()                            # doctest: +SKIP
        >>> kafka.kill_node(kafka.leader_of("t", 0).node_id)   # doctest: +SKIP
        >>> kafka.start_node(2)                      # doctest: +SKIP
        >>> kafka.stop()                             # doctest: +SKIP

    Args:
        state_dir: the state folder; default :func:`default_state_dir`.
        nodes: how many nodes (each one broker and controller voter).
        base_port: node 1's client port; node ``i`` uses ``base_port + 10*(i-1)`` and up.
            Default: 39092 for one node, 39192 for a cluster, or the ports the running cluster
            of this folder settled on. When the default ports are taken by another program,
            start() moves on in steps of 1000 to a free block (remembered until a full stop);
            an explicit busy ``base_port`` is an error.
        name: the cluster's folder under ``state_dir``; default ``kafka`` or ``kafka-<n>nodes``.
        heap_mb: each JVM's maximum heap.
        host: the loopback address to bind.
        kafka_version: the ``org.apache.kafka:kafka_2.13`` release.
        extra_properties: broker properties added to (or overriding) every node's defaults,
            e.g. TLS or SASL settings for an extra listener.
        extra_listeners: additional client listeners (e.g. SASL_SSL) on every node.
        extra_jvm_args: added to every JVM's command line after the defaults (``-Xmx``, serial
            GC, C1-only JIT), so they can override them (``-XX:TieredStopAtLevel=4``).
        maven_repo: a Maven local repository for resolving the jars (default ``~/.m2``).
    """

    def __init__(
        self,
        state_dir: Path | None = None,
        *,
        nodes: int = 1,
        base_port: int | None = None,
        name: str | None = None,
        heap_mb: int = 512,
        host: str = "127.0.0.1",
        kafka_version: str = KAFKA_VERSION,
        extra_properties: Mapping[str, str] = MappingProxyType({}),
        extra_listeners: Sequence[Listener] = (),
        extra_jvm_args: Sequence[str] = (),
        maven_repo: Path | None = None,
    ) -> None:
        self.state_dir = (state_dir or default_state_dir()).resolve()
        self.name = name or ("kafka" if nodes == 1 else f"kafka-{nodes}nodes")
        self.cluster_dir = self.state_dir / self.name
        self.heap_mb = heap_mb
        self.host = host
        self.kafka_version = kafka_version
        self.extra_properties = MappingProxyType(dict(extra_properties))
        self.extra_listeners = tuple(extra_listeners)
        self.extra_jvm_args = tuple(extra_jvm_args)
        self.maven_repo = maven_repo
        self._node_count = nodes
        self._explicit_port = base_port is not None
        remembered = read_pid(self.cluster_dir / "base_port")  # an int file, like a pid file
        default = DEFAULT_SINGLE_NODE_PORT if nodes == 1 else DEFAULT_CLUSTER_BASE_PORT
        self._lay_out(base_port or remembered or default)

    def _lay_out(self, base_port: int) -> None:
        self.base_port = base_port
        self.nodes: tuple[NodeLayout, ...] = node_layouts(
            nodes=self._node_count,
            base_port=base_port,
            cluster_dir=self.cluster_dir,
            host=self.host,
            extra_listeners=self.extra_listeners,
        )

    # -- addresses ---------------------------------------------------------------------------

    @property
    def bootstrap_servers(self) -> str:
        """The comma-separated PLAINTEXT client listeners of every node."""
        return ",".join(node.bootstrap_server for node in self.nodes)

    def bootstrap_servers_for(self, listener: str) -> str:
        """The comma-separated addresses of every node's extra listener named ``listener``.

        Raises:
            SpanValueError: no extra listener has that name (the message lists those there are).
        """
        names = [extra.name for extra in self.extra_listeners]
        if listener not in names:
            raise SpanValueError(f"{self.name} has no listener {listener!r}; there are {names}")
        return ",".join(f"{node.host}:{node.extra_ports[listener]}" for node in self.nodes)

    def node(self, node_id: int) -> NodeLayout:
        """Return the node with this id (1-based; the node id is also the broker id)."""
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise BrokerError(f"{self.name} has no node {node_id} (nodes are 1..{len(self.nodes)})")

    def node_for_broker_id(self, broker_id: int) -> NodeLayout:
        """Return the node that runs broker ``broker_id`` (as reported in Kafka's metadata)."""
        return self.node(broker_id)

    # -- state -------------------------------------------------------------------------------

    def node_pid(self, node_id: int) -> int | None:
        """Return the pid of node ``node_id``'s JVM when it is running, else None."""
        node = self.node(node_id)
        pid = read_pid(node.pid_path)
        if pid is None:
            return None
        child = CHILDREN.get(pid)
        if child is not None:  # spawned by this process: its Popen knows best
            return pid if child.poll() is None else None
        return pid if pid_alive(pid, cmdline_marker=str(node.properties_path)) else None

    def brokers_in_metadata(self, *, timeout_s: float = 2.0) -> tuple[int, ...]:
        """Return the broker ids a metadata request lists (empty when nothing answers)."""
        if not any(port_accepts(n.host, n.broker_port) for n in self.nodes):
            return ()
        metadata = cluster_metadata(admin_client(self.bootstrap_servers), timeout_s=timeout_s)
        return self._our_brokers(metadata)

    def _our_brokers(self, metadata: ClusterMetadata | None) -> tuple[int, ...]:
        """The broker ids in ``metadata`` if it comes from this cluster (by its cluster id).

        Another program (a broker of another state folder) may answer on these ports.
        """
        if metadata is None:
            return ()
        path = self.cluster_dir / "cluster.id"
        ours = path.read_text().strip() if path.is_file() else None
        if ours is not None and metadata.cluster_id != ours:
            return ()
        return tuple(sorted(metadata.brokers))

    def status(self) -> ClusterStatus:
        """Return the state of every node and the brokers the cluster reports."""
        nodes = tuple(
            NodeStatus(
                node_id=node.node_id,
                pid=read_pid(node.pid_path),
                alive=self.node_pid(node.node_id) is not None,
                bootstrap_server=node.bootstrap_server,
                log_path=node.log_dir / "server.log",
            )
            for node in self.nodes
        )
        answering = self.brokers_in_metadata() if any(n.alive for n in nodes) else ()
        return ClusterStatus(
            bootstrap_servers=self.bootstrap_servers, nodes=nodes, brokers_in_metadata=answering
        )

    def is_running(self) -> bool:
        """Every node's JVM is alive and every broker answers in the metadata."""
        return self.status().running

    def log_tail(self, node_id: int, *, lines: int = 40) -> str:
        """Return the last lines of a node's ``server.log`` and of its JVM's console output."""
        node = self.node(node_id)
        parts = []
        for path in (node.log_dir / "server.log", node.log_dir / "stdout.log"):
            tail = log_tail(path, lines=lines)
            if tail:
                parts.append(f"--- {path} ---\n{tail}")
        return "\n".join(parts) or f"(no log under {node.log_dir})"

    # -- starting ----------------------------------------------------------------------------

    def start(self, *, timeout_s: float = 120.0) -> bool:
        """Start every node that is not running and wait until the whole cluster answers.

        Nodes already running are reused, so calling it again is cheap. The first call resolves
        the jars with Maven (cached afterwards), creates the cluster id and formats each node's
        KRaft storage.

        Returns:
            True when this call started at least one JVM, False when all were running.

        Raises:
            BrokerError: Java or Maven is missing, a port is taken, or the cluster did not come
                up in ``timeout_s``; the message carries the last lines of the broker logs.
        """
        with file_lock(self.cluster_dir / ".lock"):
            to_start = [n for n in self.nodes if self.node_pid(n.node_id) is None]
            if not to_start:
                self._wait_until_ready(timeout_s=timeout_s, started=())
                return False
            libs = resolve_kafka_libs(
                self.state_dir, kafka_version=self.kafka_version, maven_repo=self.maven_repo
            )
            cluster_id = self._cluster_id()
            whole = len(to_start) == len(self.nodes)
            movable = whole and not self._explicit_port
            for attempt in range(3):
                if whole:
                    self._settle_ports()
                    to_start = list(self.nodes)
                for node in to_start:
                    self._prepare_node(node, libs=libs, cluster_id=cluster_id)
                # Checked right before spawning: a broker of another state folder may have
                # taken the ports meanwhile (they fall back to the same blocks).
                busy = [
                    port
                    for node in to_start
                    for port in node.all_ports()
                    if not port_is_free(node.host, port)
                ]
                if busy:
                    if movable and attempt < 2:
                        continue
                    raise BrokerError(
                        f"cannot start Kafka nodes of {self.cluster_dir}: port(s) {busy} on "
                        f"{self.host} are used by another program"
                    )
                started = [self._spawn(node, libs=libs) for node in to_start]
                try:
                    self._wait_until_ready(timeout_s=timeout_s, started=to_start)
                except BrokerError:
                    for pid in started:
                        signal_group(pid, signal.SIGKILL)
                        wait_for_exit(pid, timeout_s=10)
                        CHILDREN.pop(pid, None)
                    # Lost a race for the ports with another starting broker: move on.
                    if movable and attempt < 2 and self._lost_ports(to_start):
                        _log.warning("%s lost its ports to another broker; retrying", self.name)
                        continue
                    raise
                return True
            raise AssertionError("unreachable: every attempt returns or raises")

    def _lost_ports(self, nodes: Sequence[NodeLayout]) -> bool:
        """Tell whether a node failed because another program bound its port first."""
        return any(
            "Address already in use" in path.read_text(errors="replace")
            for node in nodes
            for path in (node.log_dir / "server.log", node.log_dir / "stdout.log")
            if path.is_file()
        )

    def start_node(self, node_id: int, *, timeout_s: float = 120.0) -> None:
        """Start one (stopped or killed) node again and wait until it is back in the metadata."""
        node = self.node(node_id)
        with file_lock(self.cluster_dir / ".lock"):
            if self.node_pid(node_id) is not None:
                return
            libs = resolve_kafka_libs(
                self.state_dir, kafka_version=self.kafka_version, maven_repo=self.maven_repo
            )
            self._prepare_node(node, libs=libs, cluster_id=self._cluster_id())
            self._spawn(node, libs=libs)
            self._wait_until_ready(timeout_s=timeout_s, started=[node])

    def _settle_ports(self) -> None:
        """Move to a free block of ports when the default one is taken by another program."""
        port_file = self.cluster_dir / "base_port"
        base = self.base_port
        for _ in range(50):
            if all(
                port_is_free(self.host, port)
                for node in node_layouts(
                    nodes=self._node_count,
                    base_port=base,
                    cluster_dir=self.cluster_dir,
                    host=self.host,
                    extra_listeners=self.extra_listeners,
                )
                for port in node.all_ports()
            ):
                break
            if self._explicit_port:
                return  # the per-node check in start() names the busy port
            base += 1000  # clear of the other default blocks (39092, 39192...)
        if base != self.base_port:
            _log.warning("ports from %d are taken; %s uses %d", self.base_port, self.name, base)
            self._lay_out(base)
        self.cluster_dir.mkdir(parents=True, exist_ok=True)
        port_file.write_text(f"{base}\n")

    def _cluster_id(self) -> str:
        path = self.cluster_dir / "cluster.id"
        if path.is_file():
            return path.read_text().strip()
        self.cluster_dir.mkdir(parents=True, exist_ok=True)
        cluster_id = new_cluster_id()
        path.write_text(cluster_id + "\n")
        return cluster_id

    def _jvm_command(self, node: NodeLayout, *, libs: Path, main: Sequence[str]) -> list[str]:
        return jvm_command(
            node,
            libs=libs,
            main=main,
            heap_mb=self.heap_mb,
            extra_jvm_args=self.extra_jvm_args,
            log4j=log4j_config(self.cluster_dir),
        )

    def _prepare_node(self, node: NodeLayout, *, libs: Path, cluster_id: str) -> None:
        node.log_dir.mkdir(parents=True, exist_ok=True)
        properties = server_properties(
            node,
            voters=self.nodes,
            extra_properties=self.extra_properties,
        )
        node.properties_path.write_text(render_server_properties(properties))
        if (node.data_dir / "meta.properties").is_file():
            return
        format_storage(
            node, self._jvm_command(node, libs=libs, main=storage_tool_main(node, cluster_id))
        )

    def _spawn(self, node: NodeLayout, *, libs: Path) -> int:
        return spawn(node, self._jvm_command(node, libs=libs, main=broker_main(node)))

    def _wait_until_ready(self, *, timeout_s: float, started: Iterable[NodeLayout]) -> None:
        """Wait until every node is alive and listed as a broker in the cluster's metadata."""
        started = tuple(started)
        deadline = time.monotonic() + timeout_s
        expected = {node.node_id for node in self.nodes}
        admin: AdminClient | None = None
        seen: tuple[int, ...] = ()
        while time.monotonic() < deadline:
            dead = [n for n in started if self.node_pid(n.node_id) is None]
            if dead:
                raise BrokerError(
                    f"Kafka node {dead[0].node_id} of {self.cluster_dir} exited while starting "
                    f"({exit_status(dead[0])}); its log ends with:\n"
                    f"{self.log_tail(dead[0].node_id)}"
                )
            if admin is None and any(port_accepts(n.host, n.broker_port) for n in self.nodes):
                admin = admin_client(self.bootstrap_servers)
            if admin is not None:
                seen = self._our_brokers(cluster_metadata(admin, timeout_s=2.0))
                if expected.issubset(seen):
                    return
            time.sleep(0.2)
        culprit = started[0] if started else self.nodes[0]
        raise BrokerError(
            f"Kafka at {self.bootstrap_servers} did not answer with brokers {sorted(expected)} "
            f"within {timeout_s:.0f} s (it listed {list(seen)}); node {culprit.node_id}'s log "
            f"ends with:\n{self.log_tail(culprit.node_id)}"
        )

    # -- stopping ----------------------------------------------------------------------------

    def stop(self, *, timeout_s: float = 30.0) -> None:
        """Stop every node: SIGTERM (a clean shutdown) to all at once, SIGKILL after the timeout.

        Stopping a cluster that is not running does nothing.
        """
        with file_lock(self.cluster_dir / ".lock"):
            self._terminate(list(self.nodes), timeout_s=timeout_s)
            self._forget_run()

    def stop_node(self, node_id: int, *, timeout_s: float = 30.0) -> None:
        """Stop one node cleanly (SIGTERM, then SIGKILL after the timeout)."""
        with file_lock(self.cluster_dir / ".lock"):
            self._terminate([self.node(node_id)], timeout_s=timeout_s)

    def kill_node(self, node_id: int) -> None:
        """Kill one node's JVM at once (``kill -9``), as a crash would; wait until it is gone."""
        node = self.node(node_id)
        pid = self.node_pid(node_id)
        if pid is None:
            return
        signal_group(pid, signal.SIGKILL)
        wait_for_exit(pid, timeout_s=30)
        CHILDREN.pop(pid, None)
        node.pid_path.unlink(missing_ok=True)

    def _terminate(self, nodes: Sequence[NodeLayout], *, timeout_s: float) -> None:
        running = [(n, pid) for n in nodes if (pid := self.node_pid(n.node_id)) is not None]
        for _, pid in running:
            signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for node, pid in running:
            if not wait_for_exit(pid, timeout_s=max(0.0, deadline - time.monotonic())):
                _log.warning(
                    "Kafka node %d did not stop in %.0f s; killing it", node.node_id, timeout_s
                )
                signal_group(pid, signal.SIGKILL)
                wait_for_exit(pid, timeout_s=30)
            CHILDREN.pop(pid, None)
        for node in nodes:
            if self.node_pid(node.node_id) is None:
                node.pid_path.unlink(missing_ok=True)

    def _forget_run(self) -> None:
        """After a full stop: no owner, and the next start tries the default ports again."""
        (self.cluster_dir / "owner.pid").unlink(missing_ok=True)
        if not self._explicit_port:
            (self.cluster_dir / "base_port").unlink(missing_ok=True)

    def restart_all(self, *, timeout_s: float = 120.0) -> None:
        """Restart the nodes one after another, as a rolling upgrade would.

        Each node is stopped cleanly and started again; before the next one goes down, every
        partition is fully replicated again.
        """
        for node in self.nodes:
            self.stop_node(node.node_id)
            self.start_node(node.node_id, timeout_s=timeout_s)
            self.wait_until_fully_replicated(timeout_s=timeout_s)

    def remove_data(self) -> None:
        """Delete the cluster's folder (data, logs, cluster id); the cluster must be stopped."""
        if any(self.node_pid(node.node_id) is not None for node in self.nodes):
            raise BrokerError(f"{self.cluster_dir} is still running; stop it first")
        shutil.rmtree(self.cluster_dir, ignore_errors=True)

    # -- partitions --------------------------------------------------------------------------

    def leader_of(
        self,
        topic: str,
        partition: int,
        *,
        other_than: int | None = None,
        timeout_s: float = 30.0,
    ) -> NodeLayout:
        """Return the node that leads ``topic``'s ``partition``, waiting for an election.

        With ``other_than`` (a node id), wait until leadership has moved off that node, as it
        does once the controller fences a killed node (``broker.session.timeout.ms``, 4 s).
        """
        deadline = time.monotonic() + timeout_s
        admin = admin_client(self.bootstrap_servers)
        while True:
            metadata = cluster_metadata(admin, timeout_s=2.0)
            if metadata is not None and topic in metadata.topics:
                partitions = metadata.topics[topic].partitions
                leader = partitions[partition].leader if partition in partitions else -1
                if leader >= 0 and leader != other_than:
                    return self.node_for_broker_id(leader)
            if time.monotonic() >= deadline:
                raise BrokerError(
                    f"{topic}[{partition}] has no leader (other than node {other_than}) "
                    f"after {timeout_s:.0f} s"
                )
            time.sleep(0.2)

    def wait_until_fully_replicated(self, *, timeout_s: float = 60.0) -> None:
        """Wait until every partition's in-sync replicas are all of its replicas."""
        deadline = time.monotonic() + timeout_s
        admin = admin_client(self.bootstrap_servers)
        lagging: list[str] = []
        while time.monotonic() < deadline:
            metadata = cluster_metadata(admin, timeout_s=2.0)
            if metadata is not None:
                lagging = [
                    f"{name}[{pid}]"
                    for name, topic in metadata.topics.items()
                    for pid, part in topic.partitions.items()
                    if set(part.isrs) != set(part.replicas) or part.leader < 0
                ]
                if not lagging:
                    return
            time.sleep(0.25)
        raise BrokerError(
            f"partitions not fully replicated after {timeout_s:.0f} s: {lagging[:10]}"
        )

    # -- leases ------------------------------------------------------------------------------

    # Ownership: a cluster started through obtain_broker (a test session, the demo) records
    # its starter in owner.pid and is stopped by the last user to leave; one started by
    # `spanstream broker start` has no owner and keeps running until `spanstream broker stop`.
    # owner.pid holding 0 means "handed over: whoever releases last stops it".

    def claim_ownership(self) -> None:
        """Record this process as the one that started the cluster and will stop it."""
        (self.cluster_dir / "owner.pid").write_text(f"{os.getpid()}\n")

    def _owner_gone(self) -> bool:
        owner = read_pid(self.cluster_dir / "owner.pid")
        if owner is None or owner == os.getpid():
            return False
        return owner == 0 or not pid_alive(owner)

    def adopt_if_orphaned(self) -> bool:
        """Take over a running cluster whose owner has died or handed it over; return whether.

        A cluster started by ``spanstream broker start`` has no owner and is never adopted.
        """
        with file_lock(self.cluster_dir / ".lock"):
            if not self._owner_gone():
                return False
            self.claim_ownership()
            return True

    def acquire_lease(self) -> None:
        """Record that this process uses the cluster, so another user's release leaves it up."""
        with file_lock(self.cluster_dir / ".lock"):
            leases = self.cluster_dir / "leases"
            leases.mkdir(parents=True, exist_ok=True)
            (leases / str(os.getpid())).touch()

    def release_lease(self, *, stop_if_last: bool) -> bool:
        """Drop this process's lease; stop the cluster if it is ours and nobody else uses it.

        It is ours with ``stop_if_last`` (this process started it), or when its owner has
        died or handed it over. An owner leaving while other live processes hold leases hands
        it over, so the last of them stops it. Returns whether the cluster was stopped.

        Releasing and stopping happen under the same lock as :meth:`acquire_lease`, so a second
        test session that has just taken a lease never sees its broker stopped under it.
        """
        with file_lock(self.cluster_dir / ".lock"):
            leases = self.cluster_dir / "leases"
            (leases / str(os.getpid())).unlink(missing_ok=True)
            others = False
            for lease in leases.glob("*") if leases.is_dir() else ():
                if lease.name.isdigit() and pid_alive(int(lease.name)):
                    others = True
                else:
                    with contextlib.suppress(OSError):
                        lease.unlink()
            if not (stop_if_last or self._owner_gone()):
                return False
            if others:
                (self.cluster_dir / "owner.pid").write_text("0\n")
                return False
            self._terminate(list(self.nodes), timeout_s=30.0)
            self._forget_run()
            return True

    def __repr__(self) -> str:
        return f"LocalKafka({self.cluster_dir}, nodes={len(self.nodes)}, {self.bootstrap_servers})"
