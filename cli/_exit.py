"""Exit codes and the one-line errors the ``spanstream`` command prints instead of tracebacks."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape

from spanstream.schemas import BrokerError, ConfigError, ExtraMissingError, SpanstreamError

__all__ = [
    "EXIT_CODES_HELP",
    "BrokerUnreachableError",
    "CliError",
    "ExitCode",
    "UsageError",
    "exit_on_error",
    "print_error",
]


class ExitCode(enum.IntEnum):
    """What ``spanstream`` exits with."""

    OK = 0
    """The command did what it was asked (the demo: every span delivered and consumed)."""
    FAILURE = 1
    """It ran but failed: spans lost in the demo, a missing topic, fewer spans than ``--max``."""
    USAGE = 2
    """A usage error: a bad option, time, filter or configuration file."""
    BROKER_UNREACHABLE = 3
    """No Kafka broker answered at the address used (or one could not be started)."""


EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 failure (spans lost, topic missing, fewer spans than --max); "
    "2 usage error (bad option, time or config file); 3 Kafka broker unreachable."
)


class CliError(SpanstreamError):
    """A failure the command reports as one line and an exit code."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, *, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(CliError):
    """The user asked for something malformed: exit code 2."""

    exit_code = ExitCode.USAGE


class BrokerUnreachableError(CliError):
    """No broker answered: exit code 3. The message says where, and how to start one."""

    exit_code = ExitCode.BROKER_UNREACHABLE


_STDERR = Console(stderr=True, soft_wrap=True)


def print_error(message: str) -> None:
    """Print ``error: message`` on standard error, as one line (line breaks become spaces)."""
    one_line = " ".join(message.split())
    _STDERR.print(f"[bold red]error:[/] {escape(one_line)}", highlight=False)


def _exit_code_of(exc: SpanstreamError) -> ExitCode:
    if isinstance(exc, CliError):
        return exc.exit_code
    if isinstance(exc, ConfigError):
        return ExitCode.USAGE
    if isinstance(exc, BrokerError):
        return ExitCode.BROKER_UNREACHABLE
    if isinstance(exc, ExtraMissingError):
        return ExitCode.FAILURE
    return ExitCode.FAILURE


@contextmanager
def exit_on_error() -> Iterator[None]:
    """Turn a spanstream error into one line on stderr and its exit code; Ctrl-C into 130."""
    try:
        yield
    except SpanstreamError as exc:
        print_error(str(exc))
        raise typer.Exit(int(_exit_code_of(exc))) from exc
    except KeyboardInterrupt as exc:
        _STDERR.print("interrupted", highlight=False)
        raise typer.Exit(130) from exc
