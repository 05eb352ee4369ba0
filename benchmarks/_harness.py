"""What every benchmark module shares: the CLI, the workload, topics, RSS and the JSON result.

Each ``bench_*.py`` module is a script with a ``main(argv)``; ``run_all.py`` runs them in
subprocesses (so RSS is per process) and reads the one JSON object each writes to
``--json-out`` (or prints on stdout when that is not given).

The workload comes in three shapes (``--shape``), each used alike by a row and its reference:

- ``flat``: the 7 scalar attributes of Flink 2.3's ``Checkpoint`` span, as a real JobManager
  sends them (4 long, 3 string: ``isUnaligned`` is the string ``"false"``; see
  :func:`checkpoint_attributes`). A real root span also carries ``jobId`` and the 14
  ``max*``/``sum*`` aggregates, which the workload leaves out.
- ``wide``: an application's span with 20 string attributes (:func:`wide_attributes`).
- ``tree``: Flink 2.2+'s ``CHILDREN_SPANS_PER_TASK`` checkpoint: the flat root and 8
  ``Checkpoint_Task`` children of 14 attributes each (``checkpointId``, ``jobVertexId`` and
  ``max``/``sum`` of 6 task metrics; :func:`task_attributes`). Since Flink 2.2 the children carry
  the root's scope variables too. For OpenTelemetry a tree is a parent span and 8 child spans.

Every shape is reported through a metric group with Flink-like scope variables. Figures count
root spans (one Kafka record each for spanstream): "per span" means per root span.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
from confluent_kafka.admin import AdminClient, NewTopic

SCOPE = "org.apache.flink.runtime.checkpoint.CheckpointStatsTracker"
SPAN_NAME = "Checkpoint"

# The scope variables a Flink job manager's metric group carries; MetricGroup.add_span merges
# them as angle-bracket attributes, so the bytes on the wire include them.
SCOPE_VARIABLES: dict[str, str] = {
    "<host>": "bench-host-01",
    "<job_id>": "9f1c6a2e4b7d4c0e8a3f5b6c7d8e9f01",
    "<job_name>": "benchmark-job",
}


def checkpoint_attributes(i: int) -> dict[str, str | int | float | bool]:
    """The 7 attributes every benchmarked span carries (one of them varies with ``i``).

    Values as Flink 2.3 writes them: ``checkpointType`` ``"Checkpoint"``, ``isUnaligned`` the
    string ``"false"``, ``metadataSize`` a long.
    """
    return {
        "checkpointId": i,
        "fullSize": 123_456_789,
        "checkpointedSize": 4_567_890,
        "checkpointStatus": "COMPLETED",
        "checkpointType": "Checkpoint",
        "isUnaligned": "false",
        "metadataSize": 2_731,
    }


SHAPES: tuple[str, ...] = ("flat", "wide", "tree")
"""The workload shapes, as ``--shape`` takes them."""

TASK_SPAN_NAME = "Checkpoint_Task"
TREE_CHILDREN = 8
WIDE_SPAN_NAME = "HandleRequest"
WIDE_SCOPE = "com.example.shop.OrderService"
_TASK_METRICS = (
    "StateSizeBytes",
    "CheckpointedSizeBytes",
    "CheckpointStartDelayMs",
    "AlignmentDurationMs",
    "SyncCheckpointDurationMs",
    "AsyncCheckpointDurationMs",
)
# Flink's job vertex ids: 32 hex digits each, one per task.
VERTEX_IDS: tuple[str, ...] = tuple(f"{task:02d}" + "c0ffee" * 5 for task in range(TREE_CHILDREN))


def spans_per_root(shape: str) -> int:
    """How many spans one root of ``shape`` stands for (OpenTelemetry exports each alone)."""
    return 1 + TREE_CHILDREN if shape == "tree" else 1


def wide_attributes(i: int) -> dict[str, str | int | float | bool]:
    """The 20 string attributes of the wide shape (the first varies with ``i``)."""
    attributes: dict[str, str | int | float | bool] = {"request.id": f"req-{i:012d}"}
    attributes.update(WIDE_FIXED_ATTRIBUTES)
    return attributes


WIDE_FIXED_ATTRIBUTES: tuple[tuple[str, str], ...] = tuple(
    (f"shop.attribute{k:02d}", f"value {k:02d} of a typical application attribute")
    for k in range(1, 20)
)


def task_attributes(i: int, task: int) -> dict[str, str | int | float | bool]:
    """The 14 attributes of task ``task``'s ``Checkpoint_Task`` child of checkpoint ``i``."""
    attributes: dict[str, str | int | float | bool] = {
        "checkpointId": i,
        "jobVertexId": VERTEX_IDS[task],
    }
    attributes.update(TASK_FIXED_ATTRIBUTES[task])
    return attributes


TASK_FIXED_ATTRIBUTES: tuple[tuple[tuple[str, int], ...], ...] = tuple(
    tuple(
        (prefix + metric, 1_000 * (task + 1) + m * 10 + (prefix == "sum"))
        for m, metric in enumerate(_TASK_METRICS)
        for prefix in ("max", "sum")
    )
    for task in range(TREE_CHILDREN)
)


# The attribute pairs, pre-built so the measured loops do not time building a dict.
FIXED_ATTRIBUTES: tuple[tuple[str, str | int | float | bool], ...] = tuple(
    (k, v) for k, v in checkpoint_attributes(0).items() if k != "checkpointId"
)


def parser(description: str) -> argparse.ArgumentParser:
    """The flags every benchmark takes: broker, output, and ``--quick`` for a smoke run."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"),
        help="Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP_SERVERS)",
    )
    p.add_argument("--json-out", type=Path, default=None, help="write the result JSON here")
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test, not a figure")
    p.add_argument(
        "--shape", choices=SHAPES, default="flat", help="the workload's span shape (see above)"
    )
    return p


def require_bootstrap(args: argparse.Namespace) -> str:
    """Return the bootstrap servers or exit with a clear message."""
    if not args.bootstrap:
        sys.exit("no broker: pass --bootstrap or set KAFKA_BOOTSTRAP_SERVERS")
    return str(args.bootstrap)


def emit(args: argparse.Namespace, result: dict[str, Any]) -> None:
    """Write the result (plus this process's peak RSS) as one JSON object."""
    result.setdefault("peak_rss_bytes", peak_rss_bytes())
    text = json.dumps(result, indent=2, sort_keys=True)
    if args.json_out is not None:
        args.json_out.write_text(text + "\n")
    else:
        print(text)


def log(message: str) -> None:
    """Progress on stderr (stdout may carry the JSON)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- topics


def admin(bootstrap: str) -> AdminClient:
    """An admin client for ``bootstrap``."""
    return AdminClient({"bootstrap.servers": bootstrap})


def create_topic(bootstrap: str, prefix: str, *, partitions: int = 1) -> str:
    """Create a fresh topic named ``bench-<prefix>-<random>`` and wait until it exists."""
    name = f"bench-{prefix}-{uuid.uuid4().hex[:10]}"
    client = admin(bootstrap)
    futures = client.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=-1)], operation_timeout=30
    )
    futures[name].result(timeout=60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        topics = client.list_topics(topic=name, timeout=10).topics
        meta = topics.get(name)
        if meta is not None and meta.error is None and len(meta.partitions) == partitions:
            return name
        time.sleep(0.1)
    raise RuntimeError(f"topic {name} did not appear")


def delete_topic(bootstrap: str, name: str) -> None:
    """Delete a benchmark topic (best effort: the numbers are already taken)."""
    client = admin(bootstrap)  # kept alive until the future resolves
    try:
        client.delete_topics([name], operation_timeout=30)[name].result(timeout=60)
    except Exception as exc:
        log(f"could not delete topic {name}: {exc}")


@contextmanager
def fresh_topic(bootstrap: str, prefix: str, *, partitions: int = 1) -> Iterator[str]:
    """A topic that exists for the block and is deleted after it."""
    name = create_topic(bootstrap, prefix, partitions=partitions)
    try:
        yield name
    finally:
        delete_topic(bootstrap, name)


# ---------------------------------------------------------------- measuring


def rss_bytes() -> int:
    """This process's resident set size now."""
    return int(psutil.Process().memory_info().rss)


def peak_rss_bytes() -> int:
    """This process's peak resident set size so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def median(values: Sequence[float]) -> float:
    """The median (of repeats)."""
    return float(statistics.median(values))


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of an already sorted sequence."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return float(sorted_values[index])


def wait_until(predicate: Callable[[], bool], *, timeout_s: float, step_s: float = 0.01) -> bool:
    """Poll ``predicate`` until it holds or ``timeout_s`` passes; return whether it held."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return predicate()


def producer_config(bootstrap: str, **extra: Any) -> dict[str, Any]:
    """The reference producer settings: what the issue asks of every publish row (acks=all)."""
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": True,
    }
    config.update(extra)
    return config


# ---------------------------------------------------------------- machine


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"


def _codec_implementation() -> str:
    try:
        from spanstream.schemas import SPEEDUPS
    except ImportError:
        return "unknown"
    return "C accelerator" if SPEEDUPS else "pure Python"


def machine_info() -> dict[str, Any]:
    """What the figures were measured on."""
    import confluent_kafka

    memory = psutil.virtual_memory().total
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "confluent_kafka": _version("confluent-kafka"),
        "librdkafka": confluent_kafka.libversion()[0],
        "fastavro": _version("fastavro"),
        "opentelemetry_sdk": _version("opentelemetry-sdk"),
        "protobuf": _version("protobuf"),
        "spanstream_codec": _codec_implementation(),
    }
