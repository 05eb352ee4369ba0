"""What a local Kafka cluster reports about itself: each node's process and the metadata."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["ClusterStatus", "NodeStatus"]


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """What is known about one node of a local cluster right now.

    Attributes:
        node_id: the node (and broker) id.
        pid: the JVM's pid from the pid file, or None.
        alive: the pid is a running Kafka JVM of this node.
        bootstrap_server: ``host:port`` of its client listener.
        log_path: its ``server.log``.
    """

    node_id: int
    pid: int | None
    alive: bool
    bootstrap_server: str
    log_path: Path


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    """The state of a local cluster: its nodes and whether it answers metadata requests.

    Attributes:
        bootstrap_servers: the comma-separated client listeners of every node.
        nodes: one :class:`NodeStatus` per node.
        brokers_in_metadata: the broker ids a metadata request returned (empty if none answered).
    """

    bootstrap_servers: str
    nodes: tuple[NodeStatus, ...]
    brokers_in_metadata: tuple[int, ...]

    @property
    def running(self) -> bool:
        """Every node is alive and every broker is in the cluster's metadata."""
        return all(node.alive for node in self.nodes) and len(self.brokers_in_metadata) == len(
            self.nodes
        )
