"""Operating-system plumbing for local brokers: pid files, liveness, signals, ports, locks."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "file_lock",
    "pid_alive",
    "port_accepts",
    "port_is_free",
    "read_pid",
    "signal_group",
    "wait_for_exit",
]


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if missing) for the block.

    Serialises broker starts and stops between processes sharing one state folder, such as two
    test sessions run at once.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_pid(path: Path) -> int | None:
    """Return the pid stored in a pid file, or None when it is missing or unreadable."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def pid_alive(pid: int, *, cmdline_marker: str | None = None) -> bool:
    """Tell whether process ``pid`` is running (and not a zombie).

    With ``cmdline_marker``, the process's command line must also contain it (on Linux, read
    from ``/proc``), so that a recycled pid is not taken for our broker.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists but belongs to someone else
    proc = Path(f"/proc/{pid}")
    if not proc.is_dir():
        return True  # not Linux: the signal check is all we have
    try:
        stat = (proc / "stat").read_text()
        # The state letter follows the parenthesised command name.
        if stat[stat.rindex(")") + 2] in "ZX":
            return False
        if cmdline_marker is not None:
            raw = (proc / "cmdline").read_bytes()
            # Empty while a just-spawned process is still inside exec(): cannot tell, so alive.
            return not raw or cmdline_marker in raw.replace(b"\0", b" ").decode(errors="replace")
    except (OSError, ValueError, IndexError):
        return False
    return True


def signal_group(pid: int, signum: signal.Signals) -> None:
    """Send ``signum`` to the process group led by ``pid`` (the broker runs in its own session)."""
    with contextlib.suppress(ProcessLookupError):
        try:
            os.killpg(pid, signum)
        except PermissionError:
            os.kill(pid, signum)


def wait_for_exit(pid: int, *, timeout_s: float) -> bool:
    """Wait until ``pid`` has exited (reaping it when it is our child); return whether it did."""
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not pid_alive(pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def port_is_free(host: str, port: int) -> bool:
    """Tell whether a listening socket could bind ``host:port`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Kafka sets SO_REUSEADDR too, so a port in TIME_WAIT counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in {errno.EADDRINUSE, errno.EACCES}:
                return False
            raise
    return True


def port_accepts(host: str, port: int, *, timeout_s: float = 0.5) -> bool:
    """Tell whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False
