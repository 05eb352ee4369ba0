"""The ``spanstream`` command: ``broker start|stop|status`` and the (provisional) ``demo``."""

import logging
import os
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from spanstream.broker import (
    BOOTSTRAP_ENV,
    BrokerSource,
    LocalKafka,
    choose_broker_source,
    docker_answers,
    obtain_broker,
)
from spanstream.cli._smoke import smoke_round_trip
from spanstream.schemas import SpanstreamError

__all__ = ["app", "main"]

app = typer.Typer(
    name="spanstream",
    help="Flink-style traces over Kafka: spans, brokers and demos.",
    no_args_is_help=True,
    add_completion=False,
)
broker_app = typer.Typer(
    help="Find or start the Kafka broker: $KAFKA_BOOTSTRAP_SERVERS, Docker, or a local one.",
    no_args_is_help=True,
)
app.add_typer(broker_app, name="broker")

_out = Console()
_err = Console(stderr=True)

Nodes = Annotated[int, typer.Option("--nodes", min=1, help="Local nodes (3 for a KRaft cluster).")]


def _fail(exc: SpanstreamError) -> typer.Exit:
    _err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
    return typer.Exit(1)


@broker_app.command("start")
def broker_start(
    nodes: Nodes = 1,
    timeout_s: Annotated[float, typer.Option(help="Seconds to wait for the broker.")] = 180.0,
) -> None:
    """Start a broker (or find the one already given or running) and print its address."""
    try:
        source = choose_broker_source(os.environ, docker_answers=docker_answers)
        if nodes == 1 and source is not BrokerSource.LOCAL:
            broker = obtain_broker(timeout_s=timeout_s)
            _out.print(f"{broker.bootstrap_servers}  ({broker.source.value}; kept running)")
            return
        kafka = LocalKafka(nodes=nodes)
        started = kafka.start(timeout_s=timeout_s)
    except SpanstreamError as exc:
        raise _fail(exc) from exc
    verb = "started" if started else "already running"
    _out.print(f"{kafka.bootstrap_servers}  (local Apache Kafka, {nodes} node(s), {verb})")


@broker_app.command("stop")
def broker_stop(nodes: Nodes = 1) -> None:
    """Stop the local broker (or cluster) started from this project's state folder."""
    kafka = LocalKafka(nodes=nodes)
    try:
        kafka.stop()
    except SpanstreamError as exc:
        raise _fail(exc) from exc
    _out.print(f"stopped {kafka.cluster_dir}")


@broker_app.command("status")
def broker_status(nodes: Nodes = 1) -> None:
    """Show the local broker's nodes; exit 1 unless it is running."""
    if os.environ.get(BOOTSTRAP_ENV):
        _out.print(f"{BOOTSTRAP_ENV}={os.environ[BOOTSTRAP_ENV]} (given; nothing local is used)")
    kafka = LocalKafka(nodes=nodes)
    status = kafka.status()
    table = Table(title=f"{kafka.cluster_dir}  ({kafka.bootstrap_servers})")
    for column in ("node", "pid", "alive", "address", "log"):
        table.add_column(column)
    for node in status.nodes:
        table.add_row(
            str(node.node_id),
            str(node.pid or "-"),
            "yes" if node.alive else "no",
            node.bootstrap_server,
            str(node.log_path),
        )
    _out.print(table)
    _out.print(f"brokers in metadata: {list(status.brokers_in_metadata) or 'none answering'}")
    if not status.running:
        raise typer.Exit(1)


@app.command("demo")
def demo(
    count: Annotated[int, typer.Option(min=1, help="Records in the round trip.")] = 10_000,
) -> None:
    """Round-trip records through a real broker (obtained like the tests do) and report."""
    try:
        broker = obtain_broker()
    except SpanstreamError as exc:
        raise _fail(exc) from exc
    try:
        where = "started for this run" if broker.started_here else "already available"
        _out.print(f"broker: {broker.bootstrap_servers} ({broker.source.value}, {where})")
        result = smoke_round_trip(broker.bootstrap_servers, count=count)
    except SpanstreamError as exc:
        raise _fail(exc) from exc
    finally:
        broker.stop()
    per_partition = ", ".join(f"p{p}: {n}" for p, n in result.per_partition)
    _out.print(
        f"smoke round trip on topic {result.topic}: produced {result.produced} "
        f"in {result.produce_s:.2f} s, consumed {result.consumed} in {result.consume_s:.2f} s "
        f"({per_partition})",
        soft_wrap=True,
    )
    _out.print(
        f"exact set: {'yes' if result.exact_set else 'NO'}; "
        f"per-partition order: {'yes' if result.partition_order else 'NO'}; "
        f"result: {'OK' if result.ok else 'FAILED'}",
        soft_wrap=True,
    )
    if not result.ok:
        raise typer.Exit(1)


def main() -> None:
    """Run the ``spanstream`` command."""
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    app()
