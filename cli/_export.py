"""``spanstream export``: a topic's time range to a Parquet or CSV file, with a progress bar.

Spans go to ``--out``; a topic's events (Flink 2.1+) have a table layout of their own and go to
a second file beside it, ``<stem>.events<suffix>`` (written only when there are events).
``--kind span`` leaves events out; ``--kind event`` writes only the events, to ``--out``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from spanstream.cli._exit import CliError, ExitCode, UsageError
from spanstream.cli._kafka import BrokerAddress, check_reachable
from spanstream.cli._reading import RangeReader
from spanstream.cli._tail import RecordKind
from spanstream.cli._timerange import TimeRange
from spanstream.consumer import (
    AttributeLayout,
    EventRecord,
    SpanRecord,
    events_to_arrow,
    to_arrow,
)
from spanstream.schemas import ExtraMissingError

__all__ = ["EXPORT_FORMATS", "check_writable", "events_path", "run_export"]

EXPORT_FORMATS: Final = {".parquet": "parquet", ".csv": "csv"}
_LAYOUTS: Final = ("map", "columns")


def check_writable(path: Path, *, option: str) -> None:
    """Check, before any reading, that ``path`` can be written (created, or overwritten).

    A file that did not exist is created to find out, and removed again.

    Raises:
        UsageError: the folder is missing, it is not a file, or the system refuses the write
            (no permission, a read-only or virtual file system such as /proc).
    """
    if not path.parent.is_dir():
        raise UsageError(f"{option}: folder {path.parent} does not exist")
    if path.is_dir():
        raise UsageError(f"{option}: {path} is a folder; give a file name")
    existed = path.exists()
    try:
        with path.open("ab"):
            pass
    except OSError as exc:
        raise UsageError(f"{option}: cannot write {path}: {exc.strerror or exc}") from exc
    if not existed:
        with contextlib.suppress(OSError):  # it is written again at the end
            path.unlink()
    if existed and not os.access(path, os.W_OK):
        raise UsageError(f"{option}: cannot write {path}: permission denied")


def events_path(out: Path) -> Path:
    """Where ``export`` writes the events beside the spans: ``<stem>.events<suffix>``.

    >>> events_path(Path("spans.parquet"))
    PosixPath('spans.events.parquet')
    """
    return out.with_name(f"{out.stem}.events{out.suffix}")


def _write(
    records: list[SpanRecord] | list[EventRecord],
    path: Path,
    *,
    fmt: str,
    layout: AttributeLayout,
    events: bool,
) -> int:
    try:
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ExtraMissingError(f"spanstream export to {fmt}", "analytics") from exc
    # CSV has no map type: one typed column per attribute key (attr.<key>).
    chosen: AttributeLayout = "columns" if fmt == "csv" else layout
    table = (
        events_to_arrow(records, attributes=chosen)
        if events
        else to_arrow(records, attributes=chosen)
    )
    try:
        if fmt == "csv":
            pacsv.write_csv(table, path)
        else:
            pq.write_table(table, path, compression="zstd")
    except OSError as exc:  # the disk filled up, or the file went away meanwhile
        raise CliError(f"--out: writing {path} failed: {exc.strerror or exc}") from exc
    rows: int = table.num_rows
    return rows


def run_export(
    address: BrokerAddress,
    topic: str,
    time_range: TimeRange,
    *,
    out: Path,
    console: Console,
    attributes: str | None = None,
    kind: RecordKind = "all",
    properties: Mapping[str, str] | None = None,
) -> ExitCode:
    """Read the range and write one row per span (children flattened) to ``out``.

    Events (``kind="all"``, when there are any) go to :func:`events_path` beside it, one row
    per event (see ``spanstream.consumer.events_to_arrow``); ``kind="event"`` writes only the
    events, to ``out``; ``kind="span"`` only the spans.

    Parquet keeps attributes in one ``map<string,string>`` column (``attributes="map"``, the
    default) or one typed column per key (``"columns"``); CSV gets one column per attribute key.
    See ``spanstream.consumer.to_arrow`` for the columns.
    """
    fmt = EXPORT_FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise UsageError(f"--out: {out} should end in .parquet or .csv")
    if attributes is not None and attributes not in _LAYOUTS:
        raise UsageError(f"--attributes: {attributes!r} is not one of map, columns")
    if fmt == "csv" and attributes == "map":
        raise UsageError("--attributes map: CSV has no map type; CSV always has columns")
    layout: AttributeLayout = "columns" if attributes == "columns" else "map"
    check_writable(out, option="--out")
    events_out = events_path(out) if kind == "all" else out
    if kind == "all":
        check_writable(events_out, option="--out (its events file)")
    check_reachable(address, properties=properties)
    reader = RangeReader(address, topic, time_range, properties=properties)
    total = reader.total_records
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    with progress:
        task = progress.add_task(f"reading {topic}", total=total)
        records: list[SpanRecord] = []
        events: list[EventRecord] = []
        for record in reader.records(
            on_progress=lambda read: progress.update(task, completed=min(read, total))
        ):
            if isinstance(record, EventRecord):
                events.append(record)
            else:
                records.append(record)
        progress.update(task, completed=total)
    written = []
    if kind != "event":
        rows = _write(records, out, fmt=fmt, layout=layout, events=False)
        written.append(f"{rows:,} rows ({len(records):,} spans and their nested spans) to {out}")
    if kind == "event" or events:
        _write(events, events_out, fmt=fmt, layout=layout, events=True)
        written.append(f"{len(events):,} events to {events_out}")
    if kind == "all" and not events:
        written.append("no events")
    stats = reader.stats
    console.print(
        f"wrote {' and '.join(written)} from {topic} ({time_range.describe()}); "
        f"{stats.bad_records:,} bad records skipped",
        highlight=False,
        soft_wrap=True,
    )
    return ExitCode.OK
