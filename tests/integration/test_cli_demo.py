"""``spanstream demo`` run as a subprocess against the session's real broker."""

from __future__ import annotations

from _helpers import demo_config, run_cli, run_demo


def test_demo_delivers_and_consumes_every_span(kafka_bootstrap, new_topic, tmp_path):
    """A short demo ends by itself with exit 0, the counters, and every span consumed once."""
    topic = new_topic()
    done = run_demo(kafka_bootstrap, demo_config(tmp_path, topic), duration_s=6, seed=3)
    out = done.stdout
    assert f"topic: {topic}" in out
    for row in (
        "reporter accepted",
        "reporter delivered",
        "reporter dropped",
        "consumer consumed",
        "consumer bad records",
        "consumer duplicates",
    ):
        assert row in out
    assert "OK: every delivered span was consumed" in out
    for job in ("clickstream-etl", "fraud-detection", "sessionizer"):
        assert job in out
    assert "Traceback" not in done.stderr


def test_demo_counts_only_its_own_run_on_a_shared_topic(kafka_bootstrap, new_topic, tmp_path):
    """A second run on a topic that already holds spans still counts exactly its own."""
    config = demo_config(tmp_path, new_topic())
    run_demo(kafka_bootstrap, config, duration_s=2)
    second = run_demo(kafka_bootstrap, config, duration_s=2)
    assert "OK: every delivered span was consumed" in second.stdout


def test_demo_with_unreachable_broker_exits_3_naming_it(tmp_path):
    """No broker at the configured address: one line naming it and how to start one; exit 3."""
    path = tmp_path / "traces.yaml"
    path.write_text(
        "traces.reporter.kafka.factory.class: kafka\n"
        "traces.reporter.kafka.bootstrap.servers: 127.0.0.1:1\n"
    )
    done = run_cli("demo", "--config", str(path), bootstrap="127.0.0.1:1")
    assert done.returncode == 3
    assert "127.0.0.1:1" in done.stderr
    assert "spanstream broker start" in done.stderr
    assert "Traceback" not in done.stderr


def test_demo_reports_flink_s_system_events_and_counts_them(kafka_bootstrap, new_topic, tmp_path):
    """With an event reporter on the span topic, the summary counts events: all delivered read."""
    topic = new_topic()
    done = run_demo(kafka_bootstrap, demo_config(tmp_path, topic, events=True), duration_s=5)
    rows = {
        line.split("│")[1].strip(): line.split("│")[2].strip().replace(",", "")
        for line in done.stdout.splitlines()
        if line.count("│") >= 3
    }
    assert int(rows["events reported"]) > 0
    assert rows["events delivered"] == rows["events reported"]
    assert rows["events consumed"] == rows["events delivered"]
