"""Exit codes and the one-line errors the ``spanstream`` command prints instead of tracebacks."""

from __future__ import annotations

import enum
import os
import sys
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
    "PipeConsole",
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
    INTERRUPTED = 130
    """Stopped by Ctrl-C (SIGINT), as shells count it: 128 + 2."""


EXIT_CODES_HELP = (
    "Exit codes: 0 ok (also when the reader of the output went away, as `| head` does); "
    "1 failure (spans lost, topic missing, fewer spans than --max, nothing to plot); "
    "2 usage error (bad option, time, path or config file); 3 Kafka broker unreachable; "
    "130 interrupted (Ctrl-C)."
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


class PipeConsole(Console):
    """A console whose closed pipe is a normal end (exit 0), not rich's exit 1."""

    def on_broken_pipe(self) -> None:
        """Stop writing and end the command through :func:`exit_on_error` (exit 0)."""
        self.quiet = True
        raise BrokenPipeError


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


def _quiet_stdout() -> None:
    """Point standard output at /dev/null: the reader is gone.

    The interpreter's final flush must not fail again (Python's documented way with SIGPIPE).
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (captured output in a test)
        pass


@contextmanager
def exit_on_error() -> Iterator[None]:
    """Turn a spanstream error into one line on stderr and its exit code; Ctrl-C into 130.

    A closed pipe (``spanstream tail ... | head``) is a normal end: exit 0, silently.
    """
    try:
        yield
    except SpanstreamError as exc:
        print_error(str(exc))
        raise typer.Exit(int(_exit_code_of(exc))) from exc
    except BrokenPipeError as exc:
        _quiet_stdout()
        raise typer.Exit(int(ExitCode.OK)) from exc
    except KeyboardInterrupt as exc:
        _STDERR.print("interrupted", highlight=False)
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from exc
