"""Closing the trace reporters when the process is told to stop (SIGTERM) or exits.

Python runs no ``atexit`` hook when SIGTERM kills it (the default action ends the process at
once), so spans still queued in a Kafka reporter would be lost on an ordinary ``kill``,
``docker stop`` or Kubernetes pod shutdown. :func:`close_on_exit` is the opt-in remedy: it closes
the registry (each reporter flushing within its ``close.timeout.s``) when one of the given
signals arrives and at interpreter exit.
"""

from __future__ import annotations

import atexit
import logging
import signal
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Final

from spanstream.producer._registry import ReporterRegistry

__all__ = ["close_on_exit"]

_LOG: Final = logging.getLogger("spanstream.producer")

_Handler = Callable[[int, FrameType | None], object] | int | None


def close_on_exit(
    registry: ReporterRegistry,
    *,
    signals: Iterable[signal.Signals] = (signal.SIGTERM,),
) -> Callable[[], None]:
    """Close ``registry`` when one of ``signals`` arrives, and at interpreter exit.

    On a signal, the handler closes the registry (each reporter delivers what it holds within
    its own ``close.timeout.s``: 10 s by default for the Kafka reporter), then does what the
    signal's previous handler would: calls it when it was a Python function, does nothing more
    when the signal was ignored, and otherwise (the default action) raises
    ``SystemExit(128 + signum)``, so ``finally`` blocks and ``atexit`` hooks run and the exit
    status is the one a shell reports for a process ended by that signal (143 for SIGTERM).

    Signal handlers can only be installed from the main thread: called from another thread,
    only the exit hook is installed (and a warning logged).

    Args:
        registry: the registry to close.
        signals: the signals to handle (SIGTERM by default; add ``signal.SIGINT`` to close on
            Ctrl-C as well, before ``KeyboardInterrupt`` is raised).

    Returns:
        A function that removes the handlers (restoring the previous ones) and the exit hook.

    Example:
        >>> config = {"traces.reporter.mem.factory.class": "in_memory"}
        >>> registry = ReporterRegistry.from_config(config)
        >>> undo = close_on_exit(registry)
        >>> undo()
        >>> registry.close()
    """
    previous: dict[signal.Signals, _Handler] = {}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        try:
            registry.close()
        except Exception:  # noqa: BLE001 - the process is stopping; say why, then go on
            _LOG.exception("closing the trace reporters on signal %d failed", signum)
        before = previous.get(signal.Signals(signum))
        if callable(before):
            before(signum, frame)
        elif before == signal.SIG_IGN:
            return
        else:
            raise SystemExit(128 + signum)

    atexit.register(registry.close)
    if threading.current_thread() is threading.main_thread():
        for sig in signals:
            previous[sig] = signal.signal(sig, on_signal)
    else:
        _LOG.warning(
            "close_on_exit called outside the main thread: no signal handler installed; the "
            "registry is closed at interpreter exit only"
        )

    def undo() -> None:
        atexit.unregister(registry.close)
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        previous.clear()

    return undo
