"""The ``spanstream`` command: demo, tail, stats, export, forward and broker."""

import logging
import os
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table

from spanstream.broker import BOOTSTRAP_ENV, LocalKafka, obtain_broker
from spanstream.broker._docker import docker_answers
from spanstream.broker._obtain import BrokerSource, choose_broker_source
from spanstream.cli._command_group import OneLineErrors, examples
from spanstream.cli._demo import DemoOptions, run_demo
from spanstream.cli._exit import (
    EXIT_CODES_HELP,
    PipeConsole,
    UsageError,
    exit_on_error,
)
from spanstream.cli._export import run_export
from spanstream.cli._forward import ForwardOptions, run_forward
from spanstream.cli._kafka import default_broker_address, parse_properties
from spanstream.cli._spans import FORMAT_FIELDS, SpanFilter, check_template
from spanstream.cli._stats import run_stats
from spanstream.cli._tail import TailFormat, TailOptions, check_kind, run_tail
from spanstream.cli._timerange import TIME_HELP, TimeRange, parse_duration_s, parse_instant
from spanstream.consumer import BadRecordPolicy

__all__ = ["app", "main"]


app = typer.Typer(
    name="spanstream",
    cls=OneLineErrors,
    help=(
        "Flink-style traces over Kafka: run the demo, follow, summarise and export span "
        "topics, forward them to a trace viewer over OTLP, and run a local broker."
        f"\n\n{EXIT_CODES_HELP}"
    ),
    epilog="Start with: spanstream demo",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
broker_app = typer.Typer(
    help=(
        "Find or start the Kafka broker: $KAFKA_BOOTSTRAP_SERVERS, Docker, or a local Apache "
        "Kafka from Maven Central.\n\nExample: spanstream broker start"
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(broker_app, name="broker")

_out: Console = PipeConsole()
# A flag takes no value: no type column in the help (typer would show <bool>).
_FLAG = ""
_PIPED_WIDTH = 120
_owns_process = False

Nodes = Annotated[int, typer.Option("--nodes", min=1, help="Local nodes (3 for a KRaft cluster).")]
BootstrapServers = Annotated[
    str | None,
    typer.Option(
        "--bootstrap-servers",
        "-b",
        envvar=BOOTSTRAP_ENV,
        show_envvar=True,
        help="Kafka host:port[,...]. Default: the broker `spanstream broker start` runs.",
    ),
]
Since = Annotated[
    str | None, typer.Option("--since", help=f"Records from this time on: {TIME_HELP}.")
]
Until = Annotated[
    str | None, typer.Option("--until", help=f"Records before this time: {TIME_HELP}.")
]
Kind = Annotated[
    str,
    typer.Option(
        "--kind", metavar="[span|event|all]", help="Spans, events (Flink 2.1+), or all (both)."
    ),
]
Properties = Annotated[
    list[str] | None,
    typer.Option(
        "-X",
        "--property",
        help="A librdkafka client property key=value, as kcat's -X (repeatable), e.g. "
        "-X security.protocol=SASL_SSL -X sasl.mechanism=SCRAM-SHA-512. Secret values are "
        "never printed.",
    ),
]


@app.callback()
def _main_options(
    log_level: Annotated[
        str,
        typer.Option(
            "--log-level", help="Python logging level for spanstream's own logs (on stderr)."
        ),
    ] = "error",
) -> None:
    """Flink-style traces over Kafka."""
    level = logging.getLevelName(log_level.upper())
    if not isinstance(level, int):
        raise typer.BadParameter(
            f"{log_level!r}; expected debug, info, warning, error", param_hint="--log-level"
        )
    if _owns_process:
        # Only as the process's entry point: an in-process caller (a test's CliRunner) keeps
        # its own logging configuration.
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    if not _out.is_terminal and "COLUMNS" not in os.environ:
        # Piped or logged output: wide enough for the tables, never wrapped at 80.
        _out.width = _PIPED_WIDTH


# -- broker -------------------------------------------------------------------------------------


@broker_app.command(
    "start", epilog=examples("spanstream broker start", "spanstream broker start --nodes 3")
)
def broker_start(
    nodes: Nodes = 1,
    timeout_s: Annotated[float, typer.Option(help="Seconds to wait for the broker.")] = 180.0,
) -> None:
    """Start a broker (or find the one already given or running) and print its address."""
    with exit_on_error():
        source = choose_broker_source(os.environ, docker_answers=docker_answers)
        if nodes == 1 and source is not BrokerSource.LOCAL:
            broker = obtain_broker(timeout_s=timeout_s)
            _out.print(f"{broker.bootstrap_servers}  ({broker.source.value}; kept running)")
            return
        kafka = LocalKafka(nodes=nodes)
        started = kafka.start(timeout_s=timeout_s)
    verb = "started" if started else "already running"
    _out.print(f"{kafka.bootstrap_servers}  (local Apache Kafka, {nodes} node(s), {verb})")


@broker_app.command("stop", epilog=examples("spanstream broker stop"))
def broker_stop(nodes: Nodes = 1) -> None:
    """Stop the local broker (or cluster) started from this project's state folder."""
    kafka = LocalKafka(nodes=nodes)
    with exit_on_error():
        kafka.stop()
    _out.print(f"stopped {kafka.cluster_dir}")


@broker_app.command("status", epilog=examples("spanstream broker status"))
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


# -- demo ---------------------------------------------------------------------------------------


@app.command(
    "demo",
    epilog=examples(
        "spanstream demo",
        "spanstream demo --duration-s 60",
        "spanstream demo --config my-traces.yaml",
        note="Exit code 0 only when every span was delivered and consumed back.",
    ),
)
def demo(
    duration_s: Annotated[
        float, typer.Option("--duration-s", min=1.0, help="How long the jobs run, in seconds.")
    ] = 20.0,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Reporter configuration (Flink traces.* keys, YAML). Default: the packaged "
            "demo.yaml.",
            dir_okay=False,
        ),
    ] = None,
    app_spans_per_s: Annotated[
        float,
        typer.Option("--app-spans-per-s", min=0.0, help="Custom application spans per second."),
    ] = 150.0,
    seed: Annotated[int | None, typer.Option(help="Random seed, for a repeatable run.")] = None,
) -> None:
    """Run a simulated Flink deployment that reports traces to Kafka, and consume them live.

    Three jobs on four task managers report Checkpoint spans (with per-task children),
    JobInitialization, JobFailure and custom spans through metric groups and the Kafka
    reporter; a SpanConsumer rebuilds them and shows checkpoint health per job. The broker
    comes from $KAFKA_BOOTSTRAP_SERVERS, else Docker, else a local Apache Kafka (stopped at the
    end if the demo started it).
    """
    options = DemoOptions(
        duration_s=duration_s,
        config_path=config,
        app_spans_per_s=app_spans_per_s,
        seed=seed,
    )
    with exit_on_error():
        code = run_demo(options, _out)
    raise typer.Exit(int(code))


# -- tail ---------------------------------------------------------------------------------------


def _start_position(from_beginning: bool, since: str | None) -> Literal["earliest", "latest"] | int:
    if from_beginning and since is not None:
        raise UsageError("--from-beginning and --since are exclusive; give one of them")
    if from_beginning:
        return "earliest"
    if since is not None:
        return parse_instant(since, option="--since")
    return "latest"


@app.command(
    "tail",
    epilog=examples(
        "spanstream tail flink-traces",
        "spanstream tail flink-traces --from-beginning --name Checkpoint "
        "--attr checkpointStatus=FAILED",
        "spanstream tail flink-traces --since 10m --exit-at-end --attr 'cacheHit=true'",
        "spanstream tail flink-traces --from-beginning -e --format '{time} {job} {checkpointId}'",
        "spanstream tail flink-traces --since 10m --json --max 100 --timeout 30s",
        "spanstream tail flink-events --from-beginning -e --name JobStatusChangeEvent",
        note="Span lines: start time, job, name, duration and the span's key attributes; event "
        "lines: observed time, job, name, severity and key attributes. --long "
        'shows every attribute, --json marks each object "kind": "span" or "event", '
        "--format a template with {field} placeholders ("
        + ", ".join(FORMAT_FIELDS)
        + ", or an attribute key). Values are escaped onto one line. Reads by partition "
        "assignment: no consumer group is created or needed.",
    ),
)
def tail(
    topic: Annotated[
        str, typer.Argument(help="The topic of spans and/or events, e.g. flink-traces.")
    ],
    bootstrap_servers: BootstrapServers = None,
    from_beginning: Annotated[
        bool,
        typer.Option("--from-beginning", metavar=_FLAG, help="Start at the topic's first record."),
    ] = False,
    since: Since = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help=f"Stop at records from this time on: {TIME_HELP}."),
    ] = None,
    exit_at_end: Annotated[
        bool,
        typer.Option(
            "--exit-at-end",
            "-e",
            metavar=_FLAG,
            help="Stop at the topic's end (as kcat -e), not follow it.",
        ),
    ] = False,
    name: Annotated[
        list[str] | None,
        typer.Option("--name", help="Only spans/events whose name matches this glob (repeatable)."),
    ] = None,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="Only spans/events whose scope, or its last part as the line shows it, matches "
            "this glob (repeatable).",
        ),
    ] = None,
    attr: Annotated[
        list[str] | None,
        typer.Option(
            "--attr",
            help="Only spans/events with an attribute key=value, globs on both sides; "
            "true/false and numbers match typed values (e.g. '<job_name>=etl', "
            "'cacheHit=true'; repeatable).",
        ),
    ] = None,
    trace_id: Annotated[
        list[str] | None,
        typer.Option(
            "--trace-id",
            help="Only spans (and events) of this trace id (hex; a prefix matches).",
        ),
    ] = None,
    kind: Kind = "all",
    long: Annotated[
        bool, typer.Option("--long", metavar=_FLAG, help="Every attribute on the line.")
    ] = False,
    line_format: Annotated[
        str | None,
        typer.Option("--format", help="A line template, e.g. '{time} {name} {checkpointId}'."),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            metavar=_FLAG,
            help="One JSON object per line, with topic, partition, offset, key, headers.",
        ),
    ] = False,
    max_spans: Annotated[
        int | None,
        typer.Option("--max", min=1, help="Stop after printing this many spans and events."),
    ] = None,
    timeout: Annotated[
        str | None,
        typer.Option("--timeout", help="Stop after this long (30s, 5m); exit 1 if --max not met."),
    ] = None,
    properties: Properties = None,
) -> None:
    """Follow a topic and print each rebuilt span and event on one line (or as JSON).

    New records only by default; --from-beginning or --since to read older ones. Filters apply
    to top-level spans and to events; a span's children are counted on its line (and nested
    in --json). --kind span or --kind event prints only those.
    """
    with exit_on_error():
        output = TailFormat.choose(long=long, as_json=as_json, template=line_format)
        start = _start_position(from_beginning, since)
        until_millis = None if until is None else parse_instant(until, option="--until")
        if until_millis is not None and isinstance(start, int) and start >= until_millis:
            raise UsageError("--since must be before --until")
        options = TailOptions(
            topic=topic,
            start=start,
            until_millis=until_millis,
            exit_at_end=exit_at_end,
            span_filter=SpanFilter.parse(
                names=name or (), scopes=scope or (), attrs=attr or (), trace_ids=trace_id or ()
            ),
            kind=check_kind(kind),
            output=output,
            template=check_template(line_format) if line_format is not None else "",
            max_spans=max_spans,
            timeout_s=None if timeout is None else parse_duration_s(timeout, option="--timeout"),
            properties=parse_properties(properties or ()),
        )
        code = run_tail(options, default_broker_address(bootstrap_servers), _out)
    raise typer.Exit(int(code))


# -- stats and export ------------------------------------------------------------------------


@app.command(
    "stats",
    epilog=examples(
        "spanstream stats flink-traces --since 1h",
        "spanstream stats flink-traces --since 2026-11-25T16:00Z --until 2026-11-25T17:00Z --json",
        "spanstream stats flink-traces --plot checkpoints.png",
    ),
)
def stats(
    topic: Annotated[str, typer.Argument(help="The span topic, e.g. flink-traces.")],
    bootstrap_servers: BootstrapServers = None,
    since: Since = None,
    until: Until = None,
    as_json: Annotated[
        bool, typer.Option("--json", metavar=_FLAG, help="Print one JSON document.")
    ] = False,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Draw checkpoint durations and sizes over time per job to this PNG/SVG/PDF "
            "(needs the 'plot' extra: matplotlib).",
            dir_okay=False,
        ),
    ] = None,
    properties: Properties = None,
) -> None:
    """Summarise checkpoints, initializations and failures per job over a time range.

    Reads the records whose timestamps fall in [--since, --until) (the whole topic by
    default) once, then prints a table each for checkpoints (counts, p50/p95/max duration,
    sizes), job initializations, job failures and other spans.
    """
    with exit_on_error():
        time_range = TimeRange.parse(since, until)
        code = run_stats(
            default_broker_address(bootstrap_servers),
            topic,
            time_range,
            as_json=as_json,
            plot_path=plot,
            console=_out,
            properties=parse_properties(properties or ()),
        )
    raise typer.Exit(int(code))


@app.command(
    "export",
    epilog=examples(
        "spanstream export flink-traces --out spans.parquet --since 1h",
        "spanstream export flink-traces --out spans.csv --since 2026-11-25T16:00Z --until 30m",
        "spanstream export flink-traces --out spans.parquet --attributes columns",
        "spanstream export flink-events --out events.csv --kind event",
        note="A topic's events (Flink 2.1+) go beside --out: spans.parquet gets the spans and "
        "spans.events.parquet the events (only when there are events); --kind event writes "
        "only the events, to --out, and --kind span only the spans.",
    ),
)
def export(
    topic: Annotated[
        str, typer.Argument(help="The topic of spans and/or events, e.g. flink-traces.")
    ],
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="The file to write: .parquet or .csv.", dir_okay=False),
    ],
    bootstrap_servers: BootstrapServers = None,
    since: Since = None,
    until: Until = None,
    attributes: Annotated[
        str | None,
        typer.Option(
            "--attributes",
            help="Parquet: 'map' (one map<string,string> column, the default) or 'columns' "
            "(one typed attr.<key> column per key). CSV always has columns.",
        ),
    ] = None,
    kind: Kind = "all",
    properties: Properties = None,
) -> None:
    """Write a topic's spans (and events) over a time range to Parquet or CSV, a row each.

    Nested spans get rows of their own (parent_span_id, depth). Parquet keeps attributes in
    one map column (or typed columns with --attributes columns); CSV gets a column per
    attribute key (attr.<key>). Events get their own file beside --out, <stem>.events.<ext>
    (see --kind). Needs the 'analytics' extra (pyarrow).
    """
    with exit_on_error():
        time_range = TimeRange.parse(since, until)
        code = run_export(
            default_broker_address(bootstrap_servers),
            topic,
            time_range,
            out=out,
            console=_out,
            attributes=attributes,
            kind=check_kind(kind),
            properties=parse_properties(properties or ()),
        )
    raise typer.Exit(int(code))


# -- forward ------------------------------------------------------------------------------------


@app.command(
    "forward",
    epilog=examples(
        "spanstream forward flink-traces --otlp-endpoint http://localhost:4317",
        "spanstream forward flink-traces --otlp-endpoint http://localhost:4318 --protocol http "
        "--since 1h",
        "spanstream forward flink-traces --otlp-endpoint http://localhost:4317 --idle-exit 30s",
        note="Needs the 'otel' extra. At-least-once: offsets are committed only after the "
        "endpoint accepted the spans.",
    ),
)
def forward(
    topic: Annotated[str, typer.Argument(help="The span topic, e.g. flink-traces.")],
    otlp_endpoint: Annotated[
        str,
        typer.Option(
            "--otlp-endpoint",
            help="The OTLP endpoint: http://host:4317 (gRPC) or http://host:4318 (--protocol "
            "http; the /v1/traces path is added when the URL has none).",
        ),
    ],
    bootstrap_servers: BootstrapServers = None,
    protocol: Annotated[str, typer.Option("--protocol", help="OTLP over grpc or http.")] = "grpc",
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help=f"Where a new group starts (default: the topic's beginning): {TIME_HELP}.",
        ),
    ] = None,
    group: Annotated[
        str,
        typer.Option("--group", help="The consumer group; a restart resumes where it left off."),
    ] = "spanstream-forward",
    service_name: Annotated[
        str, typer.Option("--service-name", help="service.name of the exported spans.")
    ] = "spanstream",
    bad_records: Annotated[
        str,
        typer.Option("--bad-records", help="Records that are not spans: skip, raise, dead-letter."),
    ] = "skip",
    dead_letter_topic: Annotated[
        str | None, typer.Option("--dead-letter-topic", help="Where dead-letter writes them.")
    ] = None,
    idle_exit: Annotated[
        str | None,
        typer.Option("--idle-exit", help="Exit once no span arrived for this long (30s, 5m)."),
    ] = None,
    retry_timeout: Annotated[
        str,
        typer.Option(
            "--retry-timeout", help="Retry a failing export this long, then exit 1 (5m, 1h)."
        ),
    ] = "5m",
    compression: Annotated[
        str, typer.Option("--compression", help="OTLP request compression: none or gzip.")
    ] = "none",
) -> None:
    """Send a span topic on to an OTLP endpoint (Jaeger, Tempo, an OpenTelemetry Collector).

    Reads as a consumer group, exports each batch, and commits only once the endpoint accepted
    it. Span trees keep their ids and parent links; the scope is the instrumentation scope;
    <host>, <job_name>, <job_id> and <tm_id> become resource attributes. Runs until Ctrl-C,
    SIGTERM or --idle-exit.
    """
    with exit_on_error():
        if protocol.lower() not in {"grpc", "http"}:
            raise UsageError(f"--protocol: {protocol!r}; expected grpc or http")
        if compression.lower() not in {"none", "gzip"}:
            raise UsageError(f"--compression: {compression!r}; expected none or gzip")
        policies = {policy.value: policy for policy in BadRecordPolicy}
        if bad_records not in policies:
            raise UsageError(f"--bad-records: {bad_records!r}; expected skip, raise, dead-letter")
        options = ForwardOptions(
            topic=topic,
            endpoint=otlp_endpoint,
            protocol="grpc" if protocol.lower() == "grpc" else "http",
            start="earliest" if since is None else parse_instant(since, option="--since"),
            group_id=group,
            service_name=service_name,
            bad_records=policies[bad_records],
            dead_letter_topic=dead_letter_topic,
            idle_exit_s=None
            if idle_exit is None
            else parse_duration_s(idle_exit, option="--idle-exit"),
            retry_timeout_s=parse_duration_s(retry_timeout, option="--retry-timeout"),
            compression="gzip" if compression.lower() == "gzip" else "none",
        )
        code = run_forward(options, default_broker_address(bootstrap_servers), _out)
    raise typer.Exit(int(code))


def main() -> None:
    """Run the ``spanstream`` command (it configures the process's logging)."""
    global _owns_process  # noqa: PLW0603 - set once, by the process's entry point
    _owns_process = True
    app()
