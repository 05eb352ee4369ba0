"""Creating and deleting topics on a real broker for the tests (importable as ``_topics``:
pytest puts ``tests/`` on the path for ``tests/conftest.py``, whose ``new_topic`` fixtures use
them; a module-scoped topic calls them directly)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping

from confluent_kafka.admin import AdminClient, NewTopic


def _topic_ready(admin: AdminClient, name: str, partitions: int) -> bool:
    try:
        topic = admin.list_topics(topic=name, timeout=5).topics.get(name)
    except Exception:
        return False
    return (
        topic is not None
        and topic.error is None
        and len(topic.partitions) == partitions
        and all(p.leader >= 0 for p in topic.partitions.values())
    )


def create_topic(
    admin: AdminClient,
    name: str,
    *,
    partitions: int = 3,
    replication: int = 1,
    config: Mapping[str, str] | None = None,
    timeout_s: float = 60.0,
) -> str:
    """Create a topic and wait until every partition has a leader."""
    futures = admin.create_topics(
        [NewTopic(name, partitions, replication, config=dict(config or {}))],
        operation_timeout=timeout_s,
    )
    futures[name].result(timeout=timeout_s)
    deadline = time.monotonic() + timeout_s
    while not _topic_ready(admin, name, partitions):
        if time.monotonic() > deadline:
            raise TimeoutError(f"topic {name} has no leaders after {timeout_s} s")
        time.sleep(0.1)
    return name


def delete_topics(admin: AdminClient, names: list[str], *, timeout_s: float = 30.0) -> None:
    """Delete topics, ignoring ones already gone."""
    if not names:
        return
    for future in admin.delete_topics(names, operation_timeout=timeout_s).values():
        # Already deleted, or the broker is going away: nothing to keep either way.
        with contextlib.suppress(Exception):
            future.result(timeout=timeout_s)
