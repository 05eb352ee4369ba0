"""Counting redelivered spans: a bounded window of recently seen span ids."""

from __future__ import annotations

from spanstream.schemas import SpanValueError

__all__ = ["DuplicateWindow"]


class DuplicateWindow:
    """Whether a span id was seen recently: at least the last ``size`` ids (at most twice that).

    At-least-once delivery redelivers what was not yet committed (after a crash or a
    rebalance); the window lets the consumer count (and optionally drop) those duplicates.
    Memory is bounded by two generations of ids: when the current one holds ``size`` ids it
    becomes the previous one, and the previous one is forgotten. That costs a set insert per
    span and no per-span eviction.

    Example:
        >>> window = DuplicateWindow(size=2)
        >>> [window.seen(x) for x in (b"a", b"b", b"a", b"c", b"a", b"d", b"e", b"a")]
        [False, False, True, False, True, False, False, False]
    """

    __slots__ = ("current", "previous", "size")

    def __init__(self, *, size: int) -> None:
        if size < 0:
            raise SpanValueError(f"size must be >= 0, got {size}")
        self.size = size
        """How many ids the current generation holds before it is rotated."""
        # The consumer's conversion loop inlines seen() over these (a call per span costs).
        self.current: set[bytes] = set()
        """The newest ids."""
        self.previous: set[bytes] = set()
        """The generation before (older ids)."""

    def seen(self, span_id: bytes) -> bool:
        """Return whether ``span_id`` is in the window; remember it if not."""
        if span_id in self.current or span_id in self.previous:
            return True
        if self.size:
            self.remember(span_id)
        return False

    def remember(self, span_id: bytes) -> None:
        """Add an id (not already in the window), rotating the generations when full."""
        if len(self.current) >= self.size:
            self.previous = self.current
            self.current = set()
        self.current.add(span_id)

    def clear(self) -> None:
        """Forget every id (after a deliberate replay, re-reading is not duplication)."""
        self.current = set()
        self.previous = set()

    def __len__(self) -> int:
        return len(self.current) + len(self.previous)
