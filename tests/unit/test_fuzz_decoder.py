"""Hostile bytes at the decoder: only DecodeError, no other exception, bounded memory per message.

The mutation engine and its oracle live in ``benchmarks/reliability/fuzz_decoder.py`` (its
script runs 1,000,000 mutations with memory traced on each; see the README's Reliability
section); here hypothesis drives it, and a slow test runs a bounded share of the loop in CI.
"""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import Callable
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spanstream.schemas import DecodeError, Span, decode_span, encode_span

# Every test here runs against each codec implementation (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures("implementation")


@pytest.fixture(scope="module")
def fuzz(benchmark_module: Callable[[str], ModuleType]) -> ModuleType:
    return benchmark_module("fuzz_decoder")


def _peak_decoding(fuzz: ModuleType, data: bytes) -> tuple[int, BaseException | Span]:
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        try:
            outcome: BaseException | Span = fuzz.READER.decode(data)
        except BaseException as exc:  # the test inspects what it was
            outcome = exc
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base, outcome


@settings(
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1), which=st.integers(0, 1000))
def test_a_mutated_message_decodes_or_is_a_decode_error(fuzz, seed, which):
    """Any mutation of a valid message either decodes to a span that round-trips or is a
    DecodeError carrying the bytes; never another exception."""
    corpus = fuzz.seed_messages()
    rng = random.Random(seed)
    data = fuzz.mutate(rng, corpus[which % len(corpus)], corpus)
    result = fuzz.FuzzResult()
    assert fuzz._check_one(data, result) is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_random_bytes_are_only_ever_a_decode_error(data):
    """Arbitrary bytes (with or without a valid header) never raise anything but DecodeError."""
    for message in (data, encode_span(Span.builder("a", "b").build())[:10] + data):
        try:
            decode_span(message)
        except DecodeError as exc:
            raw = exc.raw
        else:
            raw = message
        assert raw == message


# Each forged message claims far more than it holds, at every place a length or count is read:
# a string length, the attribute map's count, the children array's count, on the fast path
# (current schema) and on the checked generic path (the test-only v2 schema).
_HUGE_LENGTHS = [2**62, 2**40, 2**31, 10**9]


def _forgeries(fuzz: ModuleType) -> list[tuple[str, bytes]]:
    span = Span.builder("s", "n").set_start_ts_millis(1).build()
    v1 = encode_span(span)
    v2 = fuzz._v2_message(span)
    forged = []
    for huge in _HUGE_LENGTHS:
        varint = fuzz.zigzag_varint(huge)
        for label, message in (("v1", v1), ("v2", v2)):
            body = 10 + 24  # header, ids
            forged.append((f"{label} scope length {huge}", message[:body] + varint + b"x" * 16))
            # scope "s", name "n", start 1, end 1, then the attribute count
            after_times = body + 2 + 2 + 1 + 1
            forged.append(
                (f"{label} attribute count {huge}", message[:after_times] + varint + b"\x00" * 8)
            )
            forged.append(
                (
                    f"{label} children count {huge}",
                    message[: after_times + 1] + varint + b"\x00" * 8,
                )
            )
    return forged


def test_forged_huge_lengths_fail_without_allocating_what_they_claim(fuzz):
    """A forged length or count is a DecodeError, and decoding it peaks at a few KiB."""
    for label, message in _forgeries(fuzz):
        used, outcome = _peak_decoding(fuzz, message)
        assert isinstance(outcome, DecodeError), (label, outcome)
        assert used <= fuzz.memory_bound_bytes(message), (label, used)


@pytest.mark.slow
def test_three_hundred_thousand_mutations_raise_only_decode_errors(fuzz):
    """A bounded share of the 1,000,000-mutation script: no failure of the oracle."""
    result = fuzz.run(300_000, seed=8, memory_every=0)
    assert result.failures == []
    assert result.decoded + result.decode_errors == 300_000
    assert {"malformed", "truncated", "unknown-fingerprint", "trailing-bytes"} <= set(
        result.by_reason
    )


@pytest.mark.slow
def test_decoding_a_mutated_message_stays_within_its_memory_bound(fuzz):
    """With tracemalloc on every message: the peak stays under 64 bytes a byte plus 64 KiB."""
    result = fuzz.run(15_000, seed=9, memory_every=1)
    assert result.failures == []
    assert result.memory_checked == 15_000
    assert result.worst_peak_ratio <= 1.0
