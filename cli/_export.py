"""``spanstream export``: a topic's time range to a Parquet or CSV file, with a progress bar."""

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
from spanstream.cli._timerange import TimeRange
from spanstream.consumer import AttributeLayout, SpanRecord, to_arrow, write_parquet
from spanstream.schemas import ExtraMissingError

__all__ = ["EXPORT_FORMATS", "check_writable", "run_export"]

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
    address: BrokerAddress,
    topic: str,
    time_range: TimeRange,
    *,
    out: Path,
    console: Console,
    attributes: str | None = None,
    properties: Mapping[str, str] | None = None,
) -> ExitCode:
    """Read the range and write one row per span (children flattened) to ``out``.

    Parquet keeps attributes in one ``map<string,string>`` column (``attributes="map"``, the
    default) or one typed column per key (``"columns"``); CSV gets one column per attribute key.
    See ``spanstream.consumer.to_arrow`` for the columns.
    """
    kind = EXPORT_FORMATS.get(out.suffix.lower())
    if kind is None:
        raise UsageError(f"--out: {out} should end in .parquet or .csv")
    if attributes is not None and attributes not in _LAYOUTS:
        raise UsageError(f"--attributes: {attributes!r} is not one of map, columns")
    if kind == "csv" and attributes == "map":
        raise UsageError("--attributes map: CSV has no map type; CSV always has columns")
    layout: AttributeLayout = "columns" if attributes == "columns" else "map"
    check_writable(out, option="--out")
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
        records = list(
            reader.read(on_progress=lambda read: progress.update(task, completed=min(read, total)))
        )
        progress.update(task, completed=total)
    try:
        if kind == "parquet":
            rows = write_parquet(records, out, attributes=layout)
        else:
            rows = _write_csv(records, out)
    except OSError as exc:  # the disk filled up, or the file went away meanwhile
        raise CliError(f"--out: writing {out} failed: {exc.strerror or exc}") from exc
    stats = reader.stats
    console.print(
        f"wrote {rows:,} rows ({len(records):,} spans and their nested spans) from {topic} "
        f"({time_range.describe()}) to {out}; {stats.bad_records:,} bad records skipped",
        highlight=False,
        soft_wrap=True,
    )
    return ExitCode.OK
