"""The layout of a local KRaft cluster (ports, folders) and each node's ``server.properties``.

Pure functions over values: nothing here touches the network or starts a process, so the whole
configuration is unit-tested without a broker.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from spanstream.schemas import ConfigError

__all__ = [
    "BROKER_LISTENER",
    "CONTROLLER_LISTENER",
    "PORTS_PER_NODE",
    "Listener",
    "NodeLayout",
    "node_layouts",
    "render_server_properties",
    "server_properties",
]

BROKER_LISTENER = "PLAINTEXT"
"""The listener clients and the brokers themselves use (plain text on loopback)."""

CONTROLLER_LISTENER = "CONTROLLER"
"""The listener of the KRaft controller quorum."""

PORTS_PER_NODE = 10
"""Node ``i`` (counting from 0) owns ports ``base_port + 10*i`` to ``base_port + 10*i + 9``:
the broker listener, the controller listener, then the extra listeners in order."""

_SECURITY_PROTOCOLS = frozenset({"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"})
_LISTENER_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Listener:
    """An extra client listener every node opens, e.g. ``Listener("SASL_SSL", "SASL_SSL")``.

    Its TLS or SASL settings go into the cluster's extra properties under
    ``listener.name.<name lower-cased>.*``; this class only reserves the port and names the
    security protocol.
    """

    name: str
    security_protocol: str

    def __post_init__(self) -> None:
        if not _LISTENER_NAME.match(self.name) or self.name in {
            BROKER_LISTENER,
            CONTROLLER_LISTENER,
        }:
            raise ConfigError(
                "listener.name",
                self.name,
                "an upper-case name other than PLAINTEXT and CONTROLLER",
            )
        if self.security_protocol not in _SECURITY_PROTOCOLS:
            raise ConfigError(
                f"listener.{self.name}.security.protocol",
                self.security_protocol,
                f"one of {sorted(_SECURITY_PROTOCOLS)}",
            )


@dataclass(frozen=True, slots=True)
class NodeLayout:
    """Where one node of a local cluster lives: its id, ports and folders.

    Attributes:
        node_id: the KRaft node id, which is also the broker id (1, 2, 3, ...).
        host: the loopback address every listener binds to.
        broker_port: the PLAINTEXT client listener.
        controller_port: the KRaft controller listener.
        extra_listeners: the extra client listeners, in port order.
        extra_ports: listener name -> port, for the extra listeners.
        node_dir: the node's folder (properties, logs, pid file, data).
    """

    node_id: int
    host: str
    broker_port: int
    controller_port: int
    node_dir: Path
    extra_listeners: tuple[Listener, ...] = ()
    extra_ports: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def data_dir(self) -> Path:
        """The KRaft metadata and log segments folder (``log.dirs``)."""
        return self.node_dir / "data"

    @property
    def log_dir(self) -> Path:
        """The folder of ``server.log`` and the JVM's ``stdout.log``."""
        return self.node_dir / "logs"

    @property
    def properties_path(self) -> Path:
        """The node's rendered ``server.properties``."""
        return self.node_dir / "server.properties"

    @property
    def pid_path(self) -> Path:
        """The pid file of the node's JVM."""
        return self.node_dir / "kafka.pid"

    @property
    def bootstrap_server(self) -> str:
        """``host:port`` of the node's PLAINTEXT listener."""
        return f"{self.host}:{self.broker_port}"

    def all_ports(self) -> tuple[int, ...]:
        """Every port the node listens on."""
        return (self.broker_port, self.controller_port, *self.extra_ports.values())


def node_layouts(
    *,
    nodes: int,
    base_port: int,
    cluster_dir: Path,
    host: str = "127.0.0.1",
    extra_listeners: Sequence[Listener] = (),
) -> tuple[NodeLayout, ...]:
    """Lay out ``nodes`` nodes on ``host``, with ports counted up from ``base_port``.

    Example:
        >>> [n.broker_port for n in node_layouts(nodes=3, base_port=39192, cluster_dir=Path("c"))]
        [39192, 39202, 39212]
    """
    if nodes < 1:
        raise ConfigError("nodes", nodes, "at least 1")
    if len(extra_listeners) > PORTS_PER_NODE - 2:
        raise ConfigError(
            "extra_listeners", len(extra_listeners), f"at most {PORTS_PER_NODE - 2} listeners"
        )
    if len({listener.name for listener in extra_listeners}) != len(extra_listeners):
        raise ConfigError(
            "extra_listeners", [x.name for x in extra_listeners], "distinct listener names"
        )
    last_port = base_port + PORTS_PER_NODE * nodes - 1
    if base_port < 1024 or last_port > 65535:
        raise ConfigError(
            "base_port", base_port, f"a port from 1024 to {65536 - PORTS_PER_NODE * nodes}"
        )
    layouts = []
    for index in range(nodes):
        first = base_port + PORTS_PER_NODE * index
        extra = {
            listener.name: first + 2 + offset for offset, listener in enumerate(extra_listeners)
        }
        layouts.append(
            NodeLayout(
                node_id=index + 1,
                host=host,
                broker_port=first,
                controller_port=first + 1,
                node_dir=cluster_dir / f"node-{index + 1}",
                extra_listeners=tuple(extra_listeners),
                extra_ports=MappingProxyType(extra),
            )
        )
    return tuple(layouts)


def server_properties(
    node: NodeLayout,
    *,
    voters: Sequence[NodeLayout],
    extra_properties: Mapping[str, str] = MappingProxyType({}),
) -> dict[str, str]:
    """Return one node's broker configuration: a combined broker+controller of a static quorum.

    ``voters`` is every node of the cluster (each one is a controller voter). The defaults are
    tuned for a fast, light cluster on one machine; ``extra_properties`` override any of them.
    """
    size = len(voters)
    replication = min(3, size)
    min_isr = min(2, replication)
    protocols = {
        BROKER_LISTENER: "PLAINTEXT",
        CONTROLLER_LISTENER: "PLAINTEXT",
        **{listener.name: listener.security_protocol for listener in node.extra_listeners},
    }
    client_listeners = [f"{BROKER_LISTENER}://{node.host}:{node.broker_port}"] + [
        f"{name}://{node.host}:{port}" for name, port in node.extra_ports.items()
    ]
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": ",".join(
            f"{voter.node_id}@{voter.host}:{voter.controller_port}" for voter in voters
        ),
        "listeners": ",".join(
            [*client_listeners, f"{CONTROLLER_LISTENER}://{node.host}:{node.controller_port}"]
        ),
        "advertised.listeners": ",".join(client_listeners),
        "listener.security.protocol.map": ",".join(f"{k}:{v}" for k, v in protocols.items()),
        "controller.listener.names": CONTROLLER_LISTENER,
        "inter.broker.listener.name": BROKER_LISTENER,
        "log.dirs": str(node.data_dir),
        "num.partitions": "3",
        "default.replication.factor": str(replication),
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": str(replication),
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": str(replication),
        "transaction.state.log.min.isr": str(min_isr),
        "transaction.state.log.num.partitions": "10",
        "share.coordinator.state.topic.replication.factor": str(replication),
        "share.coordinator.state.topic.min.isr": str(min_isr),
        "group.initial.rebalance.delay.ms": "0",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "auto.create.topics.enable": "true",
    }
    if size > 1:
        # A killed node is fenced (and its partitions get new leaders) after 4 s, not 9 s.
        props["broker.heartbeat.interval.ms"] = "500"
        props["broker.session.timeout.ms"] = "4000"
    props.update(extra_properties)
    return props


def render_server_properties(properties: Mapping[str, str]) -> str:
    r"""Render a configuration in Java properties syntax, one ``key=value`` a line.

    Example:
        >>> render_server_properties({"node.id": "1", "log.dirs": "C:\\k"})
        'node.id=1\nlog.dirs=C:\\\\k\n'
    """
    lines = []
    for key, value in properties.items():
        if not key or any(ch in key for ch in " =:\n#!"):
            raise ConfigError("server.properties", key, "a property name without = : # ! or space")
        escaped = value.replace("\\", "\\\\").replace("\n", "\\n")
        lines.append(f"{key}={escaped}\n")
    return "".join(lines)
