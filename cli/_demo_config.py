"""The demo's reporter configuration: read, checked, and tagged with the run.

The file is Flink's ``traces.*`` keys (the packaged ``demo.yaml`` or ``--config``); it must
configure a Kafka trace reporter. Problems are one line that never quotes the file's text
(it may hold a password).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Final

from spanstream.cli._exit import UsageError
from spanstream.producer import ReporterRegistry, load_config
from spanstream.schemas import ConfigError

__all__ = [
    "DEFAULT_TOPIC",
    "EVENTS_AS_SPANS_KEY",
    "EVENTS_REPORTER_PREFIX",
    "REPORTER_PREFIX",
    "RUN_VARIABLE",
    "default_config_path",
    "kafka_reporter_names",
    "prepare_config",
    "report_events_as_spans",
]

DEFAULT_TOPIC: Final = "flink-traces"
RUN_VARIABLE: Final = "demo_run"
REPORTER_PREFIX: Final = "traces.reporter."
"""Where a trace reporter's keys start."""
EVENTS_REPORTER_PREFIX: Final = "events.reporter."
"""Where an event reporter's keys start."""
_KAFKA_FACTORIES: Final = ("kafka", "KafkaTraceReporterFactory")
EVENTS_AS_SPANS_KEY: Final = "traces.report-events-as-spans"


def default_config_path() -> Path:
    """The packaged ``demo.yaml``."""
    return Path(str(resources.files("spanstream.cli").joinpath("demo.yaml")))


def kafka_reporter_names(flat: Mapping[str, object], prefix: str = REPORTER_PREFIX) -> list[str]:
    """The names of the Kafka reporters that ``flat`` configures under ``prefix``."""
    names = []
    for key, value in flat.items():
        if key.startswith(prefix) and key.endswith(".factory.class"):
            name = key[len(prefix) : -len(".factory.class")]
            if isinstance(value, str) and value.strip().endswith(_KAFKA_FACTORIES):
                names.append(name)
    return names


def _yaml_problem(exc: ConfigError) -> str:
    """What is wrong with a configuration file, by line and column, without its text.

    ``load_config`` names where the parser stopped and why, and never quotes the file.
    """
    if exc.value == "<the file>":
        return f"not valid YAML ({exc.expected.removeprefix('a YAML document (').rstrip(')')})"
    return "not a YAML mapping of traces.* keys"


def _no_kafka_reporter(path: Path, flat: Mapping[str, object]) -> str:
    """Why the file configures no Kafka reporter: a misspelt factory, or none at all.

    A reporter named ``kafka``, or a factory close to ``kafka`` (``kafak``), is a misspelling
    to point at; adding ``traces.reporter.kafka.factory.class`` would repeat a key that is there.
    """
    factories = {
        key[len(REPORTER_PREFIX) : -len(".factory.class")]: value
        for key, value in flat.items()
        if key.startswith(REPORTER_PREFIX) and key.endswith(".factory.class")
    }
    misspelt = {
        name: value
        for name, value in factories.items()
        if name == "kafka" or difflib.get_close_matches(str(value).lower(), ["kafka"], cutoff=0.6)
    }
    if not misspelt:
        return (
            f"--config: {path} configures no Kafka trace reporter; add "
            "'traces.reporter.kafka.factory.class: kafka'"
        )
    given = ", ".join(
        f"{REPORTER_PREFIX}{name}.factory.class is {str(value)!r}"
        for name, value in sorted(misspelt.items())
    )
    return (
        f"--config: {path} configures no Kafka trace reporter: {given}; the demo needs one "
        "whose factory.class is 'kafka' (or a class name ending in KafkaTraceReporterFactory)"
    )


def _with_run_variable(value: object, run_id: str) -> object:
    if isinstance(value, Mapping):
        return {**value, RUN_VARIABLE: run_id}
    text = str(value or "").strip().strip(",")
    return f"{text},{RUN_VARIABLE}:{run_id}" if text else f"{RUN_VARIABLE}:{run_id}"


def prepare_config(path: Path, *, run_id: str) -> tuple[dict[str, object], str, str, str | None]:
    """Read the demo's reporter configuration and tag it with the run.

    Returns:
        The flat configuration, the Kafka reporter's name, its topic, and its
        ``bootstrap.servers`` when the file sets them (else ``None``: the demo obtains a broker).

    Raises:
        UsageError: the file cannot be read or configures no Kafka reporter.
        ConfigError: the file has a key no reporter knows.
    """
    try:
        flat = load_config(path)
    except OSError as exc:
        raise UsageError(f"--config: cannot read {path}: {exc.strerror or exc}") from exc
    except ConfigError as exc:
        # The parser's message quotes the offending line, which may hold a password: say where
        # the problem is, never what the file says there.
        raise UsageError(f"--config: {path} is {_yaml_problem(exc)}") from exc
    names = kafka_reporter_names(flat)
    if not names:
        raise UsageError(_no_kafka_reporter(path, flat))
    ReporterRegistry.check_config(flat)  # a misspelled key fails before a broker is looked for
    name = names[0]
    prefix = f"{REPORTER_PREFIX}{name}."
    variables_key = prefix + "scope.variables.additional"
    flat[variables_key] = _with_run_variable(flat.get(variables_key), run_id)
    # Kafka event reporters tag their events with the run too (the board reads this run's).
    for events_name in kafka_reporter_names(flat, EVENTS_REPORTER_PREFIX):
        events_key = f"{EVENTS_REPORTER_PREFIX}{events_name}.scope.variables.additional"
        flat[events_key] = _with_run_variable(flat.get(events_key), run_id)
    topic = str(flat.get(prefix + "topic", DEFAULT_TOPIC))
    servers = flat.get(prefix + "bootstrap.servers") or flat.get(
        prefix + "producer.bootstrap.servers"
    )
    return flat, name, topic, str(servers).strip() if servers else None


def report_events_as_spans(flat: Mapping[str, object]) -> bool:
    """``traces.report-events-as-spans`` (Flink 1.20-2.1): report the job failure as a span.

    Raises:
        ConfigError: a value other than a boolean or ``true``/``false``.
    """
    value = flat.get(EVENTS_AS_SPANS_KEY, False)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise ConfigError(EVENTS_AS_SPANS_KEY, value, "true or false")
    return text == "true"
