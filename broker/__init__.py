"""A real Apache Kafka broker for spanstream's demo and tests, found or started on demand.

:func:`obtain_broker` returns a :class:`Broker` in this order: ``$KAFKA_BOOTSTRAP_SERVERS``;
a Docker engine (``docker-compose.yml``'s ``apache/kafka`` service, or testcontainers' KRaft
container in tests); else Apache Kafka ``kafka_2.13`` resolved from Maven Central and run by
:class:`LocalKafka` as a local KRaft process (or a 3-node cluster) under the state folder.

Example:
    >>> broker = obtain_broker()          # doctest: +SKIP
    >>> broker.bootstrap_servers          # doctest: +SKIP
    '127.0.0.1:39092'
    >>> broker.stop()                     # doctest: +SKIP
"""

from spanstream.broker._cluster_status import ClusterStatus, NodeStatus
from spanstream.broker._docker import COMPOSE_BOOTSTRAP_SERVERS, docker_answers
from spanstream.broker._jvm import new_cluster_id
from spanstream.broker._local import DEFAULT_CLUSTER_BASE_PORT, DEFAULT_SINGLE_NODE_PORT, LocalKafka
from spanstream.broker._maven import KAFKA_VERSION, MAVEN_REPO_ENV, resolve_kafka_libs
from spanstream.broker._obtain import (
    BOOTSTRAP_ENV,
    BROKER_CHOICE_ENV,
    Broker,
    BrokerSource,
    choose_broker_source,
    obtain_broker,
)
from spanstream.broker._paths import STATE_DIR_ENV, default_state_dir
from spanstream.broker._process import port_is_free
from spanstream.broker._properties import (
    PORTS_PER_NODE,
    Listener,
    NodeLayout,
    node_layouts,
    render_server_properties,
    server_properties,
)
from spanstream.broker._security import (
    SASL_SSL_LISTENER,
    SCRAM_MECHANISM,
    ScramUser,
    SecureLocalKafka,
    TlsMaterial,
    find_free_base_port,
    generate_tls_material,
    sasl_ssl_properties,
)

__all__ = [
    "BOOTSTRAP_ENV",
    "BROKER_CHOICE_ENV",
    "COMPOSE_BOOTSTRAP_SERVERS",
    "DEFAULT_CLUSTER_BASE_PORT",
    "DEFAULT_SINGLE_NODE_PORT",
    "KAFKA_VERSION",
    "MAVEN_REPO_ENV",
    "PORTS_PER_NODE",
    "SASL_SSL_LISTENER",
    "SCRAM_MECHANISM",
    "STATE_DIR_ENV",
    "Broker",
    "BrokerSource",
    "ClusterStatus",
    "Listener",
    "LocalKafka",
    "NodeLayout",
    "NodeStatus",
    "ScramUser",
    "SecureLocalKafka",
    "TlsMaterial",
    "choose_broker_source",
    "default_state_dir",
    "docker_answers",
    "find_free_base_port",
    "generate_tls_material",
    "new_cluster_id",
    "node_layouts",
    "obtain_broker",
    "port_is_free",
    "render_server_properties",
    "resolve_kafka_libs",
    "sasl_ssl_properties",
    "server_properties",
]
