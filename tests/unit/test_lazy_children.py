"""Lazy children: the C decoder leaves a tree's children as checked bytes until first read.

The Python decoder (the reference) decodes every child at once; the C decoder must be
indistinguishable from it in everything but when the child Spans are built: the same values,
equality, hash, repr, walk and bytes again, and for hostile bytes the same DecodeError, raised
by the decode itself (where the consumer applies its bad-record policy), never later.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import pickle
import sys
import threading
import tracemalloc
from collections.abc import Callable

import pytest
from _avro_bytes import EDGE_VARINTS, SPAN_BODY_FIELDS
from hypothesis import given, settings
from hypothesis import strategies as st

from spanstream.schemas import MAX_SPAN_DEPTH, Span, _implementation, encode_span
from spanstream.schemas._decoder import BodyError

needs_c = pytest.mark.skipif(
    _implementation.C is None, reason="the C accelerator is not built (no compiler)"
)

_TRACKER = "org.apache.flink.runtime.checkpoint.CheckpointStatsTracker"
_PLACEHOLDER = "\u00a7PLACEHOLDER\u00a7"  # found once in a message, then overwritten in place


def _python_decode(data: bytes) -> Span:
    return _implementation.PYTHON.decode_body(data, 10)


def _c_decode(data: bytes) -> Span:
    assert _implementation.C is not None
    return _implementation.C.decode_body(data, 10)


def _span(name: str, attributes: dict[str, object], children: tuple[Span, ...] = ()) -> Span:
    return Span(
        _TRACKER, name, 1_732_000_000_000, 1_732_000_000_250, attributes, children,
        bytes(range(16)), bytes(range(8)),
    )  # fmt: skip


def _task(i: int, **extra: object) -> Span:
    attributes: dict[str, object] = {"checkpointId": 7, "jobVertexId": f"{i:032x}"}
    attributes.update({f"sumStateSizeBytes{k}": 1000 * i + k for k in range(12)})
    attributes.update(extra)
    return _span("Checkpoint_Task", attributes)


def _tree(*children: Span) -> Span:
    return _span("Checkpoint", {"checkpointId": 7, "isUnaligned": False}, children)


def _chain(levels: int) -> Span:
    span = _span("leaf", {"depth": levels})
    for level in range(levels):
        span = _span(f"level-{level}", {"ratio": 0.5, "ok": True}, (span,))
    return span


_SHAPES: dict[str, Callable[[], Span]] = {
    "flat": lambda: _span("Checkpoint", {"checkpointId": 1, "checkpointStatus": "COMPLETED"}),
    "wide": lambda: _span("Handle", {f"shop.attribute{k:02}": "v" * 48 for k in range(20)}),
    "tree": lambda: _tree(*(_task(i) for i in range(8))),
    "tree of trees": lambda: _tree(_tree(_task(1), _task(2)), _task(3), _tree()),
    "deepest chain": lambda: _chain(MAX_SPAN_DEPTH),
    "non-ASCII strings": lambda: _tree(_task(1, note="\u00e9\u20ac\U0001d11e\uffff\U0010ffff")),
}


def _outcome(decode: Callable[[bytes], Span], data: bytes) -> tuple[str, object]:
    """What a decode gives, with everything the span's children show forced at once."""
    try:
        span = decode(data)
    except BodyError as exc:
        return exc.reason, str(exc)
    return "span", (span, repr(span), hash(span), [(s, p, d) for s, p, d in span.walk()])


def _with_child_bytes(replacement: bytes) -> bytes:
    """A tree whose last child has a string value of ``replacement``'s bytes (valid or not)."""
    message = encode_span(_tree(_task(1), _task(2, note=_PLACEHOLDER)))
    placeholder = _PLACEHOLDER.encode()
    assert message.count(placeholder) == 1
    length = message.index(placeholder) - 1  # a one-byte zig-zag length precedes it
    body = bytes([2 * len(replacement)]) + replacement
    return message[:length] + body + message[length + 1 + len(placeholder) :]


@needs_c
@pytest.mark.parametrize("shape", sorted(_SHAPES))
def test_every_shape_decodes_as_the_eager_reference(shape: str) -> None:
    """Values, equality, hash, repr and walk of a lazily decoded span match the eager decode."""
    message = encode_span(_SHAPES[shape]())
    assert _outcome(_c_decode, message) == _outcome(_python_decode, message)


_VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.booleans(),
)
_ATTRIBUTES = st.dictionaries(st.text(max_size=8), _VALUES, max_size=5)
_TREES = st.recursive(
    st.builds(_span, st.text(max_size=8), _ATTRIBUTES),
    lambda children: st.builds(
        _span, st.text(max_size=8), _ATTRIBUTES, st.lists(children, max_size=4).map(tuple)
    ),
    max_leaves=12,
)


@needs_c
@settings(max_examples=300, deadline=None)
@given(_TREES)
def test_any_tree_decodes_as_the_eager_reference(tree: Span) -> None:
    """Random trees of any shape and any text: the lazy decode equals the eager one."""
    message = encode_span(tree)
    assert _outcome(_c_decode, message) == _outcome(_python_decode, message)
    assert _c_decode(message) == tree


@needs_c
@pytest.mark.parametrize("shape", sorted(_SHAPES))
def test_a_lazily_decoded_span_encodes_to_the_same_bytes(shape: str) -> None:
    """Re-encoding a decoded span whose children were never read gives the message again."""
    message = encode_span(_SHAPES[shape]())
    assert encode_span(_c_decode(message)) == message


@needs_c
def test_a_decoded_tree_builds_its_children_only_when_read() -> None:
    """Until ``children`` is read the span holds no child Span; reading builds them once."""
    span = _c_decode(encode_span(_SHAPES["tree"]()))
    held = [type(obj).__name__ for obj in gc.get_referents(span)]
    assert "LazyChildren" in held
    assert "tuple" not in held
    children = span.children
    assert type(children) is tuple
    assert span.children is children
    assert [type(obj).__name__ for obj in gc.get_referents(span)].count("LazyChildren") == 0


@needs_c
def test_reading_children_runs_no_python_code() -> None:
    """The first read of a decoded tree's children is all C: no Python function is called."""
    span = _c_decode(encode_span(_SHAPES["tree"]()))
    calls: list[str] = []

    def profile(frame: object, event: str, arg: object) -> None:
        if event == "call":
            calls.append(frame.f_code.co_name)  # type: ignore[attr-defined]

    sys.setprofile(profile)
    try:
        children = span.children
    finally:
        sys.setprofile(None)
    assert calls == []
    assert len(children) == 8


@needs_c
def test_threads_reading_children_at_once_get_one_tuple() -> None:
    """Many threads reading the same span's children all get the very same tuple."""
    span = _c_decode(encode_span(_SHAPES["tree"]()))
    start = threading.Barrier(8)
    seen: list[int] = []

    def read() -> None:
        start.wait()
        seen.append(id(span.children))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 8
    assert set(seen) == {id(span.children)}


def _pickled(span: Span) -> str:
    try:
        return repr(pickle.loads(pickle.dumps(span)))
    except TypeError as exc:  # a mappingproxy does not pickle, lazily decoded or not
        return f"TypeError: {exc}"


@needs_c
def test_copying_and_pickling_behave_as_for_an_eager_span() -> None:
    """copy.copy, dataclasses' state and pickle see the same span as for the eager decode."""
    message = encode_span(_SHAPES["tree"]())
    eager = _python_decode(message)
    assert copy.copy(_c_decode(message)) == eager
    assert _c_decode(message).__getstate__() == eager.__getstate__()  # type: ignore[attr-defined]
    assert _pickled(_c_decode(message)) == _pickled(eager)


@needs_c
def test_a_hand_made_span_keeps_its_children_tuple() -> None:
    """A Span made by hand stores and returns the very tuple it was given."""
    children = (_task(1), _task(2))
    assert _span("Checkpoint", {}, children).children is children


_BAD_UTF8 = {
    "overlong two-byte": b"\xc0\x80",
    "overlong two-byte C1": b"\xc1\xbf",
    "overlong three-byte": b"\xe0\x80\x80",
    "overlong four-byte": b"\xf0\x80\x80\x80",
    "surrogate": b"\xed\xa0\x80",
    "beyond U+10FFFF": b"\xf4\x90\x80\x80",
    "F5 lead byte": b"\xf5\x80\x80\x80",
    "FF byte": b"\xff",
    "lone continuation": b"\x80",
    "cut two-byte": b"ab\xc3",
    "cut three-byte": b"\xe2\x82",
    "cut four-byte": b"\xf0\x9d\x84",
    "bad continuation": b"\xe2\x28\xa1",
    "after eight ASCII bytes": b"abcdefgh\xc3\x28",
}
_GOOD_UTF8 = {
    "two-byte": "\u00e9".encode(),
    "three-byte": "\u20ac".encode(),
    "last before surrogates": "\ud7ff".encode(),
    "first after surrogates": "\ue000".encode(),
    "four-byte": "\U0001d11e".encode(),
    "U+10FFFF": "\U0010ffff".encode(),
    "NUL": b"\x00",
    "ASCII then more": "abcdefgh\u00e9ijklmnop\U0001f680".encode(),
}


@needs_c
@pytest.mark.parametrize("label", sorted(_BAD_UTF8) + sorted(_GOOD_UTF8))
def test_a_childs_strings_are_checked_as_strictly_as_the_eager_decode(label: str) -> None:
    """A child's string of any bytes: the same span, or the same error from the decode itself."""
    message = _with_child_bytes({**_BAD_UTF8, **_GOOD_UTF8}[label])
    expected = _outcome(_python_decode, message)
    assert (expected[0] == "span") == (label in _GOOD_UTF8)
    assert _outcome(_c_decode, message) == expected
    if label in _GOOD_UTF8:  # accepted by the check itself, not by an eager decode after it
        held = {type(obj).__name__ for obj in gc.get_referents(_c_decode(message))}
        assert "LazyChildren" in held


def _corrupt_children() -> dict[str, bytes]:
    good = encode_span(_tree(_task(1), _task(2, flag=True, ratio=0.5)))
    flag = good.index(b"\x08flag\x06\x01")
    ratio = good.index(b"\x0aratio\x04")
    return {
        "a child's boolean byte 2": good[: flag + 6] + b"\x02" + good[flag + 7 :],
        "a child's union branch 8": good[:ratio] + b"\x0aratio\x08" + good[ratio + 7 :],
        "a child cut short": good[: ratio + 4],
        "a child's negative key length": good[:flag] + b"\x09" + good[flag + 1 :],
        "more children claimed than fit": good[:-2] + b"\x7e" + good[-1:],
        "trailing bytes after the tree": good + b"\x00",
        "a child's span ids cut short": good[: good.index(b"\x04", 40) + 20],
    }


@needs_c
@pytest.mark.parametrize("label", sorted(_corrupt_children()))
def test_a_corrupt_child_fails_the_decode_as_the_eager_decoder_does(label: str) -> None:
    """A tree with a corrupt child raises the reference's DecodeError at decode, not later."""
    message = _corrupt_children()[label]
    expected = _outcome(_python_decode, message)
    assert expected[0] != "span"
    assert _outcome(_c_decode, message) == expected


@needs_c
def test_children_past_the_depth_limit_fail_the_decode_alike() -> None:
    """A chain one level deeper than MAX_SPAN_DEPTH is too-deep at decode, as in Python."""
    level = bytes(24) + b"\x00\x00\x00\x00" + b"\x00" + b"\x02"
    leaf = bytes(24) + b"\x00\x00\x00\x00" + b"\x00" + b"\x00"
    levels = MAX_SPAN_DEPTH + 1
    message = bytes(10) + level * levels + leaf + b"\x00" * levels
    expected = _outcome(_python_decode, message)
    assert expected[0] == "too-deep"
    assert _outcome(_c_decode, message) == expected


@needs_c
@pytest.mark.parametrize("label", sorted(EDGE_VARINTS))
@pytest.mark.parametrize("field", range(7))
def test_edge_varints_in_a_childs_fields_decode_alike(label: str, field: int) -> None:
    """Boundary varints at each of a child's fields (and a long value): the same outcome."""
    fields = list(SPAN_BODY_FIELDS)
    if field < len(fields):
        fields[field] = EDGE_VARINTS[label]
    else:
        fields[4] = b"\x02\x02k\x02" + EDGE_VARINTS[label] + b"\x00"
    child = bytes(24) + b"".join(fields)
    root = bytes(24) + b"\x02s\x02n\x02\x04" + b"\x00" + b"\x02" + child + b"\x00"
    message = bytes(10) + root
    assert _outcome(_c_decode, message) == _outcome(_python_decode, message)


@needs_c
def test_lazy_decoding_reading_and_failing_many_times_does_not_grow_memory() -> None:
    """Decoding lazily, reading the children, re-encoding and failing leak no reference."""
    good = encode_span(_SHAPES["tree of trees"]())
    bad = list(_corrupt_children().values())

    def rounds(n: int) -> None:
        for _ in range(n):
            _c_decode(good)  # children never read
            span = _c_decode(good)
            span.children[0].children  # noqa: B018 - read: decoded from the bytes kept
            encode_span(_c_decode(good))  # the encoder reads them through the field
            for data in bad:
                with contextlib.suppress(BodyError):
                    _c_decode(data)

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
