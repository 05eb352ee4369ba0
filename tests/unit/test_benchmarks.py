"""Smoke tests of the benchmark scripts: they import, the broker-free one runs in its tiny mode,
and the table is built from results (never any timing assertion)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
MODULES = [
    "bench_caller",
    "bench_publish",
    "bench_consume",
    "bench_forward",
    "bench_latency",
    "bench_rss",
    "profile_paths",
    "pyflink_add_span",
]


@pytest.mark.parametrize("name", [*MODULES, "run_all"])
def test_every_benchmark_module_imports_and_has_main(benchmark_module, name):
    """Each benchmark is a module with a main() that run_all can start."""
    module = benchmark_module(name)
    assert callable(module.main)


def test_caller_benchmark_runs_in_quick_mode_without_a_broker(tmp_path):
    """The OpenTelemetry no-op row runs in --quick mode and writes its JSON result."""
    out = tmp_path / "caller.json"
    script = str(BENCHMARKS / "bench_caller.py")
    subprocess.run(
        [sys.executable, script, "--impl", "otel-noop", "--quick", "--json-out", str(out)],
        check=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )
    result = json.loads(out.read_text())
    assert result["impl"] == "otel-noop"
    assert result["dropped"] == 0
    assert len(result["us_per_span_samples"]) == result["repeats"]


def test_the_tree_shape_offers_a_parent_and_eight_children_per_root_to_opentelemetry(tmp_path):
    """--shape tree: each root the caller loop reports is 9 OpenTelemetry spans, none dropped."""
    out = tmp_path / "caller.json"
    script = str(BENCHMARKS / "bench_caller.py")
    command = [sys.executable, script, "--impl", "otel-noop", "--quick", "--shape", "tree"]
    subprocess.run(
        [*command, "--json-out", str(out)], check=True, timeout=120, env={"PATH": "/usr/bin:/bin"}
    )
    result = json.loads(out.read_text())
    assert result["shape"] == "tree"
    assert result["offered"] == result["spans"] * (result["repeats"] + 1) * 9
    assert result["dropped"] == 0


def test_each_shape_s_span_is_the_workload_it_names(benchmark_module):
    """flat: 7 attributes; wide: 20 strings; tree: 8 Checkpoint_Task children x 14, variables."""
    spanstream = benchmark_module("_spanstream")
    harness = benchmark_module("_harness")
    flat, wide, tree = (spanstream.built_span(1, shape) for shape in harness.SHAPES)
    variables = len(harness.SCOPE_VARIABLES)
    assert (len(flat.attributes), flat.children) == (7 + variables, ())
    own = {k: v for k, v in wide.attributes.items() if k not in harness.SCOPE_VARIABLES}
    assert len(own) == 20
    assert all(type(v) is str for v in own.values())
    assert [c.name for c in tree.children] == ["Checkpoint_Task"] * 8
    assert {len(c.attributes) for c in tree.children} == {14 + variables}
    assert {c.trace_id for c in tree.children} == {tree.trace_id}


def _full_results() -> dict[str, object]:
    return {
        "caller_otel_noop": {"us_per_span": 20.0},
        "caller_otel": {"us_per_span": 40.0},
        "caller_otel_batch": {"us_per_span": 25.0},
        "caller_spanstream": {"us_per_span": 3.0},
        "publish_raw": {"spans_per_s": 200_000.0},
        "publish_otel": {"spans_per_s": 10_000.0},
        "publish_otel_batch": {"spans_per_s": 20_000.0},
        "publish_spanstream": {"spans_per_s": 90_000.0},
        "consume": {"raw": {"spans_per_s": 1e6}, "spanstream": {"spans_per_s": 2e5}},
        **{
            f"{base}_{shape}": value
            for shape in ("wide", "tree")
            for base, value in (
                ("caller_otel_batch", {"us_per_span": 200.0}),
                ("caller_spanstream", {"us_per_span": 10.0}),
                ("publish_raw", {"spans_per_s": 50_000.0}),
                ("publish_otel_batch", {"spans_per_s": 1_000.0}),
                ("publish_spanstream", {"spans_per_s": 30_000.0}),
                ("consume", {"raw": {"spans_per_s": 1e5}, "spanstream": {"spans_per_s": 7e4}}),
            )
        },
        "latency": {"rate_per_s": 10_000, "p50_ms": 5.0, "p99_ms": 20.0},
        "rss_up": {
            "spans": 1_000_000,
            "half_spans": 500_000,
            "rss_first_half_peak_bytes": 80 * 2**20,
            "rss_second_half_peak_bytes": 81 * 2**20,
            "rss_open_bytes": 40 * 2**20,
            "bound_bytes": 140 * 2**20,
            "peak_rss_bytes": 84 * 2**20,
            "flat": True,
            "criterion": "<= 1.05",
        },
        "rss_down": {
            "rss_growth_bytes": 30 * 2**20,
            "bound_bytes": 64 * 2**20,
            "bound_name": "queue",
            "bounded": True,
        },
    }


def test_table_has_a_ratio_and_a_verdict_for_every_target(benchmark_module):
    """Every target row carries its ratio and says whether the target is met."""
    run_all = benchmark_module("run_all")
    rows = run_all.build_rows(_full_results())

    def row(measure: str, reference: str):
        return next(r for r in rows if r.measure.startswith(measure) and reference in r.reference)

    assert (
        row("flat: caller cost", "per span").ratio,
        row("flat: caller cost", "per span").met,
    ) == (
        "0.075",
        "yes",
    )
    assert (
        row("flat: caller cost", "per batch").ratio,
        row("flat: caller cost", "per batch").met,
    ) == (
        "0.120",
        "NO",
    )
    assert (row("flat: consume", "raw").ratio, row("flat: consume", "raw").met) == ("0.200", "NO")
    assert (row("flat: publish", "per batch").ratio, row("flat: publish", "per batch").met) == (
        "4.500",
        "NO",
    )
    verdicts = [r.met for r in rows if r.target]
    assert len(verdicts) == 17
    assert all(v in ("yes", "NO") for v in verdicts)


def test_the_table_has_each_shape_s_rows_beside_their_references(benchmark_module):
    """Flat, wide and tree each get caller, publish and consume rows with ratio and target."""
    run_all = benchmark_module("run_all")
    rows = run_all.build_rows(_full_results())
    for shape in ("wide", "tree"):
        mine = {
            (r.measure.split(",")[0], r.reference): r
            for r in rows
            if r.measure.startswith(f"{shape}:")
        }
        assert (
            mine[(f"{shape}: caller cost per root span", run_all.OTEL_PER_BATCH)].ratio == "0.050"
        )
        assert mine[(f"{shape}: publish", run_all.RAW_PRODUCE)].met == "yes"
        assert mine[(f"{shape}: publish", run_all.OTEL_PER_BATCH)].ratio == "30.0"
        assert mine[(f"{shape}: consume + decode", "raw consume(), no decode")].ratio == "0.700"
        assert len(mine) == 4


def test_a_missing_result_shows_as_not_measured_with_its_reason(benchmark_module):
    """A benchmark that failed leaves its row in the table, with why, never a made-up figure."""
    run_all = benchmark_module("run_all")
    results = _full_results()
    results["caller_spanstream"] = {"error": "ImportError: no KafkaTraceReporter"}
    rows = run_all.build_rows(results)
    caller = next(r for r in rows if r.measure.startswith("flat: caller cost"))
    assert "ImportError" in caller.value
    assert caller.met == "no (not measured)"


def test_render_prints_the_machine_under_the_table(benchmark_module):
    """The printed table names the CPU, cores, Python and the Kafka client versions."""
    run_all = benchmark_module("run_all")
    harness = benchmark_module("_harness")
    machine = harness.machine_info()
    text = run_all.render(run_all.build_rows(_full_results()), machine, "127.0.0.1:9092", 60.0)
    assert text.startswith("| measure |")
    for key in ("cpu_model", "python", "librdkafka", "confluent_kafka"):
        assert str(machine[key]) in text


def test_rounds_merge_to_the_median_of_each_figure_and_all_of_each_flag(benchmark_module):
    """A job run in several rounds reports the median of every number; failed rounds drop out."""
    run_all = benchmark_module("run_all")
    rounds = [
        {"spans_per_s": 100.0, "raw": {"spans_per_s": 10}, "flat": True},
        {"error": "timed out"},
        {"spans_per_s": 300.0, "raw": {"spans_per_s": 30}, "flat": False},
        {"spans_per_s": 200.0, "raw": {"spans_per_s": 20}, "flat": True},
    ]
    merged = run_all.merge_rounds(rounds)
    assert merged["spans_per_s"] == 200.0
    assert merged["raw"] == {"spans_per_s": 20.0}
    assert merged["flat"] is False
    assert merged["rounds"] == 3
