"""The rich tables of one row per job that ``stats`` and ``demo`` print: one way to build them."""

from __future__ import annotations

from rich import box
from rich.table import Column, Table

__all__ = ["job_table", "number", "text"]


def number(heading: str, *, wrap: bool = False) -> Column:
    """A right-justified column (counts, durations, sizes); unwrapped unless ``wrap``."""
    return Column(heading, justify="right", no_wrap=not wrap)


def text(heading: str, *, wrap: bool = True) -> Column:
    """A left-justified column; wrapped unless ``wrap`` is False."""
    return Column(heading, no_wrap=not wrap)


def job_table(
    title: str, *columns: Column, padding: tuple[int, int] | tuple[int, int, int, int] = (0, 1)
) -> Table:
    """A table titled ``title`` (on the left, simple heading): ``job`` (unwrapped), ``columns``."""
    return Table(
        Column("job", no_wrap=True),
        *columns,
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=padding,
    )
