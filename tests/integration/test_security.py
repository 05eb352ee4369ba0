"""TLS and SASL end to end: a local broker with a SASL_SSL (SCRAM-SHA-512) listener.

The broker is a dedicated node (its own ports and folder; never the session broker) whose CA,
certificate and SCRAM users the module creates. The reporter and the consumer reach it through
their property passthrough (``producer.*`` and ``config``). A wrong password, an untrusted CA and
plain text against the TLS port give clear errors and deliver nothing; no password ever shows in
a log line, a repr or an exception message.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Mapping

import pytest
from _spans import numbered_span

from spanstream.broker import default_state_dir
from spanstream.broker._security import (
    ScramUser,
    SecureLocalKafka,
    generate_tls_material,
)
from spanstream.consumer import SpanConsumer
from spanstream.producer import MetricConfig, ReporterRegistry
from spanstream.producer._kafka_config import KafkaReporterConfig
from spanstream.producer._kafka_reporter import KafkaTraceReporter
from spanstream.schemas import ConfigError, Span

pytestmark = pytest.mark.slow

ALICE = ScramUser("alice", f"alice-pw-{uuid.uuid4().hex}")
BOB = ScramUser("bob", f"bob-pw-{uuid.uuid4().hex}")
WRONG_PASSWORD = f"wrong-pw-{uuid.uuid4().hex}"
SECRETS = (ALICE.password, BOB.password, WRONG_PASSWORD)
ERROR_WAIT_S = 60.0


@pytest.fixture(scope="module")
def secure_kafka() -> Iterator[SecureLocalKafka]:
    kafka = SecureLocalKafka(
        users=[ALICE, BOB],
        state_dir=default_state_dir(),
        name=f"test-sasl-ssl-{uuid.uuid4().hex[:8]}",
    )
    try:
        kafka.start()
        yield kafka
    finally:
        kafka.stop(remove=True)


def _reporter_config(client: Mapping[str, str], topic: str, **extra: str) -> dict[str, object]:
    config: dict[str, object] = {
        "traces.reporter.kafka.factory.class": "kafka",
        "traces.reporter.kafka.bootstrap.servers": client["bootstrap.servers"],
        "traces.reporter.kafka.topic": topic,
        "traces.reporter.kafka.open.timeout.s": "2",
    }
    for key, value in client.items():
        if key != "bootstrap.servers":
            config[f"traces.reporter.kafka.producer.{key}"] = value
    for key, value in extra.items():
        config[f"traces.reporter.kafka.{key}"] = value
    return config


def _spans(count: int) -> list[Span]:
    return [
        numbered_span(
            i, scope="org.example.Secure", name=f"span-{i}", i=i, **{"<job_id>": "secure-job"}
        )
        for i in range(count)
    ]


def _consumer_config(client: Mapping[str, str]) -> dict[str, str]:
    return {key: value for key, value in client.items() if key != "bootstrap.servers"}


def _wait_for_client_error(reporter: KafkaTraceReporter, names: set[str]) -> set[str]:
    deadline = time.monotonic() + ERROR_WAIT_S
    while time.monotonic() < deadline:
        seen = set(reporter.snapshot().client_errors)
        if seen & names:
            return seen
        time.sleep(0.2)
    return set(reporter.snapshot().client_errors)


def _assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text


def test_reporter_and_consumer_round_trip_over_sasl_ssl(secure_kafka, caplog):
    """Spans reported with alice's credentials are read back with bob's, all of them, exactly."""
    topic = f"secure-{uuid.uuid4().hex[:8]}"
    spans = _spans(2000)
    caplog.set_level(logging.DEBUG, logger="spanstream")
    registry = ReporterRegistry.from_config(
        _reporter_config(secure_kafka.client_config(ALICE.name), topic, **{"open.timeout.s": "30"})
    )
    group = registry.root_group()
    for span in spans:
        group.add_span(span)
    reporter = registry.reporter("kafka")
    assert isinstance(reporter, KafkaTraceReporter)
    assert reporter.flush(60) == 0
    registry.close()
    stats = reporter.snapshot()
    assert stats.delivered == len(spans)
    assert stats.failed_total == 0
    assert stats.dropped_total == 0

    with SpanConsumer(
        topic,
        bootstrap_servers=secure_kafka.bootstrap_servers,
        group_id=f"g-{uuid.uuid4().hex[:8]}",
        start="earliest",
        config=_consumer_config(secure_kafka.client_config(BOB.name)),
    ) as consumer:
        got = [record.span for record in consumer.iter_records(idle_timeout_s=10)]
    assert sorted(got, key=lambda s: s.name) == sorted(spans, key=lambda s: s.name)
    _assert_no_secret(caplog.text)


@pytest.mark.parametrize(
    ("case", "expected_errors", "expected_log"),
    [
        ("wrong-password", {"_AUTHENTICATION"}, "SASL authentication error"),
        ("untrusted-ca", {"_SSL"}, "certificate verify failed"),
        ("plaintext", {"_ALL_BROKERS_DOWN", "_TRANSPORT"}, "brokers are down"),
    ],
)
def test_a_bad_connection_is_a_clear_error_and_nothing_is_delivered(
    secure_kafka, tmp_path, caplog, case, expected_errors, expected_log
):
    """Each misconfiguration shows in client_errors and the log; no span counts as delivered,
    and at close every span is accounted for as dropped ``closed``."""
    if case == "wrong-password":
        client = secure_kafka.client_config(ALICE.name, password=WRONG_PASSWORD)
    elif case == "untrusted-ca":
        other = generate_tls_material(tmp_path / "other-ca", ca_name="someone else's CA")
        client = secure_kafka.client_config(ALICE.name, ca_location=other.ca_cert)
    else:
        client = {
            "bootstrap.servers": secure_kafka.bootstrap_servers,
            "security.protocol": "PLAINTEXT",
        }
    caplog.set_level(logging.DEBUG, logger="spanstream")
    registry = ReporterRegistry.from_config(
        _reporter_config(client, f"never-{case}", **{"close.timeout.s": "1"})
    )
    try:
        group = registry.root_group()
        for span in _spans(100):
            group.add_span(span)
        reporter = registry.reporter("kafka")
        assert isinstance(reporter, KafkaTraceReporter)
        seen = _wait_for_client_error(reporter, expected_errors)
        assert seen & expected_errors, seen
        assert expected_log in caplog.text
        assert reporter.snapshot().delivered == 0
    finally:
        registry.close()
    stats = reporter.snapshot()
    assert stats.delivered == 0
    assert stats.dropped == {"closed": 100}
    assert stats.pending == 0
    _assert_no_secret(caplog.text, repr(reporter), repr(stats))


def test_a_consumer_with_a_wrong_password_reads_nothing_and_counts_the_error(secure_kafka, caplog):
    """The consumer reports the authentication failure (kafka_errors and the log), no span."""
    caplog.set_level(logging.DEBUG, logger="spanstream")
    with SpanConsumer(
        f"secure-{uuid.uuid4().hex[:8]}",
        bootstrap_servers=secure_kafka.bootstrap_servers,
        group_id=f"g-{uuid.uuid4().hex[:8]}",
        start="earliest",
        config=_consumer_config(secure_kafka.client_config(BOB.name, password=WRONG_PASSWORD)),
    ) as consumer:
        got = list(consumer.iter_records(idle_timeout_s=8))
        stats = consumer.stats()
        text = repr(consumer)
    assert got == []
    assert stats.spans_delivered == 0
    assert stats.kafka_errors > 0
    assert "Authentication failed" in caplog.text
    _assert_no_secret(caplog.text, text)


def test_credentials_never_appear_in_logs_reprs_or_exception_messages(secure_kafka, caplog, capfd):
    """With librdkafka's security and configuration debugging on, no password is shown: not in
    log lines, reprs, snapshots, configuration errors, or the process's own output."""
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    for password in (ALICE.password, WRONG_PASSWORD):
        client = secure_kafka.client_config(ALICE.name, password=password)
        config = _reporter_config(
            client,
            f"secret-{uuid.uuid4().hex[:8]}",
            **{"producer.debug": "security,broker,conf", "close.timeout.s": "1"},
        )
        registry = ReporterRegistry.from_config(config)
        reporter = registry.reporter("kafka")
        assert isinstance(reporter, KafkaTraceReporter)
        registry.root_group().add_span(Span.builder("a", "b"))
        reporter.flush(5)
        texts += [repr(registry), repr(reporter), repr(reporter.snapshot())]
        registry.close()
        # The configuration as parsed, and the errors a bad property beside a password gives.
        prefix = "traces.reporter.kafka."
        parsed = KafkaReporterConfig.from_metric_config(
            MetricConfig({k[len(prefix) :]: v for k, v in config.items()}, prefix=prefix)
        )
        texts.append(repr(parsed))
        for bad in ({"producer.no.such.property": "1"}, {"producer.sasl.mechanism": "NOPE"}):
            with pytest.raises(ConfigError) as caught:
                ReporterRegistry.from_config(config | {prefix + k: v for k, v in bad.items()})
            texts += [str(caught.value), repr(caught.value.value), _chain(caught.value)]
        with pytest.raises(ConfigError) as consumer_error:
            SpanConsumer(
                "t",
                bootstrap_servers=secure_kafka.bootstrap_servers,
                group_id="g",
                config={**_consumer_config(client), "no.such.property": "1"},
            )
        texts += [str(consumer_error.value), _chain(consumer_error.value)]
    texts += [repr(ALICE), repr(secure_kafka)]
    out, err = capfd.readouterr()
    texts += [caplog.text, out, err]
    assert "Selected provider SCRAM" in caplog.text  # librdkafka's debug output was searched
    _assert_no_secret(*texts)


def _chain(exc: BaseException) -> str:
    parts = []
    current: BaseException | None = exc
    while current is not None:
        parts.append(f"{type(current).__name__}: {current} {current.args!r}")
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def test_generated_material_is_a_ca_signed_broker_certificate_for_loopback(tmp_path):
    """The broker certificate is signed by the CA, names localhost and 127.0.0.1, and the
    keystore (key, then certificate) is readable by its owner only."""
    from cryptography import x509
    from cryptography.x509.oid import ExtensionOID

    material = generate_tls_material(tmp_path / "tls")
    ca = x509.load_pem_x509_certificate(material.ca_cert.read_bytes())
    cert = x509.load_pem_x509_certificate(material.broker_cert.read_bytes())
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    keystore = material.broker_keystore.read_text()
    assert keystore.startswith("-----BEGIN PRIVATE KEY-----")
    assert keystore.rstrip().endswith("-----END CERTIFICATE-----")
    assert material.broker_keystore.stat().st_mode & 0o777 == 0o600


def test_two_generated_cas_do_not_trust_each_other(tmp_path):
    """Each call makes a new CA: a certificate of one does not verify against the other."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature

    first = generate_tls_material(tmp_path / "a")
    second = generate_tls_material(tmp_path / "b")
    cert = x509.load_pem_x509_certificate(first.broker_cert.read_bytes())
    other_ca = x509.load_pem_x509_certificate(second.ca_cert.read_bytes())
    with pytest.raises(InvalidSignature):
        cert.verify_directly_issued_by(other_ca)


def test_a_scram_user_never_shows_its_password():
    """repr and str of a ScramUser hide the password."""
    assert ALICE.password not in repr(ALICE)
    assert ALICE.password not in str(ALICE)
    assert "alice" in repr(ALICE)
