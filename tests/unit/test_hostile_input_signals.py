"""close_on_exit: SIGTERM (a hostile end for a reporting process) closes the registry first."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from spanstream.producer import ReporterRegistry, close_on_exit


@pytest.fixture
def registry() -> Iterator[ReporterRegistry]:
    registry = ReporterRegistry.from_config({"traces.reporter.mem.factory.class": "in_memory"})
    yield registry
    registry.close()


@pytest.fixture
def restore_sigterm() -> Iterator[None]:
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


def test_sigterm_closes_the_registry_then_exits_with_143(registry, restore_sigterm):
    """With the default action before it: the registry is closed, then SystemExit(143)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    undo = close_on_exit(registry)
    try:
        with pytest.raises(SystemExit) as exited:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler runs before kill returns
    finally:
        undo()
    assert exited.value.code == 128 + signal.SIGTERM
    assert registry.closed


def test_a_previous_python_handler_is_called_after_closing(registry, restore_sigterm):
    """The handler installed before close_on_exit still runs, after the registry is closed."""
    seen: list[bool] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(registry.closed))
    undo = close_on_exit(registry)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
    finally:
        undo()
    assert seen == [True]


def test_an_ignored_signal_stays_ignored_after_closing(registry, restore_sigterm):
    """SIGTERM ignored before: the registry is closed and the process goes on."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    undo = close_on_exit(registry)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
    finally:
        undo()
    assert registry.closed


def test_undo_restores_the_previous_handler(registry, restore_sigterm):
    """After undo() the signal has its previous handler again and the registry stays open."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    undo = close_on_exit(registry)
    undo()
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    assert not registry.closed
