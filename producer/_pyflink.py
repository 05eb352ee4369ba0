"""Spans from PyFlink user functions: the metric group a Python ``open(runtime_context)`` lacks.

Flink's Python ``RuntimeContext`` gives counters, gauges, meters and distributions, and no spans.
:func:`pyflink_metric_group` closes that gap: called in ``open``, it returns a spanstream
:class:`MetricGroup` carrying the variables Flink gives the same operator on the JVM, as far as
the Python worker can know them, and reporting to reporters started once per worker process from
Flink's ``traces.reporter.*`` keys.

The Python worker knows neither the job id nor the job name. :func:`pyflink_job_configuration`
fixes both at submission: it picks the job id (Flink's internal ``$internal.pipeline.job-id``,
which the JobGraph takes as its id) and the name (``pipeline.name``), and passes them, with the
job's trace configuration, down to the workers as global job parameters. The JVM's system spans
of the job (``Checkpoint``, ``JobInitialization``) carry the same id in ``<job_id>``.

Nothing here imports PyFlink: the runtime context and the PyFlink metric group are used through
the few methods this module calls, so the module type-checks and loads without the extra.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import importlib.util
import json
import logging
import os
import secrets
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from spanstream.producer._metric_group import MetricGroup
from spanstream.producer._registry import ReporterRegistry, flatten_config, load_config
from spanstream.schemas import ConfigError

__all__ = [
    "FIXED_JOB_ID_KEY",
    "JOB_ID_PARAMETER",
    "JOB_NAME_PARAMETER",
    "TRACES_CONFIG_PARAMETER",
    "PyFlinkSpanCounts",
    "flush_pyflink_reporters",
    "pyflink_environment",
    "pyflink_job_configuration",
    "pyflink_metric_group",
    "pyflink_span_counts",
]

JOB_ID_PARAMETER: Final = "spanstream.job-id"
"""The global job parameter carrying the job id (32 lowercase hex digits, Flink's ``JobID``)."""

JOB_NAME_PARAMETER: Final = "spanstream.job-name"
"""The global job parameter carrying the job name (Flink's ``pipeline.name``)."""

TRACES_CONFIG_PARAMETER: Final = "spanstream.traces-config"
"""The global job parameter carrying the job's ``traces.*``/``events.*`` keys (base64 JSON)."""

FIXED_JOB_ID_KEY: Final = "$internal.pipeline.job-id"
"""Flink's own key for a job id chosen at submission (``PipelineOptionsInternal``)."""

_JOB_PARAMETERS_KEY: Final = "pipeline.global-job-parameters"
_TRACE_KEY_PREFIXES: Final = ("traces.", "events.", "metrics.scope.delimiter")

# Java factories of the same reporters, so that one configuration drives both languages.
_JAVA_FACTORIES: Final = {
    "io.spanstream.flink.KafkaTraceReporterFactory": "kafka",
    "io.spanstream.flink.KafkaEventReporterFactory": "kafka",
    "org.apache.flink.traces.slf4j.Slf4jTraceReporterFactory": "logging",
    "org.apache.flink.events.slf4j.Slf4jEventReporterFactory": "logging",
}
_FACTORY_SUFFIX: Final = ".factory.class"

_LOG: Final = logging.getLogger("spanstream.producer")


class _PyFlinkMetricGroup(Protocol):
    def add_group(self, name: str, extra: str | None = None) -> _PyFlinkMetricGroup: ...

    def gauge(self, name: str, obj: Callable[[], int]) -> object: ...


class _RuntimeContext(Protocol):
    """What :func:`pyflink_metric_group` reads of PyFlink's ``RuntimeContext``."""

    def get_task_name(self) -> str:
        """The task's name."""

    def get_index_of_this_subtask(self) -> int:
        """The subtask index, from 0."""

    def get_attempt_number(self) -> int:
        """The attempt number, from 0."""

    def get_job_parameter(self, key: str, default_value: str) -> str:
        """A global job parameter."""


# -- submission ----------------------------------------------------------------------------------


def _quote(value: str) -> str:
    # Flink's map options split on ',' and ':' outside quotes; a quote is doubled inside one.
    return "'" + value.replace("'", "''") + "'"


def _check_job_id(job_id: str) -> str:
    try:
        valid = len(job_id) == 32 and bytes.fromhex(job_id) is not None
    except (ValueError, TypeError):
        valid = False
    if not valid:
        raise ConfigError(FIXED_JOB_ID_KEY, job_id, "32 hexadecimal digits (a Flink JobID)")
    return job_id.lower()


def pyflink_job_configuration(
    config: Mapping[str, object],
    *,
    job_name: str,
    job_id: str | None = None,
    python_executable: str | None = None,
) -> dict[str, str]:
    """Return the Flink configuration of a job whose Python functions report spans.

    It is ``config`` (flattened, every value a string) plus:

    - ``$internal.pipeline.job-id``: the job id, fixed now (a new random one by default), so
      that the JVM's spans and the Python functions' spans carry the same ``<job_id>``;
    - ``pipeline.name``: ``job_name`` (run the job with ``env.execute()``, without a name, so
      that this one stays the job's name);
    - ``pipeline.global-job-parameters``: the job id, the name, and the ``traces.*`` and
      ``events.*`` keys of ``config``, which the Python workers read (merged with parameters
      already in ``config``);
    - ``python.executable`` and ``python.client.executable``: the interpreter running this call
      (the environment that has spanstream) unless ``config`` or ``python_executable`` names one.

    Raises:
        ConfigError: ``job_id`` is not 32 hexadecimal digits, or ``job_name`` is empty.
    """
    if not isinstance(job_name, str) or not job_name:
        raise ConfigError("pipeline.name", job_name, "a non-empty job name")
    flat = {key: _config_text(value) for key, value in flatten_config(config).items()}
    chosen_id = _check_job_id(job_id) if job_id is not None else secrets.token_hex(16)
    traces = {k: v for k, v in flat.items() if k.startswith(_TRACE_KEY_PREFIXES)}
    encoded = base64.urlsafe_b64encode(json.dumps(traces, sort_keys=True).encode()).decode()
    parameters = [
        f"{JOB_ID_PARAMETER}:{chosen_id}",
        f"{JOB_NAME_PARAMETER}:{_quote(job_name)}",
        f"{TRACES_CONFIG_PARAMETER}:{encoded}",
    ]
    existing = flat.get(_JOB_PARAMETERS_KEY, "").strip()
    flat[_JOB_PARAMETERS_KEY] = ",".join([existing, *parameters] if existing else parameters)
    flat[FIXED_JOB_ID_KEY] = chosen_id
    flat["pipeline.name"] = job_name
    executable = python_executable or flat.get("python.executable") or sys.executable
    flat["python.executable"] = executable
    flat.setdefault("python.client.executable", executable)
    return flat


def _config_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return ",".join(f"{k}:{v}" for k, v in value.items())
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    return str(value)


def pyflink_environment(
    config: Mapping[str, object],
    *,
    job_name: str,
    job_id: str | None = None,
    python_executable: str | None = None,
) -> Any:  # noqa: ANN401 - a pyflink StreamExecutionEnvironment (PyFlink has no types)
    """A PyFlink ``StreamExecutionEnvironment`` set up by :func:`pyflink_job_configuration`.

    Needs the ``spanstream[pyflink]`` extra. Run the job with ``env.execute()`` (no name): the
    name is ``job_name``.

    Example::

        env = pyflink_environment(
            {"traces.reporter.kafka.factory.class": "kafka",
             "traces.reporter.kafka.bootstrap.servers": "localhost:9092"},
            job_name="enrich",
        )
    """
    from pyflink.common import Configuration
    from pyflink.datastream import (
        StreamExecutionEnvironment,
    )

    configuration = Configuration()
    for key, value in pyflink_job_configuration(
        config, job_name=job_name, job_id=job_id, python_executable=python_executable
    ).items():
        configuration.set_string(key, value)
    return StreamExecutionEnvironment.get_execution_environment(configuration)


# -- the worker ----------------------------------------------------------------------------------


def _cluster_file(conf_dir: str | None) -> dict[str, object]:
    """``<conf_dir>/config.yaml`` (or the legacy ``flink-conf.yaml``), flat; ``{}`` if none."""
    if not conf_dir:
        return {}
    for file_name in ("config.yaml", "flink-conf.yaml"):
        path = Path(conf_dir) / file_name
        if path.is_file():
            try:
                return load_config(path)
            except (ConfigError, OSError):
                _LOG.warning("could not read %s; its trace keys are ignored", path, exc_info=True)
                return {}
    return {}


def _cluster_config(conf_dir: str | None) -> dict[str, object]:
    """The trace and event keys of the cluster's configuration file."""
    flat = _cluster_file(conf_dir)
    return {k: v for k, v in flat.items() if k.startswith(_TRACE_KEY_PREFIXES)}


def _worker_host(conf_dir: str | None) -> str:
    """The cluster file's ``taskmanager.host`` (the JVM's ``<host>``), else this host's name."""
    host = _cluster_file(conf_dir).get("taskmanager.host")
    if isinstance(host, str) and host.strip():
        return host.strip()
    return socket.gethostname()


def _job_config(encoded: str) -> dict[str, object]:
    if not encoded:
        return {}
    try:
        document = json.loads(base64.urlsafe_b64decode(encoded.encode()))
    except (ValueError, binascii.Error) as exc:
        raise ConfigError(
            TRACES_CONFIG_PARAMETER, encoded[:40], "base64 JSON, as written by spanstream"
        ) from exc
    if not isinstance(document, dict):
        raise ConfigError(TRACES_CONFIG_PARAMETER, encoded[:40], "base64 of a JSON object")
    return document


def _is_java_class(value: str) -> bool:
    """A dotted name with no Python package at its root, or under Flink's or ``io.``."""
    if ":" in value or "." not in value:
        return False
    if value.startswith(("org.apache.flink.", "io.")):
        return True
    try:
        return importlib.util.find_spec(value.split(".", 1)[0]) is None
    except (ImportError, ValueError):
        return True


def _python_factories(config: Mapping[str, object]) -> dict[str, object]:
    """The Java factories of reporters spanstream has in Python, named by their Python name.

    A reporter whose Java factory has no Python counterpart is left out of the Python side (one
    warning): Python spans do not reach it.
    """
    resolved: dict[str, object] = {}
    skipped: list[str] = []
    for key, value in config.items():
        if key.endswith(_FACTORY_SUFFIX) and isinstance(value, str):
            if value in _JAVA_FACTORIES:
                resolved[key] = _JAVA_FACTORIES[value]
                continue
            if _is_java_class(value):
                skipped.append(key[: -len(_FACTORY_SUFFIX)])
                continue
        resolved[key] = value
    if skipped:
        resolved = {
            k: v for k, v in resolved.items() if not any(k.startswith(s + ".") for s in skipped)
        }
        reporters = resolved.get("traces.reporters")
        if isinstance(reporters, str):
            names = [n.strip() for n in reporters.split(",") if n.strip()]
            resolved["traces.reporters"] = ",".join(
                n for n in names if f"traces.reporter.{n}" not in skipped
            )
        _LOG.warning(
            "reporters %s have a Java factory with no spanstream Python counterpart: spans "
            "from Python functions do not reach them",
            skipped,
        )
    return resolved


def _resolved_config(
    explicit: Mapping[str, object] | None, encoded_job_config: str, conf_dir: str | None
) -> dict[str, object]:
    """Key by key: ``explicit``, else the job's (encoded) keys, else the cluster file's."""
    merged: dict[str, object] = {**_cluster_config(conf_dir), **_job_config(encoded_job_config)}
    merged.update(flatten_config(explicit or {}))
    return _python_factories(merged)


class _WorkerReporters:
    """The registries of this worker process, one per distinct configuration."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._registries: dict[str, ReporterRegistry] = {}
        self._exit_hook = False

    def registry(self, config: Mapping[str, object]) -> ReporterRegistry:
        key = json.dumps(config, sort_keys=True, default=str)
        with self._lock:
            registry = self._registries.get(key)
            if registry is None or registry.closed:
                registry = ReporterRegistry.from_config(config)
                self._registries[key] = registry
                if not self._exit_hook:
                    # Flink ends a Python worker by closing its control channel: the
                    # interpreter exits normally and the hook runs.
                    atexit.register(self.close)
                    self._exit_hook = True
            return registry

    def all(self) -> tuple[ReporterRegistry, ...]:
        with self._lock:
            return tuple(self._registries.values())

    def close(self) -> None:
        with self._lock:
            registries, self._registries = list(self._registries.values()), {}
        for registry in registries:
            registry.close()

    def after_fork(self) -> None:
        # A forked child has none of the parent's sender threads: it starts its own.
        self._lock = threading.Lock()
        self._registries = {}


_WORKER: Final = _WorkerReporters()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_WORKER.after_fork)


@dataclass(frozen=True, slots=True)
class PyFlinkSpanCounts:
    """What this worker process's reporters did with the spans, over all reporters.

    Attributes:
        delivered: spans the broker acknowledged (reporters that count deliveries).
        dropped: spans dropped by a reporter (queue full, too large, closed, failed) or lost
            before reaching it (the registry's failures).
        pending: spans accepted and not yet delivered or dropped.
    """

    delivered: int
    dropped: int
    pending: int


def pyflink_span_counts() -> PyFlinkSpanCounts:
    """The counts of this worker process's reporters (see :class:`PyFlinkSpanCounts`)."""
    delivered = dropped = pending = 0
    for registry in _WORKER.all():
        dropped += sum(stats.failures for stats in registry.stats().values())
        for setup in registry.setups:
            snapshot = getattr(setup.reporter, "snapshot", None)
            if snapshot is None:
                continue
            stats = snapshot()
            delivered += stats.delivered
            dropped += sum(stats.dropped.values())
            pending += stats.pending
    return PyFlinkSpanCounts(delivered, dropped, pending)


def flush_pyflink_reporters(timeout_s: float = 5.0) -> int:
    """Wait up to ``timeout_s`` for this worker's trace and event reporters to deliver.

    Call it in the function's ``close()``. Reporters stay open for the worker's other functions
    and the next task attempt; they close at worker exit.

    Returns:
        How many spans were still pending at the deadline.
    """
    pending = 0
    for registry in _WORKER.all():
        named: list[tuple[str, object]] = [(s.name, s.reporter) for s in registry.setups]
        named += [(s.name, s.reporter) for s in registry.event_setups]
        for name, reporter in named:
            flush = getattr(reporter, "flush", None)
            if flush is None:
                continue
            try:
                pending += int(flush(timeout_s))
            except Exception:  # noqa: BLE001 - telemetry never raises into the operator
                _LOG.warning("flushing reporter %r failed", name, exc_info=True)
    return pending


def _register_counters(runtime_context: object) -> None:
    try:
        get_group = getattr(runtime_context, "get_metrics_group", None) or getattr(
            runtime_context, "get_metric_group", None
        )
        if get_group is None:
            return
        group: _PyFlinkMetricGroup = get_group().add_group("spanstream")
        group.gauge("spansDelivered", lambda: pyflink_span_counts().delivered)
        group.gauge("spansDropped", lambda: pyflink_span_counts().dropped)
        group.gauge("spansPending", lambda: pyflink_span_counts().pending)
    except Exception:  # noqa: BLE001 - metrics disabled ('python.metric.enabled'): no gauges
        _LOG.debug("could not register spanstream gauges", exc_info=True)


def pyflink_metric_group(
    runtime_context: _RuntimeContext,
    *,
    config: Mapping[str, object] | None = None,
) -> MetricGroup:
    """The operator's metric group for spans; call it in ``open(runtime_context)``.

    Works with the ``RuntimeContext`` of DataStream functions (``MapFunction``,
    ``ProcessFunction``, ``KeyedProcessFunction``, ...) and the ``FunctionContext`` of table
    UDFs. The group's logical scope is ``taskmanager.job.task.operator`` and it carries
    ``<host>`` (the cluster file's ``taskmanager.host``, else this host's name), ``<job_id>``
    and ``<job_name>`` (from :func:`pyflink_job_configuration`'s job parameters),
    ``<task_name>``, ``<subtask_index>`` and ``<task_attempt_num>``.

    The reporters come from Flink's ``traces.reporter.*`` keys; key by key, the first source
    that has a key wins: ``config``, then the job's configuration (the job parameter
    :func:`pyflink_job_configuration` writes), then the cluster's ``$FLINK_CONF_DIR/config.yaml``.
    They start once per Python worker process and are shared by every function in it; Java
    factory names of reporters spanstream has in Python (``io.spanstream.flink.Kafka...``, Flink's
    ``Slf4j...``) start the Python reporter. Gauges ``spanstream.spansDelivered``,
    ``spansDropped`` and ``spansPending`` are registered on the function's PyFlink metric group.

    Raises:
        ConfigError: the trace configuration is malformed (as :meth:`ReporterRegistry.from_config`).
    """
    conf_dir = os.environ.get("FLINK_CONF_DIR")
    registry = _WORKER.registry(
        _resolved_config(
            config, runtime_context.get_job_parameter(TRACES_CONFIG_PARAMETER, ""), conf_dir
        )
    )

    def parameter(key: str) -> str:
        return runtime_context.get_job_parameter(key, "")

    job_id = parameter(JOB_ID_PARAMETER)
    job_name = parameter(JOB_NAME_PARAMETER)
    if not job_id:
        _LOG.warning(
            "job parameter %r is not set: spans from this function carry no <job_id> (submit "
            "the job with spanstream.producer.pyflink_job_configuration)",
            JOB_ID_PARAMETER,
        )
    job_variables = {"job_id": job_id, "job_name": job_name}
    # A table UDF's FunctionContext before Flink 2.3 answers None: such a variable is left out.
    task_variables: dict[str, str | int | None] = {
        "task_name": runtime_context.get_task_name(),
        "task_attempt_num": runtime_context.get_attempt_number(),
        "subtask_index": runtime_context.get_index_of_this_subtask(),
    }
    group = (
        registry.root_group(name="taskmanager", variables={"host": _worker_host(conf_dir)})
        .add_group("job", variables={k: v for k, v in job_variables.items() if v})
        .add_group("task", variables={k: v for k, v in task_variables.items() if v is not None})
        .add_group("operator")
    )
    _register_counters(runtime_context)
    return group
