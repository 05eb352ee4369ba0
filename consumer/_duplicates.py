"""Counting redelivered spans: a bounded window of recently seen span ids."""

from __future__ import annotations

from collections import deque

__all__ = ["DuplicateWindow"]


class DuplicateWindow:
    """Remembers the last ``size`` span ids and says whether an id was seen among them.

    At-least-once delivery redelivers what was not yet committed (after a crash or a
    rebalance); the window lets the consumer count (and optionally drop) those duplicates.
    Memory is bounded: an id older than ``size`` spans is forgotten.

    Example:
        >>> window = DuplicateWindow(size=2)
        >>> [window.seen(x) for x in (b"a", b"b", b"a", b"c", b"a")]
        [False, False, True, False, False]
    """

    __slots__ = ("_ids", "_order", "_size")

    def __init__(self, *, size: int) -> None:
        if size < 0:
            raise ValueError(f"size must be >= 0, got {size}")
        self._size = size
        self._ids: set[bytes] = set()
        self._order: deque[bytes] = deque()

    def seen(self, span_id: bytes) -> bool:
        """Return whether ``span_id`` is in the window; remember it if not."""
        if span_id in self._ids:
            return True
        if self._size:
            if len(self._order) >= self._size:
                self._ids.discard(self._order.popleft())
            self._order.append(span_id)
            self._ids.add(span_id)
        return False

    def clear(self) -> None:
        """Forget every id (after a deliberate replay, re-reading is not duplication)."""
        self._ids.clear()
        self._order.clear()

    def __len__(self) -> int:
        return len(self._ids)
