"""A local Kafka with a SASL_SSL listener: a throwaway CA, a broker certificate, SCRAM users.

Everything here is for tests and demos on loopback: :func:`generate_tls_material` writes a fresh
certificate authority and a broker certificate (for ``localhost`` and ``127.0.0.1``) as PEM files;
:func:`sasl_ssl_properties` renders the broker settings of a ``SASL_SSL`` listener (a PEM
keystore, SCRAM-SHA-512); :class:`SecureLocalKafka` starts a :class:`LocalKafka` with that
listener beside its plain-text one, creates the SCRAM users through the plain-text listener
(it stays open on loopback for the broker's own use), and gives the client settings for a user.

Passwords never appear in a ``repr``: :class:`ScramUser` and :class:`SecureLocalKafka` hide them.
The certificates need the ``cryptography`` package (in the ``test`` extra).

Example:
    >>> kafka = SecureLocalKafka(users=[ScramUser("alice", "s3cret")])   # doctest: +SKIP
    >>> kafka.start()                                                     # doctest: +SKIP
    >>> Producer({**kafka.client_config("alice"), "acks": "all"})         # doctest: +SKIP
    >>> kafka.stop()                                                      # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from spanstream.broker._local import LocalKafka
from spanstream.broker._paths import default_state_dir
from spanstream.broker._process import port_is_free
from spanstream.broker._properties import PORTS_PER_NODE, Listener
from spanstream.schemas import BrokerError, ExtraMissingError

__all__ = [
    "SASL_SSL_LISTENER",
    "SCRAM_MECHANISM",
    "ScramUser",
    "SecureLocalKafka",
    "TlsMaterial",
    "find_free_base_port",
    "generate_tls_material",
    "sasl_ssl_properties",
]

SASL_SSL_LISTENER = Listener("SASL_SSL", "SASL_SSL")
"""The extra listener a secure local broker opens: TLS, then SASL authentication."""

SCRAM_MECHANISM = "SCRAM-SHA-512"
"""The SASL mechanism of the secure listener."""

_SCRAM_ITERATIONS = 4096
# librdkafka reports every refused handshake while credentials propagate; keep that quiet.
_QUIET = logging.getLogger("spanstream.broker.security.rdkafka")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False
_CERT_DAYS = 7


@dataclass(frozen=True, slots=True)
class ScramUser:
    """A SCRAM user name and password; the ``repr`` never shows the password."""

    name: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"ScramUser(name={self.name!r}, password='***')"


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    """The PEM files of a throwaway certificate authority and the broker's key pair.

    Attributes:
        directory: where the files are.
        ca_cert: the CA certificate (what clients trust: ``ssl.ca.location``).
        broker_keystore: the broker's private key (unencrypted PKCS#8) followed by its
            certificate, as Kafka reads a ``PEM`` keystore file.
        broker_cert: the broker's certificate alone.
    """

    directory: Path
    ca_cert: Path
    broker_keystore: Path
    broker_cert: Path


def generate_tls_material(
    directory: Path,
    *,
    ca_name: str = "spanstream test CA",
    hostnames: Sequence[str] = ("localhost",),
    ip_addresses: Sequence[str] = ("127.0.0.1",),
) -> TlsMaterial:
    """Write a new CA and a broker certificate it signs (valid for ``hostnames`` and IPs).

    Each call makes a different CA, so material from two calls does not trust each other (the
    "untrusted CA" case of the security tests).
    """
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID as usage  # noqa: N813
        from cryptography.x509.oid import NameOID as name_oid  # noqa: N813
    except ImportError as exc:
        raise ExtraMissingError("generating TLS certificates for a local broker", "test") from exc
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    until = now + dt.timedelta(days=_CERT_DAYS)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_subject = x509.Name([x509.NameAttribute(name_oid.COMMON_NAME, ca_name)])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_subject)
        .issuer_name(ca_subject)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    broker_key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName(host) for host in hostnames] + [
        x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses
    ]
    broker_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(name_oid.COMMON_NAME, hostnames[0])]))
        .issuer_name(ca_subject)
        .public_key(broker_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    ca_path = directory / "ca.pem"
    cert_path = directory / "broker-cert.pem"
    keystore_path = directory / "broker-keystore.pem"
    ca_path.write_bytes(ca_cert.public_bytes(pem))
    cert_path.write_bytes(broker_cert.public_bytes(pem))
    key_pem = broker_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    keystore_path.write_bytes(key_pem + broker_cert.public_bytes(pem))
    keystore_path.chmod(0o600)
    return TlsMaterial(directory, ca_path, keystore_path, cert_path)


def sasl_ssl_properties(
    material: TlsMaterial, *, listener: Listener = SASL_SSL_LISTENER
) -> dict[str, str]:
    """The broker properties of a SASL_SSL listener with a PEM keystore and SCRAM-SHA-512."""
    prefix = f"listener.name.{listener.name.lower()}."
    mechanism = SCRAM_MECHANISM.lower()
    return {
        "sasl.enabled.mechanisms": SCRAM_MECHANISM,
        f"{prefix}sasl.enabled.mechanisms": SCRAM_MECHANISM,
        f"{prefix}{mechanism}.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        ),
        f"{prefix}ssl.keystore.type": "PEM",
        f"{prefix}ssl.keystore.location": str(material.broker_keystore),
        f"{prefix}ssl.client.auth": "none",
    }


def find_free_base_port(
    *, nodes: int = 1, host: str = "127.0.0.1", low: int = 42000, high: int = 58000
) -> int:
    """Return a base port whose whole block (``10 * nodes`` ports) is free right now."""
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(200):
        base = rng.randrange(low, high, PORTS_PER_NODE)
        if all(port_is_free(host, port) for port in range(base, base + PORTS_PER_NODE * nodes)):
            return base
    raise BrokerError(f"no free block of {PORTS_PER_NODE * nodes} ports in {low}..{high}")


class SecureLocalKafka:
    """A single local Kafka node with a SASL_SSL (SCRAM-SHA-512) listener and SCRAM users.

    The node runs under ``state_dir/<name>/`` on its own ports (a free block by default), so it
    never disturbs the session broker. :meth:`start` generates the TLS material (unless given),
    starts the node and creates every user; :meth:`stop` stops it and, with ``remove``, deletes
    its folder.

    Args:
        users: the SCRAM users to create.
        state_dir: the state folder (default :func:`default_state_dir`).
        name: the node's folder name under ``state_dir``.
        base_port: the node's first port; a free block by default.
        material: TLS material to use (default: generated under the node's folder).
    """

    def __init__(
        self,
        *,
        users: Iterable[ScramUser],
        state_dir: Path | None = None,
        name: str | None = None,
        base_port: int | None = None,
        material: TlsMaterial | None = None,
    ) -> None:
        self._users = {user.name: user for user in users}
        state = (state_dir or default_state_dir()).resolve()
        self._name = name or f"kafka-sasl-ssl-{os.getpid()}"
        self._material = material
        self._base_port = base_port or find_free_base_port()
        self._state_dir = state
        self._kafka: LocalKafka | None = None

    @property
    def material(self) -> TlsMaterial:
        """The CA and broker key pair (generated by :meth:`start` unless given)."""
        if self._material is None:
            directory = self._state_dir / self._name / "tls"
            existing = TlsMaterial(
                directory,
                directory / "ca.pem",
                directory / "broker-keystore.pem",
                directory / "broker-cert.pem",
            )
            # A handle on a node that already runs reuses the files the node loaded.
            if all(path.is_file() for path in (existing.ca_cert, existing.broker_keystore)):
                self._material = existing
            else:
                self._material = generate_tls_material(directory)
        return self._material

    @property
    def kafka(self) -> LocalKafka:
        """The underlying :class:`LocalKafka` handle."""
        if self._kafka is None:
            self._kafka = LocalKafka(
                self._state_dir,
                name=self._name,
                base_port=self._base_port,
                extra_listeners=[SASL_SSL_LISTENER],
                extra_properties=sasl_ssl_properties(self.material),
            )
        return self._kafka

    @property
    def bootstrap_servers(self) -> str:
        """``host:port`` of the SASL_SSL listener."""
        return self.kafka.bootstrap_servers_for(SASL_SSL_LISTENER.name)

    @property
    def plaintext_bootstrap_servers(self) -> str:
        """``host:port`` of the plain-text listener (loopback; the broker's own and admin use)."""
        return self.kafka.bootstrap_servers

    def start(self, *, timeout_s: float = 120.0) -> None:
        """Start the node (if needed) and create the SCRAM users.

        Raises:
            BrokerError: the node did not start, or a user could not be created.
        """
        self.kafka.start(timeout_s=timeout_s)
        self._create_users(timeout_s=timeout_s)

    def _create_users(self, *, timeout_s: float) -> None:
        from confluent_kafka.admin import AdminClient

        # Not re-exported by confluent_kafka.admin for typing.
        from confluent_kafka.admin._scram import (
            ScramCredentialInfo,
            ScramMechanism,
            UserScramCredentialAlteration,
            UserScramCredentialUpsertion,
        )

        if not self._users:
            return
        admin = AdminClient({"bootstrap.servers": self.plaintext_bootstrap_servers}, logger=_QUIET)
        upserts: list[UserScramCredentialAlteration] = [
            UserScramCredentialUpsertion(
                user.name,
                ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, _SCRAM_ITERATIONS),
                user.password.encode(),
            )
            for user in self._users.values()
        ]
        try:
            futures = admin.alter_user_scram_credentials(upserts, request_timeout=timeout_s)
            for future in futures.values():
                future.result(timeout=timeout_s)
        except Exception as exc:
            # The message names the user at most; a password is not part of the admin's errors.
            raise BrokerError(f"could not create the SCRAM users {sorted(self._users)}") from exc
        self._wait_for_credentials(timeout_s=timeout_s)

    def _wait_for_credentials(self, *, timeout_s: float) -> None:
        """Wait until the broker authenticates every user (credentials propagate via KRaft)."""
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout_s
        for name in self._users:
            while True:
                admin = AdminClient(
                    {**self.client_config(name), "socket.timeout.ms": 5000}, logger=_QUIET
                )
                try:
                    admin.list_topics(timeout=5)
                    break
                except Exception as exc:
                    if time.monotonic() > deadline:
                        raise BrokerError(
                            f"SCRAM user {name!r} cannot authenticate after {timeout_s:.0f} s"
                        ) from exc
                    time.sleep(0.5)

    def client_config(
        self,
        user: str,
        *,
        password: str | None = None,
        ca_location: Path | None = None,
    ) -> dict[str, str]:
        """Return the librdkafka settings that reach the SASL_SSL listener as ``user``.

        ``password`` and ``ca_location`` override the user's password and the CA (to test a
        wrong password or an untrusted CA).
        """
        known = self._users.get(user)
        secret = password if password is not None else (known.password if known else "")
        return {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": SCRAM_MECHANISM,
            "sasl.username": user,
            "sasl.password": secret,
            "ssl.ca.location": str(ca_location or self.material.ca_cert),
            "ssl.endpoint.identification.algorithm": "https",
        }

    def stop(self, *, remove: bool = False) -> None:
        """Stop the node; with ``remove``, delete its folder (data, logs, TLS material)."""
        self.kafka.stop()
        if remove:
            self.kafka.remove_data()

    @property
    def users(self) -> Mapping[str, ScramUser]:
        """The SCRAM users by name."""
        return MappingProxyType(self._users)

    def __repr__(self) -> str:
        return (
            f"SecureLocalKafka({self._state_dir / self._name}, "
            f"users={sorted(self._users)}, base_port={self._base_port})"
        )
