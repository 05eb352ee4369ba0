"""What runs the hot paths: the C accelerator or the Python reference. Chosen here, and only here.

The pairs, as fastavro pairs its compiled ``_read`` with its ``_read_py`` behind one thin
``read`` module that picks by import:

=========================  ===========================================  =========================
hot path                   Python (the reference)                       C (``_speedups.c``)
=========================  ===========================================  =========================
decode a span body         ``_decoder.decode_body``                     ``decode_body``
encode a framed span       ``_encoder.encode_framed``                   ``encode_framed``
trace and span ids         ``_ids.new_trace_id``, ``_ids.new_span_id``  ``new_trace_id``, ...
``Span.builder``           ``_span.Span.builder``                       ``new_builder``
``SpanBuilder`` methods    ``set_attribute``, ``add_child``             ``configure_builder()``
build without given ids    ``SpanBuilder.build`` in Python              ``build_tree``
=========================  ===========================================  =========================

C is used when the extension is built (``optional = true`` in pyproject.toml: without a
compiler there is none) and ``SPANSTREAM_NO_SPEEDUPS`` is unset or ``0``. Each C function does
the plain case and hands anything unusual to its Python counterpart, so both raise the same
errors (``SpanTypeError``, ``SpanValueError``, ...); differential tests hold them to each other.

How the choice reaches its users: the codecs call this module's :data:`decode_body` and
:data:`encode_framed`; :func:`use` sets the builder's methods on ``Span`` and ``SpanBuilder``
and its hooks in ``_span`` (``_fast_build``, ``_new_trace_id``, ``_new_span_id``). ``use`` is
private: tests and benchmarks switch with ``use("python")``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Final

from spanstream.schemas import _decoder, _encoder, _ids, _span
from spanstream.schemas._decoder import BodyError
from spanstream.schemas._errors import EncodeError
from spanstream.schemas._span import (
    MAX_SPAN_DEPTH,
    SPAN_FIELDS,
    Span,
    SpanBuilder,
    SpanTooDeepError,
    _FastBuild,
)

__all__ = [
    "AVAILABLE",
    "PYTHON",
    "SPEEDUPS",
    "C",
    "DecodeBody",
    "EncodeFramed",
    "Implementation",
    "active",
    "decode_body",
    "encode_framed",
    "new_span_id",
    "new_trace_id",
    "use",
]

DecodeBody = Callable[[bytes, int], Span]
"""Decode the current schema's body of a message from an offset (raises ``BodyError``)."""
EncodeFramed = Callable[[Span, bytes], bytes]
"""Return a header followed by a span's Avro body (raises ``EncodeError``)."""

# SpanBuilder's slots, in the order the C configure_builder() takes their descriptors.
_BUILDER_SLOTS: Final = ("_scope", "_name", "_start", "_end", "_attributes", "_children")


@dataclass(frozen=True, slots=True)
class Implementation:
    """One implementation of every hot path (see the table in the module docstring)."""

    name: str
    decode_body: DecodeBody
    encode_framed: EncodeFramed
    new_trace_id: Callable[[], bytes]
    new_span_id: Callable[[], bytes]
    new_builder: Callable[[type | str, str], SpanBuilder]
    set_attribute: Any  # a function, or a C method descriptor of SpanBuilder
    add_child: Any  # the same
    build_tree: _FastBuild | None


PYTHON: Final = Implementation(
    name="python",
    decode_body=_decoder.decode_body,
    encode_framed=_encoder.encode_framed,
    new_trace_id=_ids.new_trace_id,
    new_span_id=_ids.new_span_id,
    new_builder=Span.__dict__["builder"].__func__,
    set_attribute=SpanBuilder.set_attribute,  # NamedBuilder's, shared with EventBuilder
    add_child=SpanBuilder.__dict__["add_child"],
    build_tree=None,
)
"""The reference: the Python code of ``_decoder``, ``_encoder``, ``_ids`` and ``_span``."""


def _import_c() -> ModuleType | None:
    """The C extension, or None when it is not built or ``SPANSTREAM_NO_SPEEDUPS`` is set."""
    if os.environ.get("SPANSTREAM_NO_SPEEDUPS", "") not in ("", "0"):
        return None
    try:
        from spanstream.schemas import _speedups
    except ImportError:
        return None
    return _speedups


def _configure_c(speedups: ModuleType) -> Implementation:
    """Hand the C extension what it builds and raises; return its implementation."""
    # Decoded trees keep their children as checked bytes until ``children`` is first read
    # (schemas/_speedups.c, "lazy children"): a consumer that looks only at roots never builds
    # the children. The descriptor reads and writes the same slot and always returns the tuple,
    # so it stays whichever implementation use() installs (C-decoded trees may be alive).
    # mypy objects to any class-level write of a slot's name; this one replaces the slot's
    # descriptor with one over the same slot. configure() then receives it as children's.
    Span.children = speedups.children_field(Span.__dict__["children"])  # type: ignore[misc]
    # configure() checks SPAN_FIELDS against the C port's own order and refuses a mismatch.
    speedups.configure(
        Span,
        SPAN_FIELDS,
        tuple(getattr(Span, name) for name in SPAN_FIELDS),
        BodyError,
        EncodeError,
        SpanTooDeepError,
        _decoder._EMPTY,
        MAX_SPAN_DEPTH,
    )
    speedups.seed_ids(os.urandom(32))
    # A forked child would otherwise repeat its parent's ids.
    os.register_at_fork(after_in_child=lambda: speedups.seed_ids(os.urandom(32)))
    set_attribute = speedups.configure_builder(
        SpanBuilder,
        tuple(SpanBuilder.__dict__[slot] for slot in _BUILDER_SLOTS),
        SpanBuilder,
        PYTHON.set_attribute,
    )
    return Implementation(
        name="c",
        decode_body=speedups.decode_body,
        encode_framed=speedups.encode_framed,
        new_trace_id=speedups.new_trace_id,
        new_span_id=speedups.new_span_id,
        new_builder=speedups.new_builder,
        set_attribute=set_attribute,
        add_child=speedups.configure_add_child(PYTHON.add_child),
        build_tree=speedups.build_tree,
    )


_speedups = _import_c()

C: Final = None if _speedups is None else _configure_c(_speedups)
"""The C accelerator's implementation, or None when it is not built or is turned off."""

SPEEDUPS: Final = C is not None
"""Whether the hot paths run on the C accelerator (built, and not turned off by
``SPANSTREAM_NO_SPEEDUPS=1``); otherwise on the pure-Python reference."""

_BY_NAME: Final = {impl.name: impl for impl in (PYTHON, C) if impl is not None}

AVAILABLE: Final = tuple(sorted(_BY_NAME))
"""The names :func:`use` accepts: ``"python"``, and ``"c"`` when :data:`C` is there."""

_CHOSEN: Final = C if C is not None else PYTHON

new_trace_id: Final = _CHOSEN.new_trace_id
"""Return a random, non-zero 16-byte trace id (the C generator when it is there)."""
new_span_id: Final = _CHOSEN.new_span_id
"""Return a random, non-zero 8-byte span id (the C generator when it is there)."""

# The codec's functions in use; use() rebinds them.
decode_body: DecodeBody = _CHOSEN.decode_body
encode_framed: EncodeFramed = _CHOSEN.encode_framed
active: str = _CHOSEN.name
"""The name of the implementation in use."""


def use(name: str) -> str:
    """Make the codecs and the builder run implementation ``name``; return the old one's name.

    For tests and benchmarks, which compare the two; ``new_trace_id`` and ``new_span_id``
    imported elsewhere stay the ones chosen at import.

    Raises:
        KeyError: ``name`` is not in :data:`AVAILABLE` (``"c"`` when it is not built).
    """
    global active, decode_body, encode_framed  # noqa: PLW0603 - the one switch, in one place
    impl = _BY_NAME[name]
    decode_body = impl.decode_body
    encode_framed = impl.encode_framed
    Span.builder = staticmethod(impl.new_builder)  # type: ignore[method-assign,assignment]
    SpanBuilder.set_attribute = impl.set_attribute  # type: ignore[method-assign]
    SpanBuilder.add_child = impl.add_child  # type: ignore[method-assign]
    _span._fast_build = impl.build_tree
    _span._new_trace_id = impl.new_trace_id
    _span._new_span_id = impl.new_span_id
    previous, active = active, impl.name
    return previous


use(_CHOSEN.name)
