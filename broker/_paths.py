"""Where spanstream keeps local broker state (Kafka jars, KRaft data, logs, pid files)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["STATE_DIR_ENV", "default_state_dir"]

STATE_DIR_ENV = "SPANSTREAM_STATE_DIR"
"""Environment variable that overrides the state folder."""


def default_state_dir() -> Path:
    """Return the folder that holds local broker state.

    In order: ``$SPANSTREAM_STATE_DIR``; ``.state/`` at the root of the source checkout this
    package was installed from (editable installs, the project's own case; git ignores it);
    else ``~/.cache/spanstream`` (a wheel installed into site-packages).
    """
    override = os.environ.get(STATE_DIR_ENV)
    if override:
        return Path(override).expanduser().resolve()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "broker").is_dir():
        return checkout / ".state"
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "spanstream"
