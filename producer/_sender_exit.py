"""What becomes of open Kafka senders at interpreter exit and in a forked child.

At exit, every sender still open is closed with its ``close.timeout.s`` deadline, so queued
records are delivered rather than lost with the (daemon) sender thread. In a child process
after ``fork()``, every sender inherited from the parent is closed without sending: librdkafka's
threads do not exist there, and the parent's queued records must not be sent twice.
"""

from __future__ import annotations

import atexit
import os
import weakref
from typing import Final, Protocol

__all__ = ["forget", "remember"]


class _Sender(Protocol):
    """What this module asks of a sender."""

    def close(self) -> int:
        """Close within the configured deadline; return how many records were still pending."""
        ...

    def after_fork_in_child(self) -> None:
        """Become closed without sending (the child has no sender thread)."""

    def log_exit(self, pending: int | None) -> None:
        """Log the outcome of the exit hook's close (``None``: it raised; called in the handler)."""


_LIVE: Final[weakref.WeakSet[_Sender]] = weakref.WeakSet()
_AT_EXIT_REGISTERED: list[bool] = []


def remember(sender: _Sender) -> None:
    """Close ``sender`` at exit and in a forked child (until :func:`forget`)."""
    _LIVE.add(sender)
    # Registered at the first open rather than at import, so that an application's own exit
    # hooks registered before that open run after the senders have closed (atexit is LIFO).
    if not _AT_EXIT_REGISTERED:
        _AT_EXIT_REGISTERED.append(True)
        atexit.register(_close_at_exit)


def forget(sender: _Sender) -> None:
    """``sender`` closed by itself: nothing to do for it any more."""
    _LIVE.discard(sender)


def _close_at_exit() -> None:
    for sender in list(_LIVE):
        try:
            pending = sender.close()
        except Exception:  # noqa: BLE001 - one sender failing must not stop the others
            sender.log_exit(None)  # in the handler, so the traceback is logged
            continue
        sender.log_exit(pending)


def _close_in_child() -> None:
    for sender in list(_LIVE):
        sender.after_fork_in_child()
    _LIVE.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_in_child)
