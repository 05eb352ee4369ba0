"""spanstream.broker without a broker: configuration, ports, pids, the order of obtaining one."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from spanstream.broker import LocalKafka, default_state_dir, obtain_broker
from spanstream.broker._jvm import new_cluster_id
from spanstream.broker._maven import resolve_kafka_libs
from spanstream.broker._obtain import BrokerSource, choose_broker_source
from spanstream.broker._process import pid_alive, port_is_free
from spanstream.broker._properties import (
    Listener,
    node_layouts,
    render_server_properties,
    server_properties,
)
from spanstream.schemas import BrokerError, ConfigError


def _props(
    nodes: int,
    *,
    extra_listeners: tuple[Listener, ...] = (),
    extra_properties: dict[str, str] | None = None,
) -> list[dict[str, str]]:
    layouts = node_layouts(
        nodes=nodes, base_port=40000, cluster_dir=Path("/c"), extra_listeners=extra_listeners
    )
    return [
        server_properties(node, voters=layouts, extra_properties=extra_properties or {})
        for node in layouts
    ]


def _parse(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


# -- configuration ---------------------------------------------------------------------------


def test_single_node_is_a_combined_broker_and_controller_of_a_one_voter_quorum() -> None:
    """One node: broker+controller roles, itself as the only voter, client and controller ports."""
    (props,) = _props(1)
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:40001"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:40000,CONTROLLER://127.0.0.1:40001"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:40000"
    assert props["log.dirs"] == "/c/node-1/data"


def test_single_node_internal_topics_have_replication_factor_one() -> None:
    """A single node can host its offsets and transaction topics and rebalances at once."""
    (props,) = _props(1)
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert "broker.session.timeout.ms" not in props


def test_three_nodes_share_one_three_voter_quorum_on_distinct_ports() -> None:
    """Three nodes: ids 1-3, the same voters everywhere, no port used twice."""
    all_props = _props(3)
    assert [p["node.id"] for p in all_props] == ["1", "2", "3"]
    voters = {p["controller.quorum.voters"] for p in all_props}
    assert voters == {"1@127.0.0.1:40001,2@127.0.0.1:40011,3@127.0.0.1:40021"}
    layouts = node_layouts(nodes=3, base_port=40000, cluster_dir=Path("/c"))
    ports = [port for node in layouts for port in node.all_ports()]
    assert len(ports) == len(set(ports))
    assert len({p["log.dirs"] for p in all_props}) == 3


def test_three_nodes_replicate_internal_topics_and_fence_dead_nodes_quickly() -> None:
    """A cluster replicates internal topics three times and fences a killed node in seconds."""
    props = _props(3)[0]
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["default.replication.factor"] == "3"
    assert props["transaction.state.log.min.isr"] == "2"
    assert int(props["broker.session.timeout.ms"]) < 9000


def test_extra_listener_gets_its_own_port_protocol_and_advertised_address() -> None:
    """An extra SASL_SSL listener is bound, advertised and mapped; the controller is not."""
    (props,) = _props(1, extra_listeners=(Listener("SASL_SSL", "SASL_SSL"),))
    assert props["listeners"] == (
        "PLAINTEXT://127.0.0.1:40000,SASL_SSL://127.0.0.1:40002,CONTROLLER://127.0.0.1:40001"
    )
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:40000,SASL_SSL://127.0.0.1:40002"
    assert "SASL_SSL:SASL_SSL" in props["listener.security.protocol.map"].split(",")
    assert props["inter.broker.listener.name"] == "PLAINTEXT"


def test_extra_properties_override_the_defaults() -> None:
    """Caller-given properties win over the tuned defaults and may add new keys."""
    (props,) = _props(1, extra_properties={"num.partitions": "7", "ssl.client.auth": "none"})
    assert props["num.partitions"] == "7"
    assert props["ssl.client.auth"] == "none"


def test_listener_with_a_reserved_or_bad_name_is_rejected() -> None:
    """PLAINTEXT and CONTROLLER are taken; names are upper-case."""
    for name in ("PLAINTEXT", "CONTROLLER", "sasl"):
        with pytest.raises(ConfigError):
            Listener(name, "SASL_SSL")


def test_listener_with_an_unknown_security_protocol_is_rejected() -> None:
    """Only Kafka's four security protocols are accepted."""
    with pytest.raises(ConfigError, match="SASL_SSL"):
        Listener("SECURE", "TLS")


def test_layout_rejects_no_nodes_and_ports_out_of_range() -> None:
    """Zero nodes and port blocks beyond 65535 are configuration errors."""
    with pytest.raises(ConfigError):
        node_layouts(nodes=0, base_port=40000, cluster_dir=Path("/c"))
    with pytest.raises(ConfigError):
        node_layouts(nodes=3, base_port=65530, cluster_dir=Path("/c"))


def test_properties_render_one_escaped_line_per_key() -> None:
    """Rendering writes key=value lines, escaping backslashes, and parses back."""
    props = {"node.id": "1", "log.dirs": "C:\\data", "listeners": "PLAINTEXT://h:1"}
    text = render_server_properties(props)
    assert text.splitlines()[1] == "log.dirs=C:\\\\data"
    assert _parse(text)["listeners"] == "PLAINTEXT://h:1"


def test_property_names_with_separators_are_rejected() -> None:
    """A key containing '=' would corrupt the file, so it is refused."""
    with pytest.raises(ConfigError):
        render_server_properties({"a=b": "c"})


def test_cluster_id_is_a_base64url_uuid() -> None:
    """Cluster ids are 16 random bytes in 22 base64url characters, as KRaft expects."""
    cluster_id = new_cluster_id()
    assert len(cluster_id) == 22
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16
    assert new_cluster_id() != cluster_id


def test_cluster_id_never_starts_with_a_dash() -> None:
    """kafka-storage would read a leading '-' as an option; one random id in 64 has one."""
    assert not any(new_cluster_id().startswith("-") for _ in range(2000))


# -- the order of obtaining a broker ---------------------------------------------------------


def _docker_must_not_be_asked() -> bool:
    raise AssertionError("docker was consulted")


def test_bootstrap_servers_from_the_environment_come_first() -> None:
    """KAFKA_BOOTSTRAP_SERVERS wins without asking Docker."""
    env = {"KAFKA_BOOTSTRAP_SERVERS": "k:9092", "SPANSTREAM_BROKER": "local"}
    assert choose_broker_source(env, docker_answers=_docker_must_not_be_asked) is BrokerSource.ENV


def test_docker_comes_second_when_it_answers() -> None:
    """Without the variable, a Docker engine that answers is used."""
    assert choose_broker_source({}, docker_answers=lambda: True) is BrokerSource.DOCKER


def test_local_broker_comes_last() -> None:
    """Without the variable or Docker, the local Maven-resolved broker is used."""
    assert choose_broker_source({}, docker_answers=lambda: False) is BrokerSource.LOCAL


def test_spanstream_broker_variable_skips_detection() -> None:
    """SPANSTREAM_BROKER=local or docker takes that path without asking Docker."""
    local = choose_broker_source(
        {"SPANSTREAM_BROKER": "local"}, docker_answers=_docker_must_not_be_asked
    )
    docker = choose_broker_source(
        {"SPANSTREAM_BROKER": "Docker"}, docker_answers=_docker_must_not_be_asked
    )
    assert (local, docker) == (BrokerSource.LOCAL, BrokerSource.DOCKER)


def test_unknown_spanstream_broker_value_is_a_config_error() -> None:
    """A misspelt choice names the variable and the accepted values."""
    with pytest.raises(ConfigError, match="SPANSTREAM_BROKER"):
        choose_broker_source({"SPANSTREAM_BROKER": "podman"}, docker_answers=lambda: False)


def test_broker_from_the_environment_is_not_started_or_stopped() -> None:
    """obtain_broker hands back the given address; stop() leaves that cluster alone."""
    broker = obtain_broker(env={"KAFKA_BOOTSTRAP_SERVERS": " a:1,b:2 "})
    assert broker.bootstrap_servers == "a:1,b:2"
    assert broker.source is BrokerSource.ENV
    assert not broker.started_here
    broker.stop()


# -- state folder, Maven cache, processes and ports ------------------------------------------


def test_state_dir_follows_the_environment_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """SPANSTREAM_STATE_DIR overrides the project-local .state folder."""
    monkeypatch.setenv("SPANSTREAM_STATE_DIR", str(tmp_path / "s"))
    assert default_state_dir() == tmp_path / "s"


def test_state_dir_defaults_to_the_checkouts_git_ignored_state_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In a source checkout the state lives in .state/ at its root."""
    monkeypatch.delenv("SPANSTREAM_STATE_DIR", raising=False)
    root = Path(__file__).resolve().parents[2]
    assert default_state_dir() == root / ".state"
    assert ".state/" in (root / ".gitignore").read_text().splitlines()


def test_resolved_kafka_jars_are_reused_without_maven(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Once resolved, the jars folder is returned without running (or finding) Maven."""
    home = tmp_path / "kafka-9.9.9"
    home.mkdir()
    (home / ".resolved").write_text("9.9.9\n")
    monkeypatch.setattr("shutil.which", lambda _name: None)
    assert resolve_kafka_libs(tmp_path, kafka_version="9.9.9") == home / "libs"


def test_missing_maven_is_a_broker_error_that_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without mvn on PATH the error names Maven and the other two ways to get a broker."""
    monkeypatch.setattr("shutil.which", lambda _name: None)
    with pytest.raises(BrokerError, match=r"Maven.*KAFKA_BOOTSTRAP_SERVERS"):
        resolve_kafka_libs(tmp_path, kafka_version="9.9.9")


def test_a_bound_port_is_not_free_and_a_released_one_is() -> None:
    """port_is_free sees a listening socket and its release."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert not port_is_free("127.0.0.1", port)
    assert port_is_free("127.0.0.1", port)


def test_an_exited_process_is_not_alive() -> None:
    """A pid whose process has exited (and been reaped) is reported dead."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert not pid_alive(int(done.stdout))


def test_a_live_pid_with_another_command_line_is_not_our_broker() -> None:
    """A recycled pid running something else does not pass for the broker."""
    assert pid_alive(os.getpid())
    assert not pid_alive(os.getpid(), cmdline_marker="kafka.Kafka /no/such/server.properties")


def _free_base_port() -> int:
    for base in range(41000, 60000, 100):
        if all(port_is_free("127.0.0.1", base + k) for k in range(30)):
            return base
    raise AssertionError("no free ports")


def test_status_of_a_stale_pid_file_is_not_running(tmp_path: Path) -> None:
    """A pid file left by a dead broker reads as a stopped node, not a running one."""
    kafka = LocalKafka(tmp_path, base_port=_free_base_port())
    node = kafka.nodes[0]
    node.node_dir.mkdir(parents=True)
    node.pid_path.write_text("999999999\n")
    status = kafka.status()
    assert status.nodes[0].pid == 999999999
    assert not status.nodes[0].alive
    assert not status.running
    assert not kafka.is_running()


def test_a_start_that_fails_raises_with_the_broker_logs_last_lines(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """When the JVM exits during start, BrokerError carries the tail of its log."""
    java_home = tmp_path / "jdk"
    (java_home / "bin").mkdir(parents=True)
    fake_java = java_home / "bin" / "java"
    fake_java.write_text(
        "#!/bin/sh\n"
        'case "$*" in *StorageTool*) exit 0;; esac\n'
        "echo 'ERROR Exiting Kafka due to fatal exception: the disk is lava'\n"
        "exit 1\n"
    )
    fake_java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(java_home))
    (tmp_path / "kafka-9.9.9").mkdir()
    (tmp_path / "kafka-9.9.9" / ".resolved").write_text("9.9.9\n")
    kafka = LocalKafka(tmp_path, base_port=_free_base_port(), kafka_version="9.9.9")
    with pytest.raises(BrokerError, match="the disk is lava"):
        kafka.start(timeout_s=30)
    assert not kafka.is_running()


def test_remembered_ports_are_used_by_a_later_handle(tmp_path: Path) -> None:
    """A handle without base_port finds the ports an earlier start settled on."""
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "base_port").write_text("45000\n")
    assert LocalKafka(tmp_path).bootstrap_servers == "127.0.0.1:45000"
    assert LocalKafka(tmp_path, nodes=3).bootstrap_servers.startswith("127.0.0.1:39192,")


def test_the_last_lease_released_by_a_starter_stops_nothing_already_stopped(
    tmp_path: Path,
) -> None:
    """Leases of dead processes are ignored; a live one keeps the cluster for its holder."""
    kafka = LocalKafka(tmp_path, base_port=_free_base_port())
    kafka.acquire_lease()
    leases = kafka.cluster_dir / "leases"
    (leases / "999999999").touch()  # a session that died without releasing
    assert kafka.release_lease(stop_if_last=True)  # nobody else: it stops (nothing to stop)
    assert sorted(p.name for p in leases.iterdir()) == []
    (leases / str(os.getppid())).touch()  # a live process still using it
    kafka.acquire_lease()
    assert not kafka.release_lease(stop_if_last=True)


def test_a_broker_whose_starting_session_died_is_adopted(tmp_path: Path) -> None:
    """The owner recorded by a dead process hands the broker to the next session to stop."""
    kafka = LocalKafka(tmp_path, base_port=_free_base_port())
    kafka.cluster_dir.mkdir(parents=True)
    assert not kafka.adopt_if_orphaned()  # started by `spanstream broker start`: no owner
    (kafka.cluster_dir / "owner.pid").write_text(f"{os.getppid()}\n")
    assert not kafka.adopt_if_orphaned()  # its owner is alive
    (kafka.cluster_dir / "owner.pid").write_text("999999999\n")
    assert kafka.adopt_if_orphaned()
    assert (kafka.cluster_dir / "owner.pid").read_text().strip() == str(os.getpid())


def test_an_owner_leaving_first_hands_the_broker_to_the_last_user(tmp_path: Path) -> None:
    """The starter leaving while another session holds a lease hands ownership over."""
    kafka = LocalKafka(tmp_path, base_port=_free_base_port())
    kafka.acquire_lease()
    kafka.claim_ownership()
    (kafka.cluster_dir / "leases" / str(os.getppid())).touch()  # another live user
    assert not kafka.release_lease(stop_if_last=True)
    assert (kafka.cluster_dir / "owner.pid").read_text().strip() == "0"
    (kafka.cluster_dir / "leases" / str(os.getppid())).unlink()
    kafka.acquire_lease()  # now as the session that merely reused it
    assert kafka.release_lease(stop_if_last=False)  # the last user stops it
    assert not (kafka.cluster_dir / "owner.pid").exists()
