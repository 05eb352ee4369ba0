"""The C accelerator is chosen in one place (schemas/_implementation.py), Span's fields are
written once (the class body; ``SPAN_FIELDS`` is read from it), and the switch is private.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

import pytest

import spanstream.schemas
from spanstream.schemas import (
    SPEEDUPS,
    Span,
    SpanBuilder,
    _decoder,
    _ids,
    _implementation,
    _span,
    decode_span,
    encode_span,
)
from spanstream.schemas._span import SPAN_FIELDS

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ("schemas", "kafka", "producer", "consumer", "otel", "broker", "cli")

needs_c = pytest.mark.skipif(not SPEEDUPS, reason="the C accelerator is not built or is disabled")


def _modules_importing(module: str) -> list[str]:
    """The library modules whose imports name ``module`` (``spanstream.schemas._speedups``)."""
    package, _, name = module.rpartition(".")
    found = []
    for folder in LIBRARY:
        for path in sorted((ROOT / folder).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    hit = any(alias.name == module for alias in node.names)
                elif isinstance(node, ast.ImportFrom):
                    hit = node.module == module or (
                        node.module == package and any(a.name == name for a in node.names)
                    )
                else:
                    continue
                if hit:
                    found.append(f"{folder}/{path.name}")
    return sorted(set(found))


def test_only_the_implementation_module_imports_the_c_extension() -> None:
    """One module decides C or Python: no other library module imports ``_speedups``."""
    assert _modules_importing("spanstream.schemas._speedups") == ["schemas/_implementation.py"]


def test_the_public_face_has_no_implementation_switch() -> None:
    """``spanstream.schemas`` exports the read-only fact SPEEDUPS, and nothing to switch with."""
    public = set(spanstream.schemas.__all__)
    assert not public & {"IMPLEMENTATIONS", "use_implementation", "use", "AVAILABLE"}
    assert "SPEEDUPS" in public
    assert type(SPEEDUPS) is bool


def test_span_fields_are_the_class_body_in_order() -> None:
    """SPAN_FIELDS is read from the dataclass, and its slots follow the same order."""
    assert tuple(f.name for f in dataclasses.fields(Span)) == SPAN_FIELDS
    assert Span.__slots__ == SPAN_FIELDS
    assert len(SPAN_FIELDS) == len(set(SPAN_FIELDS)) == 8


def test_the_unchecked_constructor_takes_span_fields_in_order() -> None:
    """``_new_span``'s parameters are SPAN_FIELDS, and each lands in the field of its name."""
    assert tuple(inspect.signature(_span._new_span).parameters) == SPAN_FIELDS
    values = ("s", "n", 1, 2, {"a": 1}, (), b"t" * 16, b"s" * 8)
    span = _span._new_span(*values)  # type: ignore[arg-type]
    assert tuple(getattr(span, name) for name in SPAN_FIELDS) == values
    assert span == Span(*values)  # type: ignore[arg-type]


def test_the_decoder_builds_spans_with_the_one_constructor() -> None:
    """The Python decoder has no positional constructor of its own."""
    assert _decoder._new_span is _span._new_span


@needs_c
def test_the_c_accelerator_refuses_a_field_order_it_does_not_know() -> None:
    """``configure`` checks the names it gets against the C port's order: no silent mix-up."""
    speedups = pytest.importorskip("spanstream.schemas._speedups")
    swapped = (SPAN_FIELDS[1], SPAN_FIELDS[0], *SPAN_FIELDS[2:])
    descriptors = tuple(getattr(Span, name) for name in swapped)
    with pytest.raises(TypeError, match="Span's field 0 is 'name'"):
        speedups.configure(Span, swapped, descriptors, Exception, Exception, Exception, {}, 8)


def test_python_makes_the_builder_and_the_codec_the_reference() -> None:
    """``use("python")`` installs the Python builder methods, build, ids and codec together."""
    previous = _implementation.use("python")
    try:
        assert Span.builder is _implementation.PYTHON.new_builder
        assert SpanBuilder.set_attribute is _implementation.PYTHON.set_attribute
        assert SpanBuilder.add_child is _implementation.PYTHON.add_child
        assert _span._fast_build is None
        assert _span._new_span_id is _ids.new_span_id
        assert _implementation.decode_body is _decoder.decode_body
        span = Span.builder("app.Job", "Load").set_attribute("a", 1).build()
        assert decode_span(encode_span(span)) == span
    finally:
        _implementation.use(previous)


@needs_c
def test_c_is_in_use_by_default_when_it_is_built() -> None:
    """With the extension built and enabled, builder, build, ids and codec all run the C ones."""
    c = _implementation.C
    assert c is not None
    assert _implementation.active == "c"
    assert Span.builder is c.new_builder
    assert SpanBuilder.__dict__["set_attribute"] is c.set_attribute
    assert SpanBuilder.__dict__["add_child"] is c.add_child
    assert _span._fast_build is c.build_tree
    assert spanstream.schemas.new_trace_id is c.new_trace_id
    assert _implementation.encode_framed is c.encode_framed
