"""Guards of the codec's design that do not depend on timing.

The encoder's speed comes from exact-type dispatch in one function and from reusing the encoded
forms of repeated strings; the decoder's from one function with inline varints. These tests
fail if a change falls back to a generic path (more Python calls) or stops reusing the cache.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import pytest
from _spans import checkpoint

from spanstream.schemas import Span, SpanCodec, _encoder, _implementation, decode_span, encode_span
from spanstream.schemas._encoder import ENCODER_SCHEMA_CANONICAL_FORM
from spanstream.schemas._schema_history import default_history
from spanstream.schemas.system import CHECKPOINT_SCOPE


@pytest.fixture(scope="module", autouse=True)
def _pure_python() -> Iterator[None]:
    """These guards count the Python calls of the pure-Python codec (tests/unit/test_speedups.py
    guards the C accelerator), so they run against that implementation whatever is built."""
    previous = _implementation.use("python")
    yield
    _implementation.use(previous)


@pytest.fixture
def misses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every string the encoder had to encode afresh (a cache miss), in order."""
    _encoder.clear_caches()
    seen: list[str] = []
    original = _encoder._cached

    def counting(cache: dict[str, bytes], s: str, suffix: bytes) -> bytes:
        seen.append(s)
        return original(cache, s, suffix)

    monkeypatch.setattr(_encoder, "_cached", counting)
    yield seen
    _encoder.clear_caches()


def _calls(action: Callable[[], Any]) -> tuple[list[str], int]:
    """The Python functions and the number of C functions ``action`` calls (setprofile)."""
    python: list[str] = []
    builtin = 0

    def profile(frame: FrameType, event: str, arg: object) -> None:
        nonlocal builtin
        if event == "call":
            python.append(frame.f_code.co_name)
        elif event == "c_call":
            builtin += 1

    gc_was_enabled = gc.isenabled()
    gc.disable()  # a collection would run others' gc callbacks (hypothesis's) here
    sys.setprofile(profile)
    try:
        action()
    finally:
        sys.setprofile(None)
        if gc_was_enabled:
            gc.enable()
    return python[1:], builtin - 1  # minus the lambda and the setprofile(None) call


def test_the_released_schema_takes_the_hand_written_path() -> None:
    """span.avsc is the schema the hand-written encoder and decoder are written for."""
    assert default_history().current.canonical_form == ENCODER_SCHEMA_CANONICAL_FORM
    assert SpanCodec().fast


def test_repeated_scopes_names_keys_and_values_are_encoded_once(misses: list[str]) -> None:
    """Across 100 spans, each repeated string is encoded only on its first use."""
    encode_span(checkpoint(0))
    first = list(misses)
    for i in range(1, 100):
        encode_span(checkpoint(i))
    # scope, name, 7 keys (isUnaligned twice: once per boolean value), 2 string values
    assert set(first) >= {CHECKPOINT_SCOPE, "Checkpoint", "checkpointId", "COMPLETED", "<job_id>"}
    assert len(misses) == len(first) + 1  # + the other boolean value of isUnaligned


def test_the_cached_encoded_form_is_the_same_object_each_time() -> None:
    """The bytes of a repeated scope are reused, not rebuilt."""
    encode_span(checkpoint(1))
    cached = _encoder._names[CHECKPOINT_SCOPE]
    encode_span(checkpoint(2))
    assert _encoder._names[CHECKPOINT_SCOPE] is cached


def test_the_caches_stay_bounded_whatever_the_values() -> None:
    """Unique string values never grow a cache past its bound; long strings are not cached."""
    _encoder.clear_caches()
    base = checkpoint(0)
    for i in range(_encoder.MAX_CACHED_STRINGS + 500):
        attributes = {"k": f"unique-{i}", "long": "x" * (_encoder.MAX_CACHED_CHARS + 1)}
        encode_span(Span("s", "n", 0, 0, attributes, (), base.trace_id, base.span_id))
    assert len(_encoder._values) <= _encoder.MAX_CACHED_STRINGS
    assert "x" * (_encoder.MAX_CACHED_CHARS + 1) not in _encoder._values
    _encoder.clear_caches()


def test_encoding_a_seven_attribute_span_makes_three_python_calls() -> None:
    """encode_span -> encode_framed -> _write, nothing per value (warm caches)."""
    span = checkpoint(3)
    encode_span(span)
    python, builtin = _calls(lambda: encode_span(span))
    assert python == ["encode_span", "encode_framed", "_write"]
    # dict.get and list.append per value and per cached high varint part, one pack, one join:
    # 36 when written; fastavro's generic writer makes hundreds.
    assert builtin <= 40


def test_encoding_a_tree_makes_one_python_call_per_span() -> None:
    """Children recurse into _write once each, with no helper calls."""
    leaf = checkpoint(5)
    span = checkpoint(4, children=(leaf, checkpoint(6, children=(leaf,))))
    encode_span(span)
    python, _ = _calls(lambda: encode_span(span))
    assert python == ["encode_span", "encode_framed"] + ["_write"] * 4


def test_decoding_a_seven_attribute_span_calls_only_multi_byte_varint_helpers() -> None:
    """decode_span -> decode_body -> _read_span, plus one call per multi-byte varint."""
    message = encode_span(checkpoint(3))
    python, _ = _calls(lambda: decode_span(message))
    # two timestamps, checkpointedSize and fullSize take several bytes; checkpointId=3 one
    assert python == ["decode_span", "decode_body", "_read_span"] + ["_varint_rest"] * 4 + [
        "_new_span"
    ]


def test_decoded_spans_are_built_through_their_slots() -> None:
    """The decoder's fast Span factory is in use (it falls back if Span's fields change)."""
    from types import MappingProxyType

    from spanstream.schemas import _decoder

    assert _decoder._new_span is not Span
    span = decode_span(encode_span(checkpoint(1, children=(checkpoint(2),))))
    assert type(span) is Span
    assert type(span.attributes) is MappingProxyType
    assert type(span.children) is tuple
    assert span == checkpoint(1, children=(checkpoint(2),))
