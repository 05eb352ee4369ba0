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

    __slots__ = ("ids", "order", "size")

    def __init__(self, *, size: int) -> None:
        if size < 0:
            raise ValueError(f"size must be >= 0, got {size}")
        self.size = size
        """How many ids the window holds at most."""
        # The consumer's conversion loop inlines seen() over these two (a call per span costs).
        self.ids: set[bytes] = set()
        """The ids in the window."""
        self.order: deque[bytes] = deque()
        """The same ids, oldest first."""

    def seen(self, span_id: bytes) -> bool:
        """Return whether ``span_id`` is in the window; remember it if not."""
        if span_id in self.ids:
            return True
        if self.size:
            if len(self.order) >= self.size:
                self.ids.discard(self.order.popleft())
            self.order.append(span_id)
            self.ids.add(span_id)
        return False

    def clear(self) -> None:
        """Forget every id (after a deliberate replay, re-reading is not duplication)."""
        self.ids.clear()
        self.order.clear()

    def __len__(self) -> int:
        return len(self.ids)
