"""Configurable limits on the shape of a span tree, applied by the Kafka reporter's sender.

The contract bounds nesting (:data:`~spanstream.schemas.MAX_SPAN_DEPTH`) and the reporter bounds
a record's bytes (``record.max.bytes``); these keys bound the rest, per reporter, under
``traces.reporter.<name>.``:

==================================== ======== =====================================================
key                                  default  meaning
==================================== ======== =====================================================
``span.max.depth``                   128      levels of children below the root (1 to 128)
``span.max.children``                0 (off)  children of any one span
``span.max.attribute.value.bytes``   0 (off)  UTF-8 bytes of any string attribute value
==================================== ======== =====================================================

A span that breaks one is dropped on the sender thread (never on the caller's) and counted as
``too-large``, like a record over ``record.max.bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from spanstream.producer._config import MetricConfig
from spanstream.schemas import MAX_SPAN_DEPTH, Span

__all__ = ["SPAN_LIMIT_KEYS", "SpanLimits"]

_MAX_INT32: Final = 2**31 - 1

SPAN_LIMIT_KEYS: Final = frozenset(
    {"span.max.depth", "span.max.children", "span.max.attribute.value.bytes"}
)
"""The keys :meth:`SpanLimits.from_metric_config` reads: the trace reporter declares them."""


@dataclass(frozen=True, slots=True)
class SpanLimits:
    """Limits on a span tree; 0 means no limit (``max_depth`` is from 1 to 128).

    Example:
        >>> limits = SpanLimits(max_children=2)
        >>> wide = Span.builder("s", "n").add_children(Span.builder("s", "c") for _ in range(3))
        >>> limits.violation(wide.build())
        'span s/n has 3 children (span.max.children is 2)'
    """

    max_depth: int = MAX_SPAN_DEPTH
    max_children: int = 0
    max_attribute_value_bytes: int = 0

    @property
    def active(self) -> bool:
        """Whether any limit is tighter than what the contract allows anyway."""
        return (
            self.max_depth < MAX_SPAN_DEPTH
            or self.max_children > 0
            or self.max_attribute_value_bytes > 0
        )

    @classmethod
    def from_metric_config(cls, config: MetricConfig) -> SpanLimits:
        """Read the ``span.max.*`` keys of a reporter's parameters.

        Raises:
            ConfigError: a value is not an integer in range.
        """
        return cls(
            max_depth=config.get_int(
                "span.max.depth", MAX_SPAN_DEPTH, minimum=1, maximum=MAX_SPAN_DEPTH
            ),
            max_children=config.get_int("span.max.children", 0, minimum=0, maximum=_MAX_INT32),
            max_attribute_value_bytes=config.get_int(
                "span.max.attribute.value.bytes", 0, minimum=0, maximum=_MAX_INT32
            ),
        )

    def violation(self, span: Span) -> str | None:
        """Describe the first limit ``span`` breaks, or return None when it breaks none."""
        max_depth = self.max_depth
        max_children = self.max_children
        max_value_bytes = self.max_attribute_value_bytes
        stack: list[tuple[Span, int]] = [(span, 0)]
        while stack:
            current, depth = stack.pop()
            if depth > max_depth:
                return (
                    f"span {current.scope}/{current.name} is at depth {depth} "
                    f"(span.max.depth is {max_depth})"
                )
            children = current.children
            if max_children and len(children) > max_children:
                return (
                    f"span {current.scope}/{current.name} has {len(children)} children "
                    f"(span.max.children is {max_children})"
                )
            if max_value_bytes:
                for key, value in current.attributes.items():
                    # A str's UTF-8 form has at least len() and at most 4 * len() bytes.
                    if (
                        type(value) is str
                        and len(value) * 4 > max_value_bytes
                        and (
                            len(value) > max_value_bytes
                            or len(value.encode("utf-8", "surrogatepass")) > max_value_bytes
                        )
                    ):
                        return (
                            f"attribute {key!r} of span {current.scope}/{current.name} is over "
                            f"{max_value_bytes} bytes (span.max.attribute.value.bytes)"
                        )
            stack.extend((child, depth + 1) for child in children)
        return None
