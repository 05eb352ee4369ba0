"""Chooses the Kafka sender's C produce loop (``producer/_produce.c``) when it can run safely.

The loop hands records to librdkafka with the interpreter lock released (see the C file's
comment). It reads confluent-kafka's producer handle directly, so it is used only with the
confluent-kafka versions whose layout was read (:data:`VERIFIED_VERSIONS`), on a platform where
the librdkafka confluent-kafka loaded can be found (Linux: ``/proc/self/maps``), and not with
``SPANSTREAM_NO_SPEEDUPS=1``. Otherwise the sender's Python loop, the reference, does the work.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Final

from confluent_kafka import Producer

__all__ = ["VERIFIED_VERSIONS", "RecordProducer", "librdkafka_path", "record_producer"]

try:
    from spanstream.producer._produce import RecordProducer
except ImportError:  # the optional extension was not built
    RecordProducer = None  # type: ignore[assignment,misc]  # the Python loop is used

VERIFIED_VERSIONS: Final = ((2, 6), (2, 16))
"""The confluent-kafka versions (first and last ``major.minor``, inclusive) whose ``Handle`` (its
``rd_kafka_t`` first) and per-message state (``Producer_msgstate``: the handle, the delivery
callback) the C loop relies on; read in the sources of 2.6.0 and 2.16.1 (``src/confluent_kafka/
src/confluent_kafka.h``, ``Producer.c``), the same in both."""

_MAPS: Final = Path("/proc/self/maps")


def librdkafka_path() -> str | None:
    """The file of the one librdkafka this process has loaded; None if none or several."""
    try:
        lines = _MAPS.read_text().splitlines()
    except OSError:
        return None
    paths = {
        line.split(maxsplit=5)[5]
        for line in lines
        if "librdkafka" in line and len(line.split(maxsplit=5)) == 6
    }
    found = {path for path in paths if Path(path).name.startswith("librdkafka")}
    return found.pop() if len(found) == 1 else None


def _client_version() -> str:
    # confluent_kafka.version() is the client's version in some releases and librdkafka's in
    # others; the distribution's metadata is the client's.
    try:
        return metadata.version("confluent-kafka")
    except metadata.PackageNotFoundError:
        return ""


def _verified(version: str) -> bool:
    try:
        major_minor = tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        return False
    first, last = VERIFIED_VERSIONS
    return first <= major_minor <= last


def record_producer(
    producer: Producer,
    *,
    client_id: str,
    topic: str,
    headers: list[tuple[str, bytes]],
    on_delivery: Callable[..., None],
) -> RecordProducer | None:
    """The C produce loop for ``producer``, or None where it cannot be used (see above)."""
    if RecordProducer is None or os.environ.get("SPANSTREAM_NO_SPEEDUPS", "") not in ("", "0"):
        return None
    if not _verified(_client_version()) or type(producer) is not Producer:
        return None
    path = librdkafka_path()
    if path is None:
        return None
    try:
        return RecordProducer(producer, path, client_id, topic, headers, on_delivery)
    except (OSError, ValueError, TypeError):
        return None
