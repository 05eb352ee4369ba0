"""ReporterRegistry: reporters started from Flink's traces.* configuration, dict or YAML."""

from __future__ import annotations

import logging
from importlib import metadata
from pathlib import Path

import pytest

from spanstream.producer import (
    ENTRY_POINT_GROUP,
    InMemoryTraceReporter,
    LoggingTraceReporter,
    MetricConfig,
    ReporterRegistry,
    ReporterSetup,
    flatten_config,
    load_config,
)
from spanstream.schemas import ConfigError, Span

MEM = "traces.reporter.mem."


class RecordingFactory:
    """A factory defined here, loaded by its Python path."""

    created: list[dict[str, object]] = []  # noqa: RUF012
    reporters: list[InMemoryTraceReporter] = []  # noqa: RUF012

    def create_trace_reporter(self, properties):
        RecordingFactory.created.append(dict(properties))
        reporter = InMemoryTraceReporter()
        RecordingFactory.reporters.append(reporter)
        return reporter


class FailingOpenReporter(InMemoryTraceReporter):
    def open(self, config: MetricConfig) -> None:
        raise OSError("cannot connect")


class FailingOpenFactory:
    def create_trace_reporter(self, properties):
        return FailingOpenReporter()


class NotAFactory:
    pass


class CloseFailsReporter(InMemoryTraceReporter):
    def close(self) -> None:
        raise RuntimeError("close failed")


factory_instance = RecordingFactory()


def test_in_memory_reporter_from_entry_point_name():
    """``factory.class: in_memory`` names the entry point shipped in the package."""
    registry = ReporterRegistry.from_config({MEM + "factory.class": "in_memory"})
    assert registry.names == ("mem",)
    assert isinstance(registry.reporter("mem"), InMemoryTraceReporter)


def test_entry_points_are_declared_for_the_built_in_reporters():
    """The distribution declares kafka, logging and in_memory in the entry-point group."""
    names = {ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    assert {"kafka", "logging", "in_memory"} <= names


@pytest.mark.parametrize("path", [f"{__name__}:RecordingFactory", f"{__name__}.RecordingFactory"])
def test_factory_from_python_path(path):
    """A factory is found by ``pkg.mod:Factory`` or ``pkg.mod.Factory``; a class is instantiated."""
    registry = ReporterRegistry.from_config({MEM + "factory.class": path})
    assert isinstance(registry.reporter("mem"), InMemoryTraceReporter)


def test_factory_may_be_an_instance():
    """The Python path may name a factory object rather than a class."""
    registry = ReporterRegistry.from_config({MEM + "factory.class": f"{__name__}:factory_instance"})
    assert registry.names == ("mem",)


@pytest.mark.parametrize(
    "value",
    [
        "no_such_entry_point",
        "no.such.module:Factory",
        f"{__name__}:Missing",
        f"{__name__}:NotAFactory",
        "",
        3,
    ],
)
def test_unknown_factory_raises_config_error_naming_key_value_and_accepted(value):
    """An unknown or unusable factory raises ConfigError: key, value and what is accepted."""
    with pytest.raises(ConfigError) as excinfo:
        ReporterRegistry.from_config({MEM + "factory.class": value})
    assert excinfo.value.key == MEM + "factory.class"
    assert excinfo.value.value == value
    assert "in_memory" in str(excinfo.value)
    assert "package.module:Factory" in str(excinfo.value)


def test_missing_factory_class_raises_config_error():
    """A reporter configured without factory.class raises ConfigError naming that key."""
    with pytest.raises(ConfigError) as excinfo:
        ReporterRegistry.from_config({MEM + "max.spans": "3"})
    assert excinfo.value.key == MEM + "factory.class"


def test_reporter_gets_only_its_own_parameters_with_full_key_prefix():
    """open() receives the reporter's own parameters (registry keys removed), prefixed keys."""
    registry = ReporterRegistry.from_config(
        {
            MEM + "factory.class": "in_memory",
            MEM + "max.spans": "5",
            MEM + "filter.includes": "*",
            MEM + "scope.variables.additional": "a:b",
            "traces.reporter.other.factory.class": "logging",
        }
    )
    reporter = registry.reporter("mem")
    assert isinstance(reporter, InMemoryTraceReporter)
    assert isinstance(reporter.config, MetricConfig)
    assert dict(reporter.config) == {"max.spans": "5"}
    assert reporter.config.full_key("max.spans") == MEM + "max.spans"


def test_factory_receives_the_reporter_parameters():
    """create_trace_reporter is given the reporter's own parameters."""
    RecordingFactory.created.clear()
    ReporterRegistry.from_config(
        {MEM + "factory.class": f"{__name__}:RecordingFactory", MEM + "topic": "spans"}
    )
    assert RecordingFactory.created == [{"topic": "spans"}]


def test_reporter_parameter_errors_name_the_full_key():
    """A bad reporter parameter raises ConfigError with the full traces.reporter.<name> key."""
    with pytest.raises(ConfigError) as excinfo:
        ReporterRegistry.from_config({MEM + "factory.class": "in_memory", MEM + "max.spans": "x"})
    assert excinfo.value.key == MEM + "max.spans"


def test_traces_reporters_selects_which_reporters_start():
    """``traces.reporters`` starts only the listed reporters."""
    registry = ReporterRegistry.from_config(
        {
            "traces.reporters": "log",
            MEM + "factory.class": "in_memory",
            "traces.reporter.log.factory.class": "logging",
        }
    )
    assert registry.names == ("log",)
    assert isinstance(registry.reporter("log"), LoggingTraceReporter)


def test_unset_traces_reporters_starts_every_configured_reporter():
    """Without ``traces.reporters`` every configured reporter starts, in configuration order."""
    registry = ReporterRegistry.from_config(
        {MEM + "factory.class": "in_memory", "traces.reporter.log.factory.class": "logging"}
    )
    assert registry.names == ("mem", "log")


def test_unknown_name_in_traces_reporters_raises_config_error():
    """A name in ``traces.reporters`` with no configuration raises ConfigError naming it."""
    with pytest.raises(ConfigError) as excinfo:
        ReporterRegistry.from_config(
            {"traces.reporters": "mem,kafak", MEM + "factory.class": "in_memory"}
        )
    assert excinfo.value.key == "traces.reporters"
    assert excinfo.value.value == "mem,kafak"
    assert "configured: mem" in str(excinfo.value)


def test_additional_variables_are_parsed_into_angle_bracket_keys():
    """``scope.variables.additional: k1:v1,k2:v2`` becomes ``{<k1>: v1, <k2>: v2}``."""
    registry = ReporterRegistry.from_config(
        {
            MEM + "factory.class": "in_memory",
            MEM + "scope.variables.additional": "region:eu-west-1, environment:local",
        }
    )
    assert dict(registry.setups[0].additional_variables) == {
        "<region>": "eu-west-1",
        "<environment>": "local",
    }


@pytest.mark.parametrize("value", ["region", "region:eu,:x", 3, ["a:b"]])
def test_malformed_additional_variables_raise_config_error(value):
    """Additional variables that are not ``key:value`` pairs raise ConfigError naming the key."""
    with pytest.raises(ConfigError) as excinfo:
        ReporterRegistry.from_config(
            {MEM + "factory.class": "in_memory", MEM + "scope.variables.additional": value}
        )
    assert excinfo.value.key == MEM + "scope.variables.additional"
    assert "key:value" in str(excinfo.value)


def test_malformed_filter_raises_config_error_naming_the_full_key():
    """A malformed include pattern raises ConfigError with the reporter's full key."""
    with pytest.raises(ConfigError) as excinfo:
        ReporterRegistry.from_config(
            {MEM + "factory.class": "in_memory", MEM + "filter.excludes": "a:b:c:d"}
        )
    assert excinfo.value.key == MEM + "filter.excludes"


def test_filters_from_config_apply_to_add_span():
    """Configured includes/excludes decide which spans the reporter receives."""
    registry = ReporterRegistry.from_config(
        {
            MEM + "factory.class": "in_memory",
            MEM + "filter.includes": "*.job:*",
            MEM + "filter.excludes": "*:Noise",
        }
    )
    job = registry.root_group(name="jobmanager").add_group("job")
    job.add_span(Span.builder("s", "Checkpoint"))
    job.add_span(Span.builder("s", "Noise"))
    registry.root_group(name="jobmanager").add_span(Span.builder("s", "Checkpoint"))
    assert [s.name for s in registry.reporter("mem").spans] == ["Checkpoint"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("key", [MEM + "scope.delimiter", "metrics.scope.delimiter"])
@pytest.mark.parametrize("value", ["", "::", 1])
def test_delimiter_must_be_one_character(key, value):
    """A delimiter that is not exactly one character raises ConfigError naming the key."""
    with pytest.raises(ConfigError) as excinfo:
        ReporterRegistry.from_config({MEM + "factory.class": "in_memory", key: value})
    assert excinfo.value.key == key


def test_global_delimiter_joins_the_logical_scope():
    """``metrics.scope.delimiter`` is the delimiter filters see."""
    registry = ReporterRegistry.from_config(
        {
            "metrics.scope.delimiter": "_",
            MEM + "factory.class": "in_memory",
            MEM + "filter.includes": "jobmanager_job",
        }
    )
    registry.root_group(name="jobmanager").add_group("job").add_span(Span.builder("s", "n"))
    assert len(registry.reporter("mem").spans) == 1  # type: ignore[attr-defined]


def test_key_without_parameter_raises_config_error():
    """``traces.reporter.<name>`` with nothing after it is not a valid key."""
    with pytest.raises(ConfigError) as excinfo:
        ReporterRegistry.from_config({"traces.reporter.mem": "x"})
    assert excinfo.value.key == "traces.reporter.mem"


def test_reporter_that_fails_to_open_raises_config_error_and_closes_the_others():
    """A reporter whose open() raises gives ConfigError; reporters already started are closed."""
    RecordingFactory.reporters.clear()
    with pytest.raises(ConfigError, match="OSError: cannot connect") as excinfo:
        ReporterRegistry.from_config(
            {
                "traces.reporters": "mem,bad",
                MEM + "factory.class": f"{__name__}:RecordingFactory",
                "traces.reporter.bad.factory.class": f"{__name__}:FailingOpenFactory",
            }
        )
    assert excinfo.value.key == "traces.reporter.bad.factory.class"
    assert isinstance(excinfo.value.__cause__, OSError)
    assert [reporter.closed for reporter in RecordingFactory.reporters] == [True]


def test_nested_config_is_flattened_with_dots():
    """Nested maps (Flink's standard YAML) mean the same as dotted keys."""
    nested = {
        "traces": {
            "reporters": "mem",
            "reporter": {
                "mem": {
                    "factory.class": "in_memory",
                    "scope": {"variables": {"additional": {"region": "eu"}}},
                }
            },
        }
    }
    assert flatten_config(nested) == {
        "traces.reporters": "mem",
        MEM + "factory.class": "in_memory",
        MEM + "scope.variables.additional": {"region": "eu"},
    }
    registry = ReporterRegistry.from_config(nested)
    assert dict(registry.setups[0].additional_variables) == {"<region>": "eu"}


def test_from_yaml_reads_flat_and_nested_keys(tmp_path: Path):
    """A Flink config.yaml, flat or nested, configures the registry."""
    path = tmp_path / "config.yaml"
    path.write_text(
        "traces.reporters: mem\n"
        "traces.reporter.mem.factory.class: in_memory\n"
        "traces:\n"
        "  reporter:\n"
        "    mem:\n"
        "      scope.variables.additional: region:eu\n"
        "      filter.includes: ['*:Checkpoint', 'process:*']\n",
        encoding="utf-8",
    )
    registry = ReporterRegistry.from_yaml(path)
    assert dict(registry.setups[0].additional_variables) == {"<region>": "eu"}
    registry.root_group().add_span(Span.builder("s", "Anything"))
    assert len(registry.reporter("mem").spans) == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", ["- a\n- b\n", "a: [\n"])
def test_yaml_that_is_not_a_mapping_raises_config_error(tmp_path: Path, text):
    """A YAML file that is not a mapping (or not YAML) raises ConfigError naming the file."""
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert excinfo.value.key == str(path)


def test_empty_yaml_configures_no_reporters(tmp_path: Path):
    """An empty file means no reporters."""
    path = tmp_path / "config.yaml"
    path.write_text("", encoding="utf-8")
    assert ReporterRegistry.from_yaml(path).names == ()


def test_close_closes_every_reporter_once_even_if_one_fails(caplog):
    """close() closes every reporter; one failing to close is logged, the rest still close."""
    failing, memory = CloseFailsReporter(), InMemoryTraceReporter()
    registry = ReporterRegistry([ReporterSetup("bad", failing), ReporterSetup("mem", memory)])
    with caplog.at_level(logging.ERROR, logger="spanstream.producer"):
        registry.close()
        registry.close()
    assert memory.closed
    assert registry.closed
    assert caplog.text.count("failed to close") == 1


def test_registry_is_a_context_manager_that_closes():
    """``with ReporterRegistry.from_config(...)`` closes the reporters on exit."""
    with ReporterRegistry.from_config({MEM + "factory.class": "in_memory"}) as registry:
        reporter = registry.reporter("mem")
    assert reporter.closed  # type: ignore[attr-defined]


def test_unknown_reporter_name_lookup_lists_the_names():
    """registry.reporter(name) for an unknown name raises KeyError listing the names."""
    registry = ReporterRegistry([ReporterSetup("mem", InMemoryTraceReporter())])
    with pytest.raises(KeyError, match="mem"):
        registry.reporter("kafka")


def test_duplicate_reporter_names_are_rejected():
    """Two setups with one name raise ValueError."""
    with pytest.raises(ValueError, match="unique"):
        ReporterRegistry(
            [
                ReporterSetup("a", InMemoryTraceReporter()),
                ReporterSetup("a", InMemoryTraceReporter()),
            ]
        )


def test_stats_start_at_zero():
    """stats() lists every reporter with no failures before any span."""
    registry = ReporterRegistry.from_config({MEM + "factory.class": "in_memory"})
    stats = registry.stats()["mem"]
    assert (stats.name, stats.failures, stats.last_error) == ("mem", 0, None)


def test_config_keys_outside_traces_are_ignored():
    """Other Flink keys (state backends, ...) are not the registry's business."""
    registry = ReporterRegistry.from_config(
        {"state.backend.type": "rocksdb", MEM + "factory.class": "in_memory"}
    )
    assert registry.names == ("mem",)
