"""The consumer's counters: one slot per count of ConsumerStats, each typed and zeroed."""

from __future__ import annotations

import dataclasses

from spanstream.consumer import ConsumerStats
from spanstream.consumer._stats import ConsumerCounters


def test_every_count_of_consumer_stats_is_an_annotated_counter() -> None:
    """Each int field of ConsumerStats (but the derived bad_records) is a typed counter."""
    counts = {
        f.name
        for f in dataclasses.fields(ConsumerStats)
        if f.type == "int" and f.name != "bad_records"
    }
    assert set(ConsumerCounters.__annotations__) == counts


def test_fresh_counters_snapshot_as_empty_stats() -> None:
    """New counters give the all-zero ConsumerStats; each count reaches its field."""
    counters = ConsumerCounters()
    assert counters.snapshot() == ConsumerStats()
    counters.events_delivered += 2
    counters.bad_records_by_reason["tombstone"] += 3
    stats = counters.snapshot()
    assert (stats.events_delivered, stats.bad_records) == (2, 3)
    assert dict(stats.bad_records_by_reason) == {"tombstone": 3}
