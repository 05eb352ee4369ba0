"""Trace and span ids, the Python reference: random, cheap, and distinct across forked processes.

The C accelerator has its own generator (xoshiro256**, the same guarantees at a tenth of the
cost); ``_implementation`` chooses which one runs and seeds the C one.
"""

from __future__ import annotations

import os
import random

__all__ = ["SPAN_ID_BYTES", "TRACE_ID_BYTES", "new_span_id", "new_trace_id"]

TRACE_ID_BYTES = 16
SPAN_ID_BYTES = 8

# One private generator, seeded from the OS. `random.Random.getrandbits` is several times
# cheaper than `os.urandom` (no system call), and ids need uniqueness, not secrecy.
_generator = random.Random(os.urandom(32))
_getrandbits = _generator.getrandbits


def _reseed_after_fork() -> None:
    # A forked child would otherwise repeat its parent's ids.
    _generator.seed(os.urandom(32))


os.register_at_fork(after_in_child=_reseed_after_fork)


def new_trace_id() -> bytes:
    """Return a random, non-zero 16-byte trace id."""
    value = _getrandbits(128)
    while not value:  # all-zero ids are invalid in OpenTelemetry
        value = _getrandbits(128)
    return value.to_bytes(TRACE_ID_BYTES, "big")


def new_span_id() -> bytes:
    """Return a random, non-zero 8-byte span id."""
    value = _getrandbits(64)
    while not value:
        value = _getrandbits(64)
    return value.to_bytes(SPAN_ID_BYTES, "big")
