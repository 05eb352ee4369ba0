"""Session fixtures: a real Kafka broker (obtained like the demo does), an admin client, and a
fresh topic per test. Tests under ``tests/integration/`` are marked ``integration``.

A broker is obtained in this order: ``$KAFKA_BOOTSTRAP_SERVERS``; a Docker engine
(testcontainers' Kafka container in KRaft mode); else Apache Kafka from Maven Central, run
locally under the state folder. The session stops only what it started, and a local broker that
another live session also uses is left running for it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import ModuleType

import pytest
from _topics import create_topic, delete_topics
from confluent_kafka.admin import AdminClient

from spanstream.broker import Broker, LocalKafka, default_state_dir, obtain_broker

_INTEGRATION_DIR = Path(__file__).parent / "integration"

# The one place the tests reach the benchmark scripts and their helpers: both folders go on the
# path (after everything else, so they shadow nothing), as a script's own folder is when it
# runs. tests/integration/_helpers.py reads topics with benchmarks/reliability/_chaos.py's loop.
_BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
for _folder in (_BENCHMARKS, _BENCHMARKS / "reliability"):
    if str(_folder) not in sys.path:
        sys.path.append(str(_folder))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/integration/ as ``integration``."""
    for item in items:
        if _INTEGRATION_DIR in item.path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[Broker]:
    """The session's Kafka broker handle (see the module docstring for how it is obtained)."""
    broker = obtain_broker(use_testcontainers=True)
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: Broker) -> str:
    """``bootstrap.servers`` of the session's Kafka broker."""
    return kafka_broker.bootstrap_servers


@pytest.fixture(scope="session")
def kafka_admin(kafka_bootstrap: str) -> AdminClient:
    """An AdminClient on the session's broker."""
    return AdminClient({"bootstrap.servers": kafka_bootstrap})


NewTopicFactory = Callable[..., str]


@contextlib.contextmanager
def _topic_factory(admin: AdminClient, test_name: str) -> Iterator[NewTopicFactory]:
    created: list[str] = []
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", test_name)[:60].strip("-")

    def make(
        partitions: int = 3, replication: int = 1, config: Mapping[str, str] | None = None
    ) -> str:
        name = f"test-{stem}-{uuid.uuid4().hex[:8]}"
        created.append(name)
        return create_topic(
            admin, name, partitions=partitions, replication=replication, config=config
        )

    try:
        yield make
    finally:
        delete_topics(admin, created)


@pytest.fixture
def new_topic(
    kafka_admin: AdminClient, request: pytest.FixtureRequest
) -> Iterator[NewTopicFactory]:
    """A factory of fresh, uniquely named topics on the session broker, deleted after the test.

    ``new_topic(partitions=3, replication=1, config={"retention.ms": "60000"}) -> name``
    """
    with _topic_factory(kafka_admin, request.node.name) as make:
        yield make


@pytest.fixture(scope="session")
def kafka_cluster_session() -> Iterator[LocalKafka]:
    """A 3-node KRaft cluster on loopback, private to this session, removed at its end."""
    cluster = LocalKafka(default_state_dir(), nodes=3, name=f"test-cluster-{os.getpid()}")
    try:
        cluster.start()
        yield cluster
    finally:
        # Its data is deleted next, so a clean shutdown would only cost time.
        for node in cluster.nodes:
            cluster.kill_node(node.node_id)
        cluster.remove_data()


@pytest.fixture
def kafka_cluster(kafka_cluster_session: LocalKafka) -> LocalKafka:
    """The session's 3-node cluster with every node running (nodes a test killed come back)."""
    kafka_cluster_session.start()
    return kafka_cluster_session


@pytest.fixture
def new_cluster_topic(
    kafka_cluster: LocalKafka, request: pytest.FixtureRequest
) -> Iterator[NewTopicFactory]:
    """Like ``new_topic``, on the 3-node cluster (pass ``replication=3`` for a replicated one)."""
    admin = AdminClient({"bootstrap.servers": kafka_cluster.bootstrap_servers})
    with _topic_factory(admin, request.node.name) as make:
        yield make


@pytest.fixture(scope="session")
def benchmark_module() -> Callable[[str], ModuleType]:
    """Imports a benchmark script or helper by name: ``benchmark_module("failover")``.

    Both benchmark folders are on ``sys.path`` (see the top of this file), as a script's own
    folder is when it runs, so the scripts import their helpers (``_harness``, ``_chaos``) the
    same way under pytest as from the command line.
    """
    return importlib.import_module
