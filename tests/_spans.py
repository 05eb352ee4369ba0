"""Span factories the tests share (importable as ``_spans``: pytest puts ``tests/`` on the path
for ``tests/conftest.py``).

- :func:`numbered_span`: span number ``i`` of a run, built with the builder (the common case);
- :func:`checkpoint`: a Flink-shaped ``Checkpoint`` span made directly from its fields (no
  builder, fixed zero ids), for the codec tests that compare bytes;
- :func:`hand_made_span`: a span made from its fields without the builder's checks (to get
  spans outside the contract to the encoder);
- :func:`chain`: a builder with ``levels`` nested children, one under the other;
- :func:`span_trees`: a hypothesis strategy of span trees from given field strategies.
"""

from __future__ import annotations

from hypothesis import strategies as st

from spanstream.schemas import AttributeValue, Span, SpanBuilder, new_span_id, new_trace_id
from spanstream.schemas.system import CHECKPOINT_SCOPE

T0_MILLIS = 1_700_000_000_000
"""The start of span 0 of :func:`numbered_span`."""


def numbered_span(
    i: int = 0,
    /,
    *,
    scope: str = "app.Job",
    name: str = "Step",
    start_ts_millis: int = T0_MILLIS,
    **attributes: AttributeValue,
) -> Span:
    """Span ``i`` of a run: ``scope``/``name``, started ``i`` ms after ``start_ts_millis``,
    with ``attributes`` (pass ``**{"<job_id>": ...}`` for scope variables)."""
    return (
        Span.builder(scope, name)
        .set_start_ts_millis(start_ts_millis + i)
        .set_attributes(attributes)
        .build()
    )


def checkpoint(i: int, *, children: tuple[Span, ...] = ()) -> Span:
    """Checkpoint ``i``: Flink's scope and name, typed attributes of every Avro type, 250 ms
    long, zero trace and span ids; ``children`` as given."""
    attributes: dict[str, AttributeValue] = {
        "checkpointId": i,
        "checkpointedSize": 4_567_890 + i,
        "fullSize": 123_456_789,
        "checkpointStatus": "COMPLETED",
        "alignmentRatio": 0.25 * i,
        "isUnaligned": i % 2 == 0,
        "<job_id>": "9f1c6a2e4b7d4c0e8a3f5b6c7d8e9f01",
    }
    start = 1_732_000_000_000 + 1000 * i
    return Span(
        CHECKPOINT_SCOPE,
        "Checkpoint",
        start,
        start + 250,
        attributes,
        children,
        bytes(16),
        bytes(8),
    )


def hand_made_span(**overrides: object) -> Span:
    """A span made directly from its fields (scope ``s``, name ``hand-made``, times 0, no
    attributes or children, fresh ids), with ``overrides`` (which may break the contract)."""
    fields: dict[str, object] = {
        "scope": "s",
        "name": "hand-made",
        "start_ts_millis": 0,
        "end_ts_millis": 0,
        "attributes": {},
        "children": (),
        "trace_id": new_trace_id(),
        "span_id": new_span_id(),
    }
    fields.update(overrides)
    return Span(**fields)  # type: ignore[arg-type]


def chain(levels: int) -> SpanBuilder:
    """A root builder with ``levels`` children nested one under the other (depth ``levels``)."""
    root = Span.builder("s", "root")
    current = root
    for _ in range(levels):
        child = Span.builder("s", "child")
        current.add_child(child)
        current = child
    return root


def span_trees(
    *,
    scopes: st.SearchStrategy[str],
    names: st.SearchStrategy[str],
    starts: st.SearchStrategy[int],
    ends: st.SearchStrategy[int],
    attributes: st.SearchStrategy[dict[str, AttributeValue]],
    max_leaves: int,
) -> st.SearchStrategy[Span]:
    """Span trees (up to three children a node, ``max_leaves`` spans) made straight from
    their fields, any 16-byte trace id and 8-byte span id."""

    def level(children: st.SearchStrategy[tuple[Span, ...]]) -> st.SearchStrategy[Span]:
        return st.builds(
            Span,
            scopes,
            names,
            starts,
            ends,
            attributes,
            children,
            st.binary(min_size=16, max_size=16),
            st.binary(min_size=8, max_size=8),
        )

    return st.recursive(
        level(st.just(())),
        lambda inner: level(st.lists(inner, max_size=3).map(tuple)),
        max_leaves=max_leaves,
    )
