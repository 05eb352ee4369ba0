"""The smoke round trip: 10,000 records through a real broker, all back, in order."""

from __future__ import annotations

from collections.abc import Callable

from _helpers import produce_keyed, read_topic, values_by_partition

COUNT = 10_000


def test_ten_thousand_records_come_back_complete_and_in_partition_order(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    """Every record produced to a fresh 3-partition topic is consumed once, in partition order."""
    topic = new_topic(partitions=3)

    produced = produce_keyed(
        kafka_bootstrap,
        topic,
        ((f"k{i % 97}".encode(), f"v{i:05d}".encode()) for i in range(COUNT)),
        config={"linger.ms": 5},
    )
    consumed = values_by_partition(read_topic(kafka_bootstrap, topic))

    all_values = {f"v{i:05d}".encode() for i in range(COUNT)}
    consumed_values = [value for values in consumed.values() for value in values]
    assert len(consumed_values) == COUNT
    assert set(consumed_values) == all_values
    assert len(produced) == 3  # the keys spread over every partition
    assert consumed == produced  # per partition: the same records in the same order
