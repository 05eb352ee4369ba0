"""The optional C accelerator: in use when built, and indistinguishable from the Python reference.

Every codec test file runs against both implementations (its ``implementation`` fixture); here
the two are compared directly on the same inputs: hostile bytes must give the same span or the
same DecodeError reason and message, spans the same bytes or the same error class.
"""

from __future__ import annotations

import contextlib
import enum
import gc
import importlib.util
import math
import os
import random
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType, ModuleType

import pytest
from _avro_bytes import EDGE_VARINTS, SPAN_BODY_FIELDS
from _spans import checkpoint, span_trees
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spanstream.schemas import (
    MAX_SPAN_DEPTH,
    SPEEDUPS,
    EncodeError,
    Span,
    SpanTooDeepError,
    _decoder,
    _encoder,
    _implementation,
    decode_span,
    encode_span,
)
from spanstream.schemas._decoder import BodyError

_BUILT = importlib.util.find_spec("spanstream.schemas._speedups") is not None
_DISABLED = os.environ.get("SPANSTREAM_NO_SPEEDUPS", "") not in ("", "0")

needs_c = pytest.mark.skipif(
    _implementation.C is None, reason="the C accelerator is not built (no compiler)"
)


def _c() -> _implementation.Implementation:
    """The C implementation (tests marked needs_c)."""
    assert _implementation.C is not None
    return _implementation.C


@pytest.fixture(scope="module")
def fuzz(benchmark_module: Callable[[str], ModuleType]) -> ModuleType:
    return benchmark_module("fuzz_decoder")


def _outcome(decode: _implementation.DecodeBody, data: bytes, offset: int) -> tuple[str, object]:
    try:
        return "span", decode(data, offset)
    except BodyError as exc:
        return exc.reason, str(exc)


def _both_decode(data: bytes, offset: int = 10) -> None:
    python = _outcome(_implementation.PYTHON.decode_body, data, offset)
    c = _outcome(_c().decode_body, data, offset)
    assert c == python, data.hex()


def _encoded(encode: _implementation.EncodeFramed, span: Span) -> tuple[str, object]:
    try:
        return "bytes", encode(span, b"\x01\x02")
    except EncodeError as exc:
        return "error", type(exc)


def _both_encode(span: Span) -> bytes:
    python = _encoded(_implementation.PYTHON.encode_framed, span)
    c = _encoded(_c().encode_framed, span)
    assert c == python
    return c[1]  # type: ignore[return-value]


def test_ci_runs_the_c_accelerator() -> None:
    """In CI the extension must build and be in use: a broken build cannot fall back silently."""
    if os.environ.get("CI", "").lower() != "true" or _DISABLED:
        pytest.skip("only asserted in CI (CI=true), where the build must succeed")
    assert _BUILT
    assert SPEEDUPS


def test_a_built_accelerator_is_the_one_in_use() -> None:
    """When the extension is built and not disabled, SPEEDUPS is true and the codec uses it."""
    assert (_BUILT and not _DISABLED) == SPEEDUPS
    assert ("c" in _implementation.AVAILABLE) == SPEEDUPS
    if SPEEDUPS:
        assert _implementation.active == "c"
        assert _implementation.decode_body is _c().decode_body
        assert _implementation.encode_framed is _c().encode_framed


@needs_c
def test_the_c_path_makes_no_python_call_per_span() -> None:
    """With the accelerator, decode_span and encode_span run no Python function below them."""
    calls: list[str] = []

    def profile(frame: object, event: str, arg: object) -> None:
        if event == "call":
            calls.append(frame.f_code.co_name)  # type: ignore[attr-defined]

    span = checkpoint(3, children=(checkpoint(4),))
    previous = _implementation.use("c")
    try:
        message = encode_span(span)
        gc_was_enabled = gc.isenabled()
        gc.disable()  # a collection would run others' gc callbacks (hypothesis's) here
        sys.setprofile(profile)
        try:
            decoded = decode_span(message)
            encode_span(decoded)
        finally:
            sys.setprofile(None)
            if gc_was_enabled:
                gc.enable()
    finally:
        _implementation.use(previous)
    assert calls == ["decode_span", "encode_span"]
    assert decoded == span


def test_spanstream_no_speedups_forces_pure_python() -> None:
    """SPANSTREAM_NO_SPEEDUPS=1 makes a fresh interpreter use the Python codec."""
    env = {**os.environ, "SPANSTREAM_NO_SPEEDUPS": "1"}
    code = (
        "from spanstream.schemas import SPEEDUPS, _implementation; "
        "print(SPEEDUPS, list(_implementation.AVAILABLE))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False ['python']"


@needs_c
def test_an_in_place_build_is_not_older_than_its_source() -> None:
    """An editable install's extension is rebuilt after schemas/_speedups.c changes.

    ``./run`` reinstalls when pyproject.toml or a C source changes; after editing the C source
    outside it, run
    ``.venv/bin/pip install -e '.[test,analytics,plot]'`` or these tests would test stale code.
    """
    spec = importlib.util.find_spec("spanstream.schemas._speedups")
    assert spec is not None
    assert spec.origin is not None
    built = Path(spec.origin)
    source = built.parent / "_speedups.c"
    if not source.exists():
        pytest.skip("not an in-place (editable) build")
    assert built.stat().st_mtime >= source.stat().st_mtime, "rebuild: pip install -e ."


def test_the_switch_rejects_an_unknown_implementation() -> None:
    """Only the implementations that exist can be chosen."""
    with pytest.raises(KeyError):
        _implementation.use("rust")


@needs_c
def test_decoded_spans_are_exact_span_values() -> None:
    """The C decoder builds real Spans: a read-only proxy, a tuple of children, bytes ids."""
    decode = _c().decode_body
    span = decode(encode_span(checkpoint(1, children=(checkpoint(2),))), 10)
    assert type(span) is Span
    assert type(span.attributes) is MappingProxyType
    assert type(span.children) is tuple
    assert type(span.trace_id) is bytes
    assert span == checkpoint(1, children=(checkpoint(2),))
    leaf = decode(encode_span(Span("a", "b", 0, 0, {}, (), bytes(16), bytes(8))), 10)
    assert leaf.attributes is _decoder._EMPTY
    assert leaf.children == ()


@needs_c
@settings(
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1), which=st.integers(0, 1000))
def test_mutated_messages_decode_alike(fuzz, seed, which):
    """On any mutation of a valid message, C and Python give the same span or the same reason."""
    corpus = [m for m in fuzz.seed_messages() if m[2:10] == fuzz.V1.fingerprint]
    data = fuzz.mutate(random.Random(seed), corpus[which % len(corpus)], corpus)
    _both_decode(data)


@needs_c
@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=300), st.integers(0, 12))
def test_random_bodies_decode_alike(body, offset):
    """Arbitrary bytes after any offset: the same outcome from both decoders."""
    _both_decode(bytes(offset) + body, offset)


@needs_c
@pytest.mark.parametrize("label", sorted(EDGE_VARINTS))
@pytest.mark.parametrize("field", range(6))
def test_edge_varints_in_every_field_decode_alike(label: str, field: int) -> None:
    """Boundary varints (10 bytes, 64 bits, negative lengths, padded zeros) at every field."""
    fields = list(SPAN_BODY_FIELDS)
    fields[field] = EDGE_VARINTS[label]
    _both_decode(bytes(10) + bytes(24) + b"".join(fields), 10)


@needs_c
@pytest.mark.parametrize(
    "blocks",
    [
        b"\x01\x0c\x02k\x02\x0e" + b"\x02\x02j\x06\x01" + b"\x00",  # negative count, then a size
        b"\x80\x00",  # a zero count written in two bytes
        b"\x02\x02k\x02\x0e\x80\x00",  # a second block of zero written in two bytes
        b"\x04\x02k\x02\x0e\x02k\x02\x10\x00",  # a duplicate key: the last one wins
        b"\x03\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",  # count -2 with a 10-byte size
        b"\x81\x80\x80\x80\x80\x80\x80\x80\x80\x01\x00",  # count -2**63
    ],
)
def test_odd_attribute_blocks_decode_alike(blocks: bytes) -> None:
    """Blocked maps as other writers may send them, and forged ones, read the same."""
    _both_decode(bytes(10) + bytes(24) + b"\x02s\x02n\x02\x04" + blocks + b"\x00", 10)


@needs_c
@pytest.mark.parametrize("levels", [MAX_SPAN_DEPTH - 1, MAX_SPAN_DEPTH, MAX_SPAN_DEPTH + 1, 5000])
def test_deep_trees_decode_alike(levels: int) -> None:
    """Nesting at, under and over the limit: the same span or the same too-deep."""
    level = bytes(24) + b"\x00\x00\x00\x00" + b"\x00" + b"\x02"
    leaf = bytes(24) + b"\x00\x00\x00\x00" + b"\x00" + b"\x00"
    _both_decode(bytes(10) + level * levels + leaf + b"\x00" * levels)


_VALUES = st.one_of(
    st.text(max_size=20),
    st.integers(-(2**64), 2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(["\ud800", "é", "🚀" * 40, "x" * 2000]),
)


_SPANS = span_trees(
    scopes=st.text(max_size=30),
    names=st.text(max_size=10),
    starts=st.integers(-(2**64), 2**64),
    ends=st.integers(-(2**63), 2**63 - 1),
    attributes=st.dictionaries(st.text(max_size=10), _VALUES, max_size=8),
    max_leaves=10,
)


@needs_c
@settings(max_examples=1000, deadline=None)
@given(_SPANS)
def test_spans_encode_alike(span: Span) -> None:
    """Any span, including out-of-range longs and unencodable strings: same bytes or error."""
    _both_encode(span)


class _Level(enum.IntEnum):
    HIGH = 3


class _Name(str):
    __slots__ = ()


class _Ratio(float):
    __slots__ = ()


@needs_c
def test_subclass_values_encode_alike() -> None:
    """Subclasses of the attribute types are written as their base type by both."""
    attributes = {"level": _Level.HIGH, "name": _Name("x"), "ratio": _Ratio(0.5)}
    span = Span("a", "b", 0, 0, attributes, (), bytes(16), bytes(8))
    message = _both_encode(span)
    assert dict(decode_span(encode_span(span)).attributes) == {
        "level": 3,
        "name": "x",
        "ratio": 0.5,
    }
    assert message[2:] == _encoder.encode_body(span)


@needs_c
@pytest.mark.parametrize(
    "attributes",
    [
        {"k": [1]},
        {"k": None},
        {"k": 2**63},
        {"k": -(2**63) - 1},
        {"k": "\udfff"},
        {_Name("sub"): 1},
        {1: 1},
    ],
)
def test_bad_values_are_the_same_encode_error(attributes: dict[object, object]) -> None:
    """A value or key that does not fit the schema is an EncodeError from both."""
    span = Span("a", "b", 0, 0, attributes, (), bytes(16), bytes(8))  # type: ignore[arg-type]
    _encoder.clear_caches()  # the Python encoder's caches would hide a bad key type
    assert _both_encode(span) == EncodeError


@needs_c
def test_bad_fields_are_encode_errors_from_both() -> None:
    """Timestamps, scopes and ids of the wrong type are EncodeErrors, never crashes."""
    for span in (
        Span("a", "b", 1.5, 0, {}, (), bytes(16), bytes(8)),  # type: ignore[arg-type]
        Span(b"a", "b", 0, 0, {}, (), bytes(16), bytes(8)),  # type: ignore[arg-type]
        Span("a", "\ud800", 0, 0, {}, (), bytes(16), bytes(8)),
    ):
        _encoder.clear_caches()
        assert _both_encode(span) == EncodeError


@needs_c
def test_a_tree_too_deep_is_span_too_deep_from_both() -> None:
    """Both refuse a hand-made tree deeper than MAX_SPAN_DEPTH with SpanTooDeepError."""
    span = Span("a.B", "leaf", 0, 0, {}, (), bytes(16), bytes(8))
    for _ in range(MAX_SPAN_DEPTH):
        span = Span("a.B", "c", 0, 0, {}, (span,), bytes(16), bytes(8))
    _both_encode(span)  # exactly at the limit
    span = Span("a.B", "c", 0, 0, {}, (span,), bytes(16), bytes(8))
    assert _both_encode(span) == SpanTooDeepError


@needs_c
def test_nan_and_infinities_encode_alike() -> None:
    """Floats are the same eight little-endian bytes."""
    values = {"n": math.nan, "i": math.inf, "m": -math.inf, "z": -0.0, "t": 5e-324}
    _both_encode(Span("a", "b", 0, 0, values, (), bytes(16), bytes(8)))


@needs_c
def test_decoding_and_failing_many_times_does_not_grow_memory() -> None:
    """No reference is leaked on the success or the error paths (traced memory stays flat)."""
    decode = _c().decode_body
    good = encode_span(checkpoint(5, children=(checkpoint(6),)))
    bad = [good[:cut] for cut in range(10, len(good), 7)]
    bad += [good[:-2] + b"\x07\x00", good + b"\x00", good[:60] + b"\xff" * 12]

    def rounds(n: int) -> None:
        for _ in range(n):
            decode(good, 10)
            for data in bad:
                with contextlib.suppress(BodyError):
                    decode(data, 10)

    rounds(50)  # warm up caches and free lists
    tracemalloc.start()
    try:
        rounds(200)
        before, _ = tracemalloc.get_traced_memory()
        rounds(2000)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 64 * 1024


@needs_c
def test_encoding_and_failing_many_times_does_not_grow_memory() -> None:
    """The encoder's error paths release what they hold too."""
    encode = _c().encode_framed
    good = checkpoint(7, children=(checkpoint(8),))
    bad = [
        Span("a", "b", 0, 0, {"k": [1], "j": 1}, (), bytes(16), bytes(8)),
        Span("a", "b", 0, 0, {"k": 1, "big": 2**64}, (good,), bytes(16), bytes(8)),
        Span("a", "é\ud800", 0, 0, {}, (), bytes(16), bytes(8)),
    ]

    def rounds(n: int) -> None:
        for _ in range(n):
            encode(good, b"h")
            for span in bad:
                with contextlib.suppress(EncodeError):
                    encode(span, b"h")

    rounds(50)
    tracemalloc.start()
    try:
        rounds(200)
        before, _ = tracemalloc.get_traced_memory()
        rounds(2000)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 64 * 1024
