"""The Kafka trace reporter's configuration: defaults, validation, and secrets kept out of sight."""

from __future__ import annotations

import traceback

import pytest

from spanstream.producer import KafkaReporterConfig, KafkaTraceReporter, MetricConfig
from spanstream.schemas import ConfigError

PREFIX = "traces.reporter.kafka."
UNREACHABLE = "127.0.0.1:1"


def parse(**values: object) -> KafkaReporterConfig:
    settings: dict[str, object] = {"bootstrap.servers": UNREACHABLE}
    settings.update({key.replace("__", "."): value for key, value in values.items()})
    return KafkaReporterConfig.from_metric_config(MetricConfig(settings, prefix=PREFIX))


def parse_dict(settings: dict[str, object]) -> KafkaReporterConfig:
    return KafkaReporterConfig.from_metric_config(MetricConfig(settings, prefix=PREFIX))


def open_reporter(settings: dict[str, object]) -> KafkaTraceReporter:
    reporter = KafkaTraceReporter()
    merged: dict[str, object] = {"bootstrap.servers": UNREACHABLE, "open.timeout.s": 0}
    merged.update(settings)
    reporter.open(MetricConfig(merged, prefix=PREFIX))
    return reporter


def test_defaults_lose_nothing_and_never_block():
    """Defaults: topic flink-traces, key job-id, every header, drop-newest, topic created."""
    config = parse()
    assert config.topic == "flink-traces"
    assert config.key_strategy == "job-id"
    assert config.headers == ("content-type", "schema-fingerprint", "producer")
    assert config.overflow_policy == "drop-newest"
    assert config.queue_max_spans == 100_000
    assert config.queue_max_bytes == 64 * 1024 * 1024
    assert config.record_max_bytes == 1_000_000
    assert config.topic_create is True
    assert config.topic_partitions == 3
    assert config.topic_replication_factor == -1
    assert config.name == "kafka"


def test_librdkafka_defaults_are_acks_all_and_idempotence():
    """The producer is built with acks=all and idempotence on unless overridden."""
    reporter = open_reporter({})
    try:
        conf = reporter._sender.producer_conf
        assert conf["acks"] == "all"
        assert conf["enable.idempotence"] == "true"
        assert conf["allow.auto.create.topics"] == "false"
    finally:
        reporter.close(0)


def test_producer_properties_pass_through_and_override_defaults():
    """A ``producer.`` key reaches librdkafka and wins over the reporter's default."""
    reporter = open_reporter({"producer.compression.type": "zstd", "producer.linger.ms": 20})
    try:
        assert reporter._sender.producer_conf["compression.type"] == "zstd"
        assert reporter._sender.producer_conf["linger.ms"] == "20"
    finally:
        reporter.close(0)


def test_missing_bootstrap_servers_names_the_key(monkeypatch):
    """Without bootstrap.servers the error names the full key and what is expected."""
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    with pytest.raises(ConfigError) as info:
        parse_dict({})
    assert info.value.key == "traces.reporter.kafka.bootstrap.servers"
    assert "host:port" in info.value.expected


def test_bootstrap_servers_default_to_the_environment(monkeypatch):
    """Without bootstrap.servers, $KAFKA_BOOTSTRAP_SERVERS gives them (as for the consumer)."""
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker-a:9092,broker-b:9092")
    assert parse_dict({}).bootstrap_servers == "broker-a:9092,broker-b:9092"


@pytest.mark.parametrize("topic", ["", "has space", "a/b", ".", "..", "x" * 250])
def test_bad_topic_name_is_refused(topic: str):
    """A name Kafka would refuse is a ConfigError naming key, value and the rule."""
    with pytest.raises(ConfigError) as info:
        parse(topic=topic)
    assert info.value.key == "traces.reporter.kafka.topic"
    assert info.value.value == topic
    assert "topic name" in info.value.expected


@pytest.mark.parametrize(
    ("text", "strategy", "attribute"),
    [
        ("job-id", "job-id", None),
        ("trace-id", "trace-id", None),
        ("none", "none", None),
        ("TRACE-ID", "trace-id", None),
        ("attribute:tenant", "attribute", "tenant"),
        ("attribute:<host>", "attribute", "<host>"),
    ],
)
def test_key_strategies(text: str, strategy: str, attribute: str | None):
    """Every documented key strategy parses."""
    config = parse(key=text)
    assert (config.key_strategy, config.key_attribute) == (strategy, attribute)


@pytest.mark.parametrize("text", ["job", "attribute:", "attribute", "span-id"])
def test_unknown_key_strategy_lists_the_accepted_ones(text: str):
    """An unknown key strategy names what would be accepted."""
    with pytest.raises(ConfigError) as info:
        parse(key=text)
    assert info.value.key == "traces.reporter.kafka.key"
    assert "attribute:<name>" in info.value.expected
    assert "job-id" in info.value.expected


def test_headers_can_be_chosen_or_switched_off():
    """``headers`` takes a subset of the known headers, or none."""
    assert parse(headers="none").headers == ()
    assert parse(headers="producer, content-type").headers == ("producer", "content-type")


def test_unknown_header_is_refused():
    """An unknown header name is a ConfigError listing the known ones."""
    with pytest.raises(ConfigError) as info:
        parse(headers="content-type,colour")
    assert "schema-fingerprint" in info.value.expected


def test_additional_headers_parse_as_name_value_pairs():
    """``headers.additional`` adds static headers."""
    config = parse(headers__additional="env:prod, region:eu-west-1")
    assert config.additional_headers == (("env", "prod"), ("region", "eu-west-1"))


def test_malformed_additional_headers_are_refused():
    """A pair without a colon is a ConfigError."""
    with pytest.raises(ConfigError) as info:
        parse(headers__additional="env=prod")
    assert info.value.key == "traces.reporter.kafka.headers.additional"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("queue.max.spans", 0),
        ("queue.max.spans", "many"),
        ("queue.max.bytes", 10),
        ("record.max.bytes", -1),
        ("topic.partitions", 0),
        ("topic.replication.factor", 0),
        ("topic.replication.factor", -2),
        ("topic.create", "perhaps"),
        ("open.timeout.s", -1),
        ("close.timeout.s", "soon"),
        ("flush.timeout.s", "nan"),
        ("queue.overflow.policy", "drop-random"),
    ],
)
def test_invalid_values_name_key_value_and_accepted(key: str, value: object):
    """Each invalid value raises a ConfigError with the full key and the value."""
    with pytest.raises(ConfigError) as info:
        parse_dict({"bootstrap.servers": UNREACHABLE, key: value})
    assert info.value.key == PREFIX + key
    assert info.value.value == value
    assert info.value.expected


def test_overflow_policy_drop_oldest_parses():
    """``queue.overflow.policy: drop-oldest`` is accepted."""
    assert parse(queue__overflow__policy="drop-oldest").overflow_policy == "drop-oldest"


@pytest.mark.parametrize(
    "key", ["producer.on_delivery", "producer.delivery.report.only.error", "producer.error_cb"]
)
def test_reserved_producer_keys_are_refused(key: str):
    """Properties the reporter sets itself cannot be overridden."""
    with pytest.raises(ConfigError) as info:
        parse_dict({"bootstrap.servers": UNREACHABLE, key: "x"})
    assert info.value.key == PREFIX + key


def test_unknown_librdkafka_property_fails_at_open_naming_the_key():
    """librdkafka's refusal of an unknown property becomes a ConfigError with the full key."""
    with pytest.raises(ConfigError) as info:
        open_reporter({"producer.no.such.property": "1"})
    assert info.value.key == "traces.reporter.kafka.producer.no.such.property"


def test_invalid_librdkafka_value_fails_at_open_naming_the_key():
    """librdkafka's refusal of a value becomes a ConfigError naming key and value."""
    with pytest.raises(ConfigError) as info:
        open_reporter({"producer.linger.ms": "soon"})
    assert info.value.key == "traces.reporter.kafka.producer.linger.ms"
    assert info.value.value == "soon"


def test_a_failed_open_leaves_the_reporter_closed():
    """After a failed open, notify still never raises and counts the span as closed."""
    reporter = KafkaTraceReporter()
    with pytest.raises(ConfigError):
        reporter.open(MetricConfig({"bootstrap.servers": ""}, prefix=PREFIX))
    reporter.notify_of_added_span(object())  # type: ignore[arg-type]
    assert reporter.snapshot().dropped == {"closed": 1}


SECRET = "hunter2-s3cret"


def test_credentials_never_appear_in_reprs():
    """A SASL password is in neither the config's nor the reporter's repr."""
    settings = {
        "producer.security.protocol": "SASL_PLAINTEXT",
        "producer.sasl.mechanism": "PLAIN",
        "producer.sasl.username": "alice",
        "producer.sasl.password": SECRET,
    }
    config = parse_dict({"bootstrap.servers": UNREACHABLE, **settings})
    assert SECRET not in repr(config)
    assert SECRET not in str(config)
    reporter = open_reporter(settings)
    try:
        assert SECRET not in repr(reporter)
        assert SECRET not in repr(reporter.snapshot())
    finally:
        reporter.close(0)


def test_credentials_never_appear_in_config_errors():
    """An error raised while credentials are configured shows none of them, cause included."""
    with pytest.raises(ConfigError) as info:
        open_reporter({"producer.sasl.password": SECRET, "producer.security.protocol": "bogus"})
    rendered = "".join(traceback.format_exception(info.value))
    assert SECRET not in rendered
    assert info.value.key == "traces.reporter.kafka.producer.security.protocol"


def test_a_secret_key_with_a_bad_value_is_redacted():
    """When the refused property is itself a credential, its value is shown as ***."""
    with pytest.raises(ConfigError) as info:
        parse_dict({"bootstrap.servers": UNREACHABLE, "producer.sasl.password": {"a": SECRET}})
    assert info.value.value == "***"
    assert SECRET not in "".join(traceback.format_exception(info.value))
