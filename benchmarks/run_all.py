"""Run every side-by-side benchmark against a real broker and print one table.

    ./run bench              # the full run (2 to 7 minutes on 2 cores, with the load)
    ./run bench --quick      # tiny sizes: checks that everything runs, figures mean nothing

The broker comes from ``spanstream.broker.obtain_broker()``: ``$KAFKA_BOOTSTRAP_SERVERS`` when
set, else the local Apache Kafka the project starts (and stops again if it started it). Each
benchmark runs in its own subprocess, so every RSS figure belongs to one workload; each writes
one JSON object, and all of them (with the machine) are saved to ``--json-out``
(``build/bench/results.json`` by default).

Caller cost, publish and consume are measured for three span shapes (``--shape`` in each
script; see ``_harness``): flat (Flink's ``Checkpoint``), wide (20 string attributes) and tree
(a checkpoint root with 8 ``Checkpoint_Task`` children), each beside its references.

The jobs whose figures are compared with each other (caller cost, publish, consume) run
``--rounds`` times (3), round-robin, and each figure is the median of its rounds: on a shared
machine a burst of load then hits every row alike instead of one of them. Latency runs every
round too (its p50 and p99 are the medians of the rounds' p50s and p99s); RSS runs once.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _harness as h

HERE = Path(__file__).resolve().parent

MIB = 2**20
OTEL_PER_SPAN = "OpenTelemetry SDK -> Kafka, a record per span"
OTEL_PER_BATCH = "OpenTelemetry SDK -> Kafka, a record per batch"
RAW_PRODUCE = "raw produce of the same records (limit)"


@dataclass(frozen=True)
class Job:
    """One benchmark subprocess."""

    key: str
    script: str
    args: tuple[str, ...]
    timeout_s: float = 600.0
    every_round: bool = True
    """Run in every round (a figure compared with another row's), or once."""


def _args(
    impl: str | None = None,
    *,
    repeats: int,
    otel_message: str | None = None,
    shape: str | None = None,
    spans: int | None = None,
) -> tuple[str, ...]:
    """A benchmark script's command line: ``--impl``, ``--otel-message``, ``--repeats``,
    ``--shape``, ``--spans``, each when given, in that order."""
    args: list[str] = []
    if impl is not None:
        args += ["--impl", impl]
    if otel_message is not None:
        args += ["--otel-message", otel_message]
    args += ["--repeats", str(repeats)]
    if shape is not None:
        args += ["--shape", shape]
    if spans is not None:
        args += ["--spans", str(spans)]
    return tuple(args)


JOBS: tuple[Job, ...] = (
    Job("caller_otel_noop", "bench_caller.py", _args("otel-noop", repeats=9)),
    Job("caller_otel", "bench_caller.py", _args("otel", otel_message="per-span", repeats=9)),
    Job("caller_otel_batch", "bench_caller.py", _args("otel", otel_message="per-batch", repeats=9)),
    Job("caller_spanstream", "bench_caller.py", _args("spanstream", repeats=9)),
    Job("publish_raw", "bench_publish.py", _args("raw", repeats=1)),
    Job(
        "publish_otel",
        "bench_publish.py",
        _args("otel", otel_message="per-span", spans=20000, repeats=1),
    ),
    Job(
        "publish_otel_batch",
        "bench_publish.py",
        _args("otel", otel_message="per-batch", spans=50000, repeats=1),
    ),
    Job("publish_spanstream", "bench_publish.py", _args("spanstream", repeats=1)),
    Job("consume", "bench_consume.py", _args(repeats=1)),
    # The wide and tree shapes (issue #18), each beside its references; smaller counts, as a
    # tree's record is about ten times a flat one's and OpenTelemetry exports 9 spans per tree.
    *(
        job
        for shape, roots, otel_roots, caller_roots in (
            ("wide", 50000, 20000, 20000),
            ("tree", 20000, 5000, 5000),
        )
        for job in (
            Job(
                f"caller_otel_batch_{shape}",
                "bench_caller.py",
                _args("otel", otel_message="per-batch", repeats=7, shape=shape, spans=caller_roots),
            ),
            Job(
                f"caller_spanstream_{shape}",
                "bench_caller.py",
                _args("spanstream", repeats=7, shape=shape, spans=caller_roots),
            ),
            Job(
                f"publish_raw_{shape}",
                "bench_publish.py",
                _args("raw", repeats=1, shape=shape, spans=roots),
            ),
            Job(
                f"publish_otel_batch_{shape}",
                "bench_publish.py",
                _args("otel", otel_message="per-batch", repeats=1, shape=shape, spans=otel_roots),
            ),
            Job(
                f"publish_spanstream_{shape}",
                "bench_publish.py",
                _args("spanstream", repeats=1, shape=shape, spans=roots),
            ),
            Job(f"consume_{shape}", "bench_consume.py", _args(repeats=1, shape=shape, spans=roots)),
        )
    ),
    # A p99 over 15 s is at the mercy of one burst of load on a shared machine: every round.
    Job("latency", "bench_latency.py", ()),
    Job("rss_up", "bench_rss.py", ("--mode", "up"), every_round=False),
    Job("rss_down", "bench_rss.py", ("--mode", "down"), every_round=False),
)


def merge_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from a job's rounds: the median of every number, all() of every flag.

    Rounds that failed are left out; when every round failed, the first error is kept.
    """
    good = [r for r in rounds if "error" not in r]
    if not good:
        return rounds[0] if rounds else {"error": "not run"}
    if len(good) == 1:
        return good[0]

    def merge(values: list[Any]) -> Any:
        first = values[0]
        if all(isinstance(v, bool) for v in values):
            return all(values)
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            return h.median([float(v) for v in values])
        if all(isinstance(v, dict) for v in values):
            keys = [k for k in first if all(k in v for v in values)]
            return {k: merge([v[k] for v in values]) for k in keys}
        return first

    merged: dict[str, Any] = merge(good)
    merged["rounds"] = len(good)
    return merged


def _run_job(job: Job, *, bootstrap: str, quick: bool, workdir: Path) -> dict[str, Any]:
    out = workdir / f"{job.key}.json"
    command = [sys.executable, str(HERE / job.script), *job.args, "--bootstrap", bootstrap]
    command += ["--json-out", str(out)]
    if quick:
        command.append("--quick")
    h.log(f"{job.key}: {' '.join(command[1:])}")
    start = time.monotonic()
    try:
        proc = subprocess.run(
            command, capture_output=True, text=True, timeout=job.timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {job.timeout_s:.0f} s"}
    elapsed = time.monotonic() - start
    if proc.returncode != 0 or not out.exists():
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        h.log(f"{job.key}: FAILED (exit {proc.returncode}) after {elapsed:.1f} s\n{tail}")
        last = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": last[0][:160]}
    h.log(f"{job.key}: done in {elapsed:.1f} s")
    result: dict[str, Any] = json.loads(out.read_text())
    result["wall_s"] = round(elapsed, 1)
    return result


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Row:
    """One line of the table: a value, its reference, their ratio and the target."""

    measure: str
    value: str
    reference: str
    reference_value: str
    ratio: str
    target: str
    met: str


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if value >= 1000:
        text = f"{value:,.0f}"
    elif value >= 100:
        text = f"{value:.0f}"
    elif value >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return text + unit


def _get(results: dict[str, Any], key: str, *path: str) -> float | None:
    node: Any = results.get(key)
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return float(node) if isinstance(node, int | float) else None


def _why(results: dict[str, Any], *keys: str) -> str:
    for key in keys:
        error = results.get(key, {}).get("error")
        if error:
            return f"n/a ({key}: {error})"
    return "n/a"


def _ratio_row(
    measure: str,
    value: float | None,
    reference: str,
    reference_value: float | None,
    *,
    target: str,
    check: Callable[[float], bool] | None,
    unit: str = "",
    missing: str = "n/a",
) -> Row:
    if value is None or reference_value is None or reference_value == 0:
        ratio_text, met = "n/a", ("no (not measured)" if check else "-")
        value_text = _fmt(value, unit) if value is not None else missing
        return Row(measure, value_text, reference, _fmt(reference_value, unit), "n/a", target, met)
    ratio = value / reference_value
    ratio_text = f"{ratio:.3f}" if ratio < 10 else f"{ratio:.1f}"
    met = "-" if check is None else ("yes" if check(ratio) else "NO")
    return Row(
        measure,
        _fmt(value, unit),
        reference,
        _fmt(reference_value, unit),
        ratio_text,
        target,
        met,
    )


def _key(base: str, shape: str) -> str:
    """The job key of ``base`` for ``shape`` (the flat shape's keys carry no suffix)."""
    return base if shape == "flat" else f"{base}_{shape}"


def _shape_rows(r: dict[str, Any], shape: str) -> list[Row]:
    """Caller, publish and consume for one shape, each beside its references (issue #18)."""
    rows: list[Row] = []
    caller_ss = _get(r, _key("caller_spanstream", shape), "us_per_span")
    miss_caller = _why(r, _key("caller_spanstream", shape))
    caller_refs = [("caller_otel", OTEL_PER_SPAN)] if shape == "flat" else []
    caller_refs.append((_key("caller_otel_batch", shape), OTEL_PER_BATCH))
    for key, reference in caller_refs:
        rows.append(
            _ratio_row(
                f"{shape}: caller cost per root span, us (median of repeats)",
                caller_ss,
                reference,
                _get(r, key, "us_per_span"),
                target="<= 0.1",
                check=lambda x: x <= 0.1,
                missing=miss_caller,
            )
        )
    pub_ss = _get(r, _key("publish_spanstream", shape), "spans_per_s")
    miss_pub = _why(r, _key("publish_spanstream", shape))
    rows.append(
        _ratio_row(
            f"{shape}: publish, root spans/s acknowledged (acks=all)",
            pub_ss,
            RAW_PRODUCE,
            _get(r, _key("publish_raw", shape), "spans_per_s"),
            target=">= 0.5",
            check=lambda x: x >= 0.5,
            missing=miss_pub,
        )
    )
    pub_refs = [("publish_otel", OTEL_PER_SPAN)] if shape == "flat" else []
    pub_refs.append((_key("publish_otel_batch", shape), OTEL_PER_BATCH))
    for key, reference in pub_refs:
        rows.append(
            _ratio_row(
                f"{shape}: publish, root spans/s acknowledged (acks=all)",
                pub_ss,
                reference,
                _get(r, key, "spans_per_s"),
                target=">= 15",
                check=lambda x: x >= 15,
                missing=miss_pub,
            )
        )
    consume = _key("consume", shape)
    rows.append(
        _ratio_row(
            f"{shape}: consume + decode, root spans/s (SpanConsumer)",
            _get(r, consume, "spanstream", "spans_per_s"),
            "raw consume(), no decode",
            _get(r, consume, "raw", "spans_per_s"),
            target=">= 0.6",
            check=lambda x: x >= 0.6,
            missing=_why(r, consume),
        )
    )
    return rows


def build_rows(r: dict[str, Any]) -> list[Row]:
    """Turn the collected results into the table's rows."""
    rows: list[Row] = []
    for shape in h.SHAPES:
        rows += _shape_rows(r, shape)
    miss_caller = _why(r, "caller_spanstream")
    rows.append(
        _ratio_row(
            "  context (flat): caller thread's own CPU, us/span",
            _get(r, "caller_spanstream", "cpu_us_per_span"),
            "the same for " + OTEL_PER_SPAN,
            _get(r, "caller_otel", "cpu_us_per_span"),
            target="",
            check=None,
            missing=miss_caller,
        )
    )
    rows.append(
        _ratio_row(
            "  context (flat): OTel SDK with a no-op exporter, us",
            _get(r, "caller_otel_noop", "us_per_span"),
            OTEL_PER_SPAN,
            _get(r, "caller_otel", "us_per_span"),
            target="",
            check=None,
            missing=_why(r, "caller_otel_noop"),
        )
    )
    pub_raw = _get(r, "publish_raw", "spans_per_s")
    for key, name in (("publish_otel", "per span"), ("publish_otel_batch", "per batch")):
        rows.append(
            _ratio_row(
                f"  context (flat): OpenTelemetry publish ({name}), spans/s",
                _get(r, key, "spans_per_s"),
                RAW_PRODUCE,
                pub_raw,
                target="",
                check=None,
                missing=_why(r, key),
            )
        )
    rate = _get(r, "latency", "rate_per_s")
    at = f" at {_fmt(rate)}/s" if rate else " at 10,000/s"
    rows.append(
        _ratio_row(
            f"latency add_span -> consumer, p50 ms{at}",
            _get(r, "latency", "p50_ms"),
            "target p99 bound, ms",
            50.0,
            target="",
            check=None,
            missing=_why(r, "latency"),
        )
    )
    rows.append(
        _ratio_row(
            f"latency add_span -> consumer, p99 ms{at}",
            _get(r, "latency", "p99_ms"),
            "target p99 bound, ms",
            50.0,
            target="<= 1",
            check=lambda x: x <= 1.0,
            missing=_why(r, "latency"),
        )
    )
    rows.append(
        _ratio_row(
            "  context: of which add_span -> librdkafka produce(), p99 ms",
            _get(r, "latency", "to_produce_p99_ms"),
            "target p99 bound, ms",
            50.0,
            target="",
            check=None,
            missing=_why(r, "latency"),
        )
    )
    up = r.get("rss_up", {})
    second = _get(r, "rss_up", "rss_second_half_peak_bytes")
    first = _get(r, "rss_up", "rss_first_half_peak_bytes")
    spans_up = int(up.get("spans", 1_000_000))
    half = int(up.get("half_spans", spans_up // 2))
    flat_row = _ratio_row(
        f"RSS over {spans_up:,} spans: peak of the last {spans_up - half:,}, MiB",
        second / MIB if second else None,
        f"peak of the first {half:,} spans",
        first / MIB if first else None,
        target=str(up.get("criterion", "<= 1.05")),
        check=None,
        missing=_why(r, "rss_up"),
    )
    if "flat" in up:
        flat_row = Row(**{**flat_row.__dict__, "met": "yes" if up["flat"] else "NO"})
    elif "error" in up or not up:
        flat_row = Row(**{**flat_row.__dict__, "met": "no (not measured)"})
    rows.append(flat_row)
    peak = _get(r, "rss_up", "peak_rss_bytes")
    opened = _get(r, "rss_up", "rss_open_bytes")
    up_bound = _get(r, "rss_up", "bound_bytes")
    rows.append(
        _ratio_row(
            "  context: process peak RSS (final flush included) less RSS at open, MiB",
            (peak - opened) / MIB if peak and opened else None,
            "configured queue bound",
            up_bound / MIB if up_bound else None,
            target="",
            check=None,
            missing=_why(r, "rss_up"),
        )
    )
    down = r.get("rss_down", {})
    growth = _get(r, "rss_down", "rss_growth_bytes")
    bound = _get(r, "rss_down", "bound_bytes")
    down_row = _ratio_row(
        "RSS growth while the broker is down, MiB",
        growth / MIB if growth is not None else None,
        down.get("bound_name", "configured queue bound"),
        bound / MIB if bound else None,
        target=down.get("criterion", "<= 1, and a plateau"),
        check=None,
        missing=_why(r, "rss_down"),
    )
    if "bounded" in down:
        down_row = Row(**{**down_row.__dict__, "met": "yes" if down["bounded"] else "NO"})
    elif "error" in down or not down:
        down_row = Row(**{**down_row.__dict__, "met": "no (not measured)"})
    rows.append(down_row)
    return rows


def render(
    rows: list[Row], machine: dict[str, Any], broker: str, wall_s: float, *, rounds: int = 1
) -> str:
    """The table (Markdown, so it can go straight into the README) and the machine."""
    header = ("measure", "spanstream", "reference", "reference value", "ratio", "target", "met")
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for row in rows:
        cells = (
            row.measure,
            row.value,
            row.reference,
            row.reference_value,
            row.ratio,
            row.target,
            row.met,
        )
        lines.append("| " + " | ".join(cells) + " |")
    m = machine
    lines += [
        "",
        (
            f"Machine: {m['cpu_model']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}; "
            f"{m['python']}; confluent-kafka {m['confluent_kafka']} "
            f"(librdkafka {m['librdkafka']}); "
            f"fastavro {m['fastavro']}; opentelemetry-sdk {m['opentelemetry_sdk']}; "
            f"protobuf {m['protobuf']}; spanstream codec: {m.get('spanstream_codec', 'n/a')}."
        ),
        (
            f"Broker: {broker}. Load average (1, 5, 15 min) before the run: "
            f"{m.get('load_average', 'n/a')}, after: {m.get('load_average_after', 'n/a')}. "
            f"Compared figures: median of {rounds} round(s). Whole run: {wall_s / 60:.1f} min."
        ),
    ]
    return "\n".join(lines)


def _broker_description(broker: Any) -> str:
    try:
        from spanstream.broker import KAFKA_VERSION
    except ImportError:
        version = "unknown version"
    else:
        version = f"Apache Kafka {KAFKA_VERSION}" if broker.local is not None else "as given"
    return f"{broker.bootstrap_servers} ({broker.source.value}, {version}, single node)"


def main(argv: list[str] | None = None) -> None:
    """Obtain a broker, run every benchmark, print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    p.add_argument(
        "--only", action="append", metavar="KEY", help="run only these jobs (repeatable)"
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="run the compared jobs this many times, round-robin, and take medians",
    )
    p.add_argument(
        "--json-out", type=Path, default=HERE.parent / "build" / "bench" / "results.json"
    )
    args = p.parse_args(argv)
    rounds = 1 if args.quick else max(1, args.rounds)
    jobs = [j for j in JOBS if not args.only or j.key in args.only]

    from spanstream.broker import obtain_broker

    machine = h.machine_info()
    machine["load_average"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    started = time.monotonic()
    broker = obtain_broker()
    per_round: dict[str, list[dict[str, Any]]] = {job.key: [] for job in jobs}
    try:
        with tempfile.TemporaryDirectory(prefix="spanstream-bench-") as tmp:
            # Round-robin, so that a burst of load elsewhere on the machine hits every row alike.
            for number in range(rounds):
                h.log(f"round {number + 1} of {rounds}")
                for job in jobs:
                    if number == 0 or job.every_round:
                        per_round[job.key].append(
                            _run_job(
                                job,
                                bootstrap=broker.bootstrap_servers,
                                quick=args.quick,
                                workdir=Path(tmp),
                            )
                        )
        description = _broker_description(broker)
    finally:
        broker.stop()
    wall_s = time.monotonic() - started
    machine["load_average_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results = {key: merge_rounds(values) for key, values in per_round.items()}
    table = render(build_rows(results), machine, description, wall_s, rounds=rounds)
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(
        json.dumps(
            {
                "machine": machine,
                "broker": description,
                "results": results,
                "rounds": per_round,
                "wall_s": wall_s,
            },
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )
    if args.quick:
        print("QUICK RUN: tiny sizes, the figures below are not measurements.\n")
    print(table)
    print(f"\n(all results: {args.json_out})")


if __name__ == "__main__":
    main()
