"""``spanstream export``: a topic's time range to a Parquet or CSV file, with a progress bar."""

from __future__ import annotations

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

from spanstream.cli._exit import ExitCode, UsageError
from spanstream.cli._kafka import BrokerAddress, check_reachable
from spanstream.cli._reading import RangeReader
from spanstream.cli._timerange import TimeRange
from spanstream.consumer import SpanRecord, to_arrow, write_parquet
from spanstream.schemas import ExtraMissingError

__all__ = ["EXPORT_FORMATS", "run_export"]

EXPORT_FORMATS: Final = {".parquet": "parquet", ".csv": "csv"}


def _write_csv(records: list[SpanRecord], path: Path) -> int:
    try:
        import pyarrow.csv as pacsv
    except ImportError as exc:
        raise ExtraMissingError("spanstream export to CSV", "analytics") from exc
    # CSV has no map type: one typed column per attribute key (attr.<key>).
    table = to_arrow(records, attributes="columns")
    pacsv.write_csv(table, path)
    rows: int = table.num_rows
    return rows


def run_export(
    address: BrokerAddress, topic: str, time_range: TimeRange, *, out: Path, console: Console
) -> ExitCode:
    """Read the range and write one row per span (children flattened) to ``out``.

    Parquet keeps attributes in one ``map<string,string>`` column; CSV gets one column per
    attribute key. See ``spanstream.consumer.to_arrow`` for the columns.
    """
    kind = EXPORT_FORMATS.get(out.suffix.lower())
    if kind is None:
        raise UsageError(f"--out: {out} should end in .parquet or .csv")
    if not out.parent.is_dir():
        raise UsageError(f"--out: folder {out.parent} does not exist")
    check_reachable(address)
    reader = RangeReader(address, topic, time_range)
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
        records = list(
            reader.read(on_progress=lambda read: progress.update(task, completed=min(read, total)))
        )
        progress.update(task, completed=total)
    rows = write_parquet(records, out) if kind == "parquet" else _write_csv(records, out)
    stats = reader.stats
    console.print(
        f"wrote {rows:,} rows ({len(records):,} spans and their nested spans) from {topic} "
        f"({time_range.describe()}) to {out}; {stats.bad_records:,} bad records skipped",
        highlight=False,
        soft_wrap=True,
    )
    return ExitCode.OK
