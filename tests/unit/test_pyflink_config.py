"""The PyFlink submission helper's configuration and the worker's resolution of trace keys (pure
functions; the real PyFlink jobs are in tests/integration/test_pyflink_*.py)."""

from __future__ import annotations

import base64
import json
import socket
import sys
from pathlib import Path

import pytest

from spanstream.producer import (
    FIXED_JOB_ID_KEY,
    JOB_ID_PARAMETER,
    JOB_NAME_PARAMETER,
    TRACES_CONFIG_PARAMETER,
    pyflink_job_configuration,
)
from spanstream.producer._pyflink import _resolved_config, _worker_host
from spanstream.schemas import ConfigError

KAFKA = {
    "traces.reporter.kafka.factory.class": "io.spanstream.flink.KafkaTraceReporterFactory",
    "traces.reporter.kafka.bootstrap.servers": "broker:9092",
}


def _parameters(config: dict[str, str]) -> str:
    return config["pipeline.global-job-parameters"]


def _encoded_traces(config: dict[str, str]) -> str:
    for item in _parameters(config).split(","):
        key, _, value = item.partition(":")
        if key == TRACES_CONFIG_PARAMETER:
            return value
    raise AssertionError(_parameters(config))


def test_the_job_id_is_fixed_for_flink_and_passed_to_the_workers():
    """One id in Flink's $internal.pipeline.job-id and in the job parameter spanstream.job-id."""
    config = pyflink_job_configuration(KAFKA, job_name="etl", job_id="0123456789ABCDEF" * 2)
    assert config[FIXED_JOB_ID_KEY] == "0123456789abcdef" * 2
    assert f"{JOB_ID_PARAMETER}:{'0123456789abcdef' * 2}" in _parameters(config)


def test_a_new_random_job_id_each_call_by_default():
    """Without job_id, each call picks a new 32-hex-digit id."""
    first = pyflink_job_configuration({}, job_name="etl")[FIXED_JOB_ID_KEY]
    second = pyflink_job_configuration({}, job_name="etl")[FIXED_JOB_ID_KEY]
    assert first != second
    assert len(first) == 32
    assert int(first, 16) >= 0


@pytest.mark.parametrize("bad", ["abc", "g" * 32, "0" * 31, "0" * 33])
def test_a_job_id_that_is_not_a_flink_jobid_is_a_config_error(bad):
    """The error names Flink's key and what is accepted."""
    with pytest.raises(ConfigError, match=r"\$internal\.pipeline\.job-id.*32 hexadecimal"):
        pyflink_job_configuration({}, job_name="etl", job_id=bad)


def test_the_job_name_is_the_pipeline_name_and_a_quoted_parameter():
    """A name with Flink's map separators and a quote is quoted as Flink's map parser expects."""
    config = pyflink_job_configuration({}, job_name="it's, a: job")
    assert config["pipeline.name"] == "it's, a: job"
    assert f"{JOB_NAME_PARAMETER}:'it''s, a: job'" in _parameters(config)


def test_an_empty_job_name_is_a_config_error():
    """pipeline.name must be set."""
    with pytest.raises(ConfigError, match=r"pipeline\.name"):
        pyflink_job_configuration({}, job_name="")


def test_existing_job_parameters_are_kept():
    """Parameters the job already had stay, ahead of spanstream's."""
    config = pyflink_job_configuration(
        {"pipeline.global-job-parameters": "region:eu"}, job_name="etl"
    )
    assert _parameters(config).startswith("region:eu,")


def test_only_trace_and_event_keys_travel_in_the_job_parameter():
    """traces.*, events.* and metrics.scope.delimiter are encoded; other keys are not."""
    config = pyflink_job_configuration(
        {
            **KAFKA,
            "events.reporter.k.factory.class": "kafka",
            "metrics.scope.delimiter": "_",
            "parallelism.default": 4,
        },
        job_name="etl",
    )
    document = json.loads(base64.urlsafe_b64decode(_encoded_traces(config)))
    assert document == {
        **KAFKA,
        "events.reporter.k.factory.class": "kafka",
        "metrics.scope.delimiter": "_",
    }
    assert config["parallelism.default"] == "4"


def test_python_executable_defaults_to_this_interpreter():
    """The workers run the interpreter that has spanstream, unless the config names one."""
    assert pyflink_job_configuration({}, job_name="etl")["python.executable"] == sys.executable
    named = pyflink_job_configuration({"python.executable": "venv/bin/python"}, job_name="etl")
    assert named["python.executable"] == "venv/bin/python"
    assert named["python.client.executable"] == "venv/bin/python"


def test_the_job_configuration_wins_over_the_cluster_file_key_by_key(tmp_path: Path):
    """config.yaml's keys are the base; the job's keys replace the same keys only."""
    (tmp_path / "config.yaml").write_text(
        "traces.reporter.kafka.factory.class: kafka\n"
        "traces.reporter.kafka.topic: cluster-topic\n"
        "traces.reporter.kafka.bootstrap.servers: cluster:9092\n"
        "taskmanager.numberOfTaskSlots: 4\n",
        encoding="utf-8",
    )
    job = pyflink_job_configuration({"traces.reporter.kafka.topic": "job-topic"}, job_name="j")
    resolved = _resolved_config(None, _encoded_traces(job), str(tmp_path))
    assert resolved == {
        "traces.reporter.kafka.factory.class": "kafka",
        "traces.reporter.kafka.topic": "job-topic",
        "traces.reporter.kafka.bootstrap.servers": "cluster:9092",
    }


def test_the_explicit_config_wins_over_the_job_configuration():
    """pyflink_metric_group(config=...) replaces the job's keys of the same name."""
    job = pyflink_job_configuration({"traces.reporter.kafka.topic": "job-topic"}, job_name="j")
    resolved = _resolved_config({"traces.reporter.kafka.topic": "mine"}, _encoded_traces(job), None)
    assert resolved["traces.reporter.kafka.topic"] == "mine"


def test_java_factories_of_spanstream_and_slf4j_start_their_python_counterparts():
    """The Java factory names map to the kafka and logging entry points."""
    resolved = _resolved_config(
        {
            **KAFKA,
            "traces.reporter.log.factory.class": (
                "org.apache.flink.traces.slf4j.Slf4jTraceReporterFactory"
            ),
        },
        "",
        None,
    )
    assert resolved["traces.reporter.kafka.factory.class"] == "kafka"
    assert resolved["traces.reporter.log.factory.class"] == "logging"


def test_a_java_factory_without_a_python_counterpart_is_left_out_with_a_warning(caplog):
    """Flink's OpenTelemetry factory (not mapped): its section goes, from traces.reporters too."""
    resolved = _resolved_config(
        {
            **KAFKA,
            "traces.reporters": "kafka,otel",
            "traces.reporter.otel.factory.class": (
                "org.apache.flink.traces.otel.OpenTelemetryTraceReporterFactory"
            ),
            "traces.reporter.otel.exporter.endpoint": "http://collector:4317",
        },
        "",
        None,
    )
    assert not any(key.startswith("traces.reporter.otel.") for key in resolved)
    assert resolved["traces.reporters"] == "kafka"
    assert "traces.reporter.otel" in caplog.text


def test_a_malformed_job_parameter_is_a_config_error():
    """A value that is not spanstream's base64 JSON names the parameter."""
    with pytest.raises(ConfigError, match=TRACES_CONFIG_PARAMETER):
        _resolved_config(None, "not base64 json!", None)


def test_a_java_factory_of_any_vendor_is_left_out_and_a_python_path_kept():
    """com.example.*Factory has no Python package: skipped; spanstream.producer:... is kept."""
    resolved = _resolved_config(
        {
            "traces.reporter.dd.factory.class": "com.example.metrics.DatadogTraceReporterFactory",
            "traces.reporter.mem.factory.class": "spanstream.producer:InMemoryTraceReporterFactory",
        },
        "",
        None,
    )
    assert resolved == {
        "traces.reporter.mem.factory.class": "spanstream.producer:InMemoryTraceReporterFactory"
    }


def test_host_is_the_cluster_files_taskmanager_host_as_on_the_jvm(tmp_path: Path):
    """taskmanager.host in config.yaml is the <host> the JVM reports; else the host's name."""
    assert _worker_host(str(tmp_path)) == socket.gethostname()
    (tmp_path / "config.yaml").write_text("taskmanager.host: tm-1.internal\n", encoding="utf-8")
    assert _worker_host(str(tmp_path)) == "tm-1.internal"


def test_a_jvm_configuration_of_slf4j_reporters_starts_python_logging_reporters():
    """Flink's Slf4j trace and event factories, as a cluster names them, start in Python."""
    from spanstream.producer import ReporterRegistry

    flink = "org.apache.flink"
    config = {
        "traces.reporter.slf.factory.class": f"{flink}.traces.slf4j.Slf4jTraceReporterFactory",
        "events.reporter.slf.factory.class": f"{flink}.events.slf4j.Slf4jEventReporterFactory",
    }
    with ReporterRegistry.from_config(_resolved_config(config, "", None)) as registry:
        assert type(registry.reporter("slf")).__name__ == "LoggingTraceReporter"
        assert type(registry.event_reporter("slf")).__name__ == "LoggingEventReporter"
