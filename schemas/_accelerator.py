"""Find the optional C accelerator, ``spanstream.schemas._speedups``.

It is built by ``pip install`` when a C compiler is there (``optional = true`` in
pyproject.toml) and can be turned off with ``SPANSTREAM_NO_SPEEDUPS=1``; the pure-Python code
is the reference and the fallback for everything in it.
"""

from __future__ import annotations

import os
from types import ModuleType


def load_accelerator() -> ModuleType | None:
    """Return the C accelerator module, or None if it is not built or turned off."""
    if os.environ.get("SPANSTREAM_NO_SPEEDUPS", "") not in ("", "0"):
        return None
    try:
        from spanstream.schemas import _speedups
    except ImportError:
        return None
    return _speedups
