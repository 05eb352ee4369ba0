"""ReporterRegistry, Flink 2.3 fidelity: events.* keys, excludes, detail level, misspelled keys."""

from __future__ import annotations

from importlib import metadata

import pytest

from spanstream.producer import (
    EVENT_ENTRY_POINT_GROUP,
    InMemoryEventReporter,
    InMemoryTraceReporter,
    KafkaTraceReporterFactory,
    LoggingEventReporter,
    ReporterKeys,
    ReporterRegistry,
)
from spanstream.schemas import ConfigError, Event, Span
from spanstream.schemas.system import CheckpointSpanDetailLevel

EVENTS_MEM = "events.reporter.mem."
TRACES_MEM = "traces.reporter.mem."


def test_event_reporters_are_declared_in_their_entry_point_group():
    """``spanstream.event_reporters`` names the logging and in-memory event reporters."""
    names = {ep.name for ep in metadata.entry_points(group=EVENT_ENTRY_POINT_GROUP)}
    assert {"logging", "in_memory"} <= names


def test_events_reporter_keys_start_event_reporters_beside_trace_reporters():
    """``events.reporter.<name>.factory.class`` starts an event reporter; names are per kind."""
    registry = ReporterRegistry.from_config(
        {
            TRACES_MEM + "factory.class": "in_memory",
            EVENTS_MEM + "factory.class": "in_memory",
            "events.reporter.log.factory.class": "logging",
        }
    )
    assert registry.names == ("mem",)
    assert registry.event_names == ("mem", "log")
    assert isinstance(registry.reporter("mem"), InMemoryTraceReporter)
    assert isinstance(registry.event_reporter("mem"), InMemoryEventReporter)
    assert isinstance(registry.event_reporter("log"), LoggingEventReporter)
    registry.close()


def test_events_reporters_selects_and_checks_names_as_traces_reporters_does():
    """``events.reporters`` limits which event reporters start; an unknown name is an error."""
    config = {
        EVENTS_MEM + "factory.class": "in_memory",
        "events.reporter.log.factory.class": "logging",
    }
    registry = ReporterRegistry.from_config({**config, "events.reporters": "log"})
    assert registry.event_names == ("log",)
    with pytest.raises(ConfigError) as excinfo:
        ReporterRegistry.from_config({**config, "events.reporters": "mem,nope"})
    assert excinfo.value.key == "events.reporters"


def test_event_reporter_sub_keys_are_the_trace_reporters():
    """Filters, additional variables, excludes and delimiter apply to event reporters too."""
    registry = ReporterRegistry.from_config(
        {
            EVENTS_MEM + "factory.class": "in_memory",
            EVENTS_MEM + "filter.includes": "*.job:Rescaled",
            EVENTS_MEM + "scope.variables.additional": "region:eu",
            EVENTS_MEM + "scope.variables.excludes": "host",
            EVENTS_MEM + "scope.delimiter": "_",
        }
    )
    (setup,) = registry.event_setups
    assert dict(setup.additional_variables) == {"<region>": "eu"}
    assert setup.excluded_variables == {"<host>"}
    assert setup.delimiter == "_"
    job = registry.root_group(name="jobmanager", variables={"host": "h"}).add_group("job")
    job.add_event(Event.builder("app.Job", "Rescaled"))
    job.add_event(Event.builder("app.Job", "Other"))
    (event,) = registry.event_reporter("mem").events  # type: ignore[attr-defined]
    assert dict(event.attributes) == {"<region>": "eu"}


def test_scope_variables_excludes_removes_those_variables_for_that_reporter_only():
    """``scope.variables.excludes: host;tm_id`` drops <host> and <tm_id> for that reporter."""
    registry = ReporterRegistry.from_config(
        {
            TRACES_MEM + "factory.class": "in_memory",
            TRACES_MEM + "scope.variables.excludes": "host;<tm_id>",
            "traces.reporter.all.factory.class": "in_memory",
        }
    )
    group = registry.root_group(variables={"host": "h", "tm_id": "t", "job_name": "etl"})
    group.add_span(Span.builder("s", "n"))
    assert dict(registry.reporter("mem").spans[0].attributes) == {"<job_name>": "etl"}  # type: ignore[attr-defined]
    assert set(registry.reporter("all").spans[0].attributes) == {"<host>", "<tm_id>", "<job_name>"}  # type: ignore[attr-defined]


def test_checkpoint_span_detail_level_is_read_with_flink_s_enum_names():
    """``traces.checkpoint.span-detail-level`` is parsed (case-insensitively) onto the registry."""
    assert (
        ReporterRegistry.from_config({}).checkpoint_span_detail_level
        is CheckpointSpanDetailLevel.SPAN_PER_CHECKPOINT
    )
    registry = ReporterRegistry.from_config(
        {"traces.checkpoint.span-detail-level": "children_spans_per_subtask"}
    )
    assert (
        registry.checkpoint_span_detail_level
        is CheckpointSpanDetailLevel.CHILDREN_SPANS_PER_SUBTASK
    )


def test_a_bad_checkpoint_span_detail_level_names_the_accepted_values():
    """Any other value is a ConfigError listing Flink's four names."""
    with pytest.raises(ConfigError, match="CHILDREN_SPANS_PER_TASK") as excinfo:
        ReporterRegistry.from_config({"traces.checkpoint.span-detail-level": "PER_TASK"})
    assert excinfo.value.key == "traces.checkpoint.span-detail-level"


def test_a_misspelled_kafka_reporter_key_is_an_error_naming_the_closest_key():
    """``traces.reporter.kafka.topik`` is rejected before anything starts: did you mean topic?"""
    with pytest.raises(ConfigError) as excinfo:
        ReporterRegistry.from_config(
            {
                "traces.reporter.kafka.factory.class": "kafka",
                "traces.reporter.kafka.bootstrap.servers": "127.0.0.1:1",
                "traces.reporter.kafka.topik": "x",
            }
        )
    assert excinfo.value.key == "traces.reporter.kafka.topik"
    assert "did you mean 'topic'?" in str(excinfo.value)


def test_a_misspelled_kafka_event_reporter_key_is_an_error_naming_the_closest_key():
    """``events.reporter.kafka.topik`` is rejected too: the event factory declares its keys."""
    with pytest.raises(ConfigError) as excinfo:
        ReporterRegistry.from_config(
            {
                "events.reporter.kafka.factory.class": "kafka",
                "events.reporter.kafka.bootstrap.servers": "127.0.0.1:1",
                "events.reporter.kafka.topik": "x",
            }
        )
    assert excinfo.value.key == "events.reporter.kafka.topik"
    assert "did you mean 'topic'?" in str(excinfo.value)


def test_queue_max_span_is_an_error_naming_queue_max_spans():
    """``queue.max.span`` (a missing s) suggests ``queue.max.spans``."""
    with pytest.raises(ConfigError, match=r"did you mean 'queue\.max\.spans'"):
        ReporterRegistry.from_config(
            {
                "traces.reporter.kafka.factory.class": "kafka",
                "traces.reporter.kafka.queue.max.span": "10",
            }
        )


def test_librdkafka_properties_pass_through_the_producer_prefix():
    """The Kafka factory declares ``producer.*`` as passed through: any key under it is its."""
    keys = KafkaTraceReporterFactory.reporter_keys
    assert keys.accepts("producer.linger.ms")
    assert keys.accepts("producer.anything.librdkafka.knows")
    assert not keys.accepts("producer.")
    assert not keys.accepts("linger.ms")


def test_a_misspelled_reporters_prefix_is_an_error_naming_the_mended_key():
    """``traces.reportr.kafka.topic`` is not ignored: did you mean traces.reporter.kafka.topic?"""
    with pytest.raises(ConfigError) as excinfo:
        ReporterRegistry.from_config({"traces.reportr.kafka.topic": "x"})
    assert excinfo.value.key == "traces.reportr.kafka.topic"
    assert "did you mean 'traces.reporter.kafka.topic'?" in str(excinfo.value)


@pytest.mark.parametrize("key", ["trace.reporter.x.factory.class", "events.reporterz", "traces.x"])
def test_unknown_keys_under_traces_and_events_are_errors(key):
    """A key under traces./events. (or a near miss of them) that Flink does not define fails."""
    with pytest.raises(ConfigError) as excinfo:
        ReporterRegistry.from_config({key: "in_memory"})
    assert excinfo.value.key == key


def test_a_misspelled_registry_key_suggests_the_registry_key():
    """``filter.include`` on a declaring reporter suggests ``filter.includes``."""
    with pytest.raises(ConfigError, match=r"did you mean 'filter\.includes'"):
        ReporterRegistry.from_config(
            {TRACES_MEM + "factory.class": "in_memory", TRACES_MEM + "filter.include": "*"}
        )


def test_the_value_of_an_unknown_credential_key_is_not_shown():
    """A misspelled password key is named, its value is not."""
    with pytest.raises(ConfigError) as excinfo:
        ReporterRegistry.from_config(
            {TRACES_MEM + "factory.class": "in_memory", TRACES_MEM + "sasl.pasword": "hunter2"}
        )
    assert "hunter2" not in str(excinfo.value)


class UndeclaredFactory:
    """A third-party factory that declares no reporter_keys: it gets every key, as in Flink."""

    def create_trace_reporter(self, properties):
        return InMemoryTraceReporter()


def test_a_factory_without_reporter_keys_gets_every_key():
    """Validation is opt-in per factory (the ReporterKeys protocol extension)."""
    registry = ReporterRegistry.from_config(
        {
            TRACES_MEM + "factory.class": f"{__name__}:UndeclaredFactory",
            TRACES_MEM + "whatever.key": "1",
        }
    )
    assert dict(registry.reporter("mem").config) == {"whatever.key": "1"}  # type: ignore[attr-defined]


def test_reporter_keys_check_reports_the_first_unknown_key():
    """ReporterKeys.check names the full key and lists what is known."""
    keys = ReporterKeys(frozenset({"logger", "level"}))
    with pytest.raises(ConfigError) as excinfo:
        keys.check({"level": "INFO", "loger": "x"}, prefix="events.reporter.log.")
    assert excinfo.value.key == "events.reporter.log.loger"
    assert "did you mean 'logger'?" in str(excinfo.value)
    assert "known: level, logger" in str(excinfo.value)


class ExplodingFactory:
    """A factory whose reporter must never be created by a check."""

    reporter_keys = ReporterKeys(frozenset({"x"}))

    def create_trace_reporter(self, properties):
        raise AssertionError("check_config started a reporter")


def test_check_config_checks_keys_without_starting_any_reporter():
    """check_config rejects a misspelled key and accepts a good file, creating no reporter."""
    good = {TRACES_MEM + "factory.class": f"{__name__}:ExplodingFactory", TRACES_MEM + "x": 1}
    ReporterRegistry.check_config(good)
    with pytest.raises(ConfigError) as excinfo:
        ReporterRegistry.check_config({**good, TRACES_MEM + "y": 1})
    assert excinfo.value.key == TRACES_MEM + "y"


def test_the_kafka_trace_reporter_declares_its_span_limit_keys():
    """span.max.* are read by the trace reporter, so its factory declares (accepts) every one."""
    from spanstream.producer import KafkaTraceReporterFactory
    from spanstream.producer._span_limits import SPAN_LIMIT_KEYS

    keys = KafkaTraceReporterFactory.reporter_keys
    assert sorted(k for k in SPAN_LIMIT_KEYS if not keys.accepts(k)) == []
