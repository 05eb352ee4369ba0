"""``spanstream stats``: checkpoint, initialization and failure summaries over a time range."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from spanstream.cli._exit import CliError, ExitCode, UsageError
from spanstream.cli._export import check_writable
from spanstream.cli._health import HealthBoard, JobHealth, percentile
from spanstream.cli._kafka import BrokerAddress, check_reachable
from spanstream.cli._reading import RangeReader
from spanstream.cli._tables import job_table, number, text
from spanstream.cli._timerange import TimeRange
from spanstream.consumer import SpanRecord
from spanstream.schemas import ExtraMissingError

__all__ = ["plot_checkpoints", "restored_text", "run_stats", "stats_document"]


def _fmt(value: float | None, *, scale: float = 1.0, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value / scale:,.{digits}f}"


_MIB = 1024 * 1024


def checkpoint_table(jobs: list[JobHealth]) -> Table:
    """Checkpoints per job: counts, duration quantiles, sizes."""
    headings = (
        "completed",
        "failed",
        "p50 ms",
        "p95 ms",
        "max ms",
        "mean incr MiB",
        "last full MiB",
        "last id",
    )
    table = job_table("checkpoints", *map(number, headings))
    for job in jobs:
        if not job.completed and not job.failed:
            continue
        durations = job.durations_millis()
        completed = [c for c in job.checkpoints if c.completed]
        incremental = (
            sum(c.checkpointed_size_bytes for c in completed) / len(completed)
            if completed
            else None
        )
        last = job.last_completed
        table.add_row(
            job.job,
            str(job.completed),
            str(job.failed),
            _fmt(percentile(durations, 0.5)),
            _fmt(percentile(durations, 0.95)),
            _fmt(max(durations) if durations else None),
            _fmt(incremental, scale=_MIB, digits=1),
            _fmt(None if last is None else last.full_size_bytes, scale=_MIB, digits=1),
            "-" if last is None else str(last.checkpoint_id),
        )
    return table


def restored_text(checkpoint_ids: list[int], *, last: int = 5) -> str:
    """The checkpoints restored from, each once in order of first use, with a count if repeated.

    >>> restored_text([3, 3, 3, 6])
    '#3 x3, #6'
    """
    counts: dict[int, int] = {}
    for checkpoint_id in checkpoint_ids:
        counts[checkpoint_id] = counts.get(checkpoint_id, 0) + 1
    shown = [f"#{i}" + (f" x{n}" if n > 1 else "") for i, n in counts.items()][-last:]
    return ", ".join(shown) or "none (fresh starts)"


def initialization_table(jobs: list[JobHealth]) -> Table:
    """Job initializations per job: count, statuses, durations, restores."""
    table = job_table(
        "initializations",
        number("count", wrap=True),
        text("statuses"),
        number("p50 ms", wrap=True),
        number("max ms", wrap=True),
        text("restored from checkpoints"),
    )
    for job in jobs:
        if not job.initializations:
            continue
        durations = job.initialization_durations_millis
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(job.initialization_statuses.items()))
        restored = restored_text(job.restored_from)
        table.add_row(
            job.job,
            str(job.initializations),
            statuses,
            _fmt(percentile(durations, 0.5)),
            _fmt(max(durations)),
            restored,
        )
    return table


def failure_table(jobs: list[JobHealth]) -> Table:
    """Job failures per job: count, restartable, global, labels."""
    table = job_table(
        "failures",
        *(number(heading, wrap=True) for heading in ("count", "restartable", "global")),
        text("labels"),
    )
    for job in jobs:
        if not job.failures:
            continue
        labels = ", ".join(f"{k} ({v})" for k, v in job.failure_labels.most_common(4))
        table.add_row(
            job.job,
            str(job.failures),
            str(job.restartable_failures),
            str(job.global_failures),
            labels or "-",
        )
    return table


def status_table(jobs: list[JobHealth]) -> Table:
    """Job status per job, from Flink 2.2+'s JobStatusChangeEvent/AllSubtasksStatusChangeEvent."""
    table = job_table(
        "job status",
        text("status", wrap=False),
        text("all subtasks running", wrap=False),
        text("changes"),
    )
    for job in jobs:
        if job.job_status is None and job.all_subtasks_running is None:
            continue
        running = job.all_subtasks_running
        table.add_row(
            job.job,
            job.job_status or "-",
            "-" if running is None else ("yes" if running else "no"),
            " -> ".join(job.status_changes[-8:]) or "-",
        )
    return table


def other_table(jobs: list[JobHealth]) -> Table:
    """Custom (non-system) spans per job and name."""
    table = job_table("other spans", text("span", wrap=False), number("count", wrap=True))
    for job in jobs:
        for name, count in sorted(job.other_spans.items()):
            table.add_row(job.job, name, f"{count:,}")
    return table


def stats_document(
    reader: RangeReader, board: HealthBoard, time_range: TimeRange
) -> dict[str, Any]:
    """What ``--json`` prints: the range, the counts and every job's summary."""
    stats = reader.stats
    return {
        "topic": reader.topic,
        "since_ms": time_range.since_millis,
        "until_ms": time_range.until_millis,
        "spans": board.spans,
        "events": board.events,
        "bad_records": stats.bad_records,
        "duplicates": stats.duplicate_spans,
        "jobs": [job.to_dict() for job in board.jobs()],
    }


def plot_checkpoints(jobs: list[JobHealth], path: Path) -> int:
    """Draw checkpoint durations and checkpointed sizes over time, a line per job.

    Returns:
        How many checkpoints were drawn.

    Raises:
        ExtraMissingError: matplotlib (the ``plot`` extra) is not installed.
    """
    try:
        import matplotlib as mpl

        mpl.use("Agg")
        import matplotlib.dates as mdates
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ExtraMissingError("spanstream stats --plot", "plot") from exc
    import datetime as dt

    figure, (durations_ax, sizes_ax) = plt.subplots(2, 1, sharex=True, figsize=(11, 7))
    drawn = 0
    for job in jobs:
        points = list(job.checkpoints)
        if not points:
            continue
        drawn += len(points)
        times = [dt.datetime.fromtimestamp(p.end_ts_millis / 1000, tz=dt.UTC) for p in points]
        ok = [(t, p) for t, p in zip(times, points, strict=True) if p.completed]
        (line,) = durations_ax.plot(
            [t for t, _ in ok], [p.duration_millis for _, p in ok], marker=".", label=job.job
        )
        failed = [(t, p) for t, p in zip(times, points, strict=True) if not p.completed]
        if failed:
            durations_ax.scatter(
                [t for t, _ in failed],
                [p.duration_millis for _, p in failed],
                marker="x",
                color=line.get_color(),
            )
        for kind, sizes, style in (
            ("incremental", [p.checkpointed_size_bytes for _, p in ok], {"marker": "."}),
            ("full", [p.full_size_bytes for _, p in ok], {"linestyle": "--"}),
        ):
            sizes_ax.plot(
                [t for t, _ in ok],
                [size / _MIB for size in sizes],
                color=line.get_color(),
                label=f"{job.job} ({kind})",
                **style,
            )
    durations_ax.set_ylabel("checkpoint duration (ms)")
    durations_ax.set_title("Checkpoint duration per job (x: failed)")
    durations_ax.legend(loc="upper left", fontsize="small")
    sizes_ax.set_ylabel("size (MiB)")
    sizes_ax.set_title("Checkpointed (incremental) and full size per job")
    sizes_ax.legend(loc="upper left", fontsize="small", ncols=2)
    time_format = mdates.DateFormatter("%H:%M:%S", tz=dt.UTC)  # type: ignore[no-untyped-call]
    sizes_ax.xaxis.set_major_formatter(time_format)
    sizes_ax.set_xlabel("checkpoint end (UTC)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return drawn


def run_stats(
    address: BrokerAddress,
    topic: str,
    time_range: TimeRange,
    *,
    as_json: bool,
    plot_path: Path | None,
    console: Console,
    properties: Mapping[str, str] | None = None,
) -> ExitCode:
    """Read the range, summarise it, print tables (or JSON), draw the plot if asked.

    Returns:
        ``OK``; ``FAILURE`` when ``--plot`` was asked for and the range has no checkpoint
        (nothing is drawn then).
    """
    if plot_path is not None:
        if plot_path.suffix.lower() not in {".png", ".svg", ".pdf"}:
            raise UsageError(f"--plot: {plot_path} should end in .png, .svg or .pdf")
        check_writable(plot_path, option="--plot")
    check_reachable(address, properties=properties)
    reader = RangeReader(address, topic, time_range, properties=properties)
    board = HealthBoard(keep_checkpoints=None)
    status = Console(stderr=True)
    with status.status(f"reading {reader.total_records:,} records of {topic}..."):
        for record in reader.records():
            # Flink 2.2+'s system events on the topic give job failures and status changes.
            board.observe(record.span if isinstance(record, SpanRecord) else record.event)
    if as_json:
        console.out(json.dumps(stats_document(reader, board, time_range), indent=2))
    else:
        stats = reader.stats
        console.print(
            f"topic {topic}, records from {time_range.describe()}: {board.spans:,} spans, "
            f"{stats.bad_records:,} bad records, {stats.duplicate_spans:,} duplicates",
            highlight=False,
            soft_wrap=True,
        )
        jobs = board.jobs()
        for table in (
            checkpoint_table(jobs),
            initialization_table(jobs),
            failure_table(jobs),
            status_table(jobs),
            other_table(jobs),
        ):
            if table.row_count:
                console.print(table)
    if plot_path is not None:
        jobs = board.jobs()
        if not any(job.checkpoints for job in jobs):
            raise CliError(
                f"--plot: no checkpoints in {topic} ({time_range.describe()}); nothing drawn, "
                f"{plot_path} not written"
            )
        try:
            drawn = plot_checkpoints(jobs, plot_path)
        except OSError as exc:
            raise CliError(f"--plot: writing {plot_path} failed: {exc.strerror or exc}") from exc
        Console(stderr=True).print(
            f"plotted {drawn:,} checkpoints to {plot_path}", highlight=False, soft_wrap=True
        )
    return ExitCode.OK
