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

The public face is what a user calls: :func:`obtain_broker` and the :class:`Broker` it returns,
:class:`LocalKafka` (a local node or 3-node KRaft cluster to start, stop, kill and restart; its
:meth:`~LocalKafka.status` is a :class:`ClusterStatus`), :class:`SecureLocalKafka` (the same with
a ``SASL_SSL`` listener), :func:`default_state_dir`, and the constants :data:`KAFKA_VERSION` and
:data:`BOOTSTRAP_ENV`. Everything else (ports, ``server.properties``, Maven resolution, Docker
detection) is internal: tests that need it import the private modules.
"""

from spanstream.broker._cluster_status import ClusterStatus
from spanstream.broker._local import LocalKafka
from spanstream.broker._maven import KAFKA_VERSION
from spanstream.broker._obtain import BOOTSTRAP_ENV, Broker, obtain_broker
from spanstream.broker._paths import default_state_dir
from spanstream.broker._security import SecureLocalKafka

__all__ = [
    "BOOTSTRAP_ENV",
    "KAFKA_VERSION",
    "Broker",
    "ClusterStatus",
    "LocalKafka",
    "SecureLocalKafka",
    "default_state_dir",
    "obtain_broker",
]
