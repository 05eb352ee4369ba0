"""Process death: SIGTERM flushes within the close deadline; SIGKILL loses what was pending.

A reporting process (``reporting_child.py``, which installs ``close_on_exit``) on a broker of its
own:

* ``sigterm``: it reports a burst of spans (held by a 2 s linger, so plenty are pending) and is
  sent SIGTERM at once: ``close`` must deliver every one before the process exits (status 143);
* ``sigkill``: it reports spans that are delivered, then the broker is killed and it reports
  more, which wait; SIGKILL: the topic must hold exactly the delivered ones, and the count lost
  must equal the pending count the process last reported.

Run it::

    .venv/bin/python benchmarks/reliability/process_death.py --spans 200000

``tests/integration/test_reliability_private_broker.py`` runs both with fewer spans.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from _chaos import ChildProcess, Figures, private_kafka, read_back, start_node_retrying
from confluent_kafka.admin import AdminClient, NewTopic

from spanstream.broker import LocalKafka, default_state_dir


def _topic(kafka: LocalKafka) -> str:
    name = f"death-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": kafka.bootstrap_servers})
    admin.create_topics([NewTopic(name, 3, 1)], operation_timeout=60)[name].result(timeout=60)
    return name


def run_sigterm(kafka: LocalKafka, *, spans: int, work_dir: Path) -> Figures:
    """A burst of ``spans``, then SIGTERM: everything must be delivered before the exit."""
    topic = _topic(kafka)
    child = ChildProcess(
        kafka.bootstrap_servers, topic, work_dir / "sigterm.err", "producer.linger.ms=2000"
    )
    try:
        ready = child.until("ready")
        child.send(f"publish {spans}")
        published = child.until("published")
        signalled = time.monotonic()
        child.process.send_signal(signal.SIGTERM)
        status = child.process.wait(timeout=300)
        exit_s = time.monotonic() - signalled
        final = next(line for line in child.rest() if line["event"] == "exit")
    finally:
        child.close()
    read = read_back(kafka.bootstrap_servers, topic, run_id=ready["run"])
    return Figures(
        scenario="process death: SIGTERM",
        sent=published["notified"],
        delivered=final["delivered"],
        read_back=read.distinct,
        lost=published["notified"] - read.distinct - sum(final["dropped"].values()),
        duplicated=read.duplicated,
        dropped=final["dropped"],
        failed=final["failed"],
        worst_add_span_ms=published["worst_add_span_ns"] / 1e6,
        peak_rss_mb=final["max_rss_mb"],
        notes=(
            f"{published['pending']} pending when SIGTERM came; exit status {status} after "
            f"{exit_s:.1f} s; close left {final['close_pending']} pending"
        ),
        extra={"exit_status": status, "exit_s": exit_s, "close_pending": final["close_pending"]},
    )


def run_sigkill(kafka: LocalKafka, *, delivered: int, pending: int, work_dir: Path) -> Figures:
    """``delivered`` spans delivered, the broker killed, ``pending`` more reported; SIGKILL."""
    topic = _topic(kafka)
    child = ChildProcess(kafka.bootstrap_servers, topic, work_dir / "sigkill.err")
    try:
        ready = child.until("ready")
        child.send(f"publish {delivered}")
        child.send("flush")
        child.until("flushed")
        kafka.kill_node(1)
        child.send(f"publish {pending}")
        published = child.until("published")
        child.send("watch")
        previous: dict[str, object] = {}
        while True:
            line = child.until("watch")
            if line["notified"] == delivered + pending and {**line, "time": 0} == {
                **previous,
                "time": 0,
            }:
                break
            previous = line
        child.process.send_signal(signal.SIGKILL)
        status = child.process.wait(timeout=60)
    finally:
        child.close()
        start_node_retrying(kafka, 1)
    read = read_back(kafka.bootstrap_servers, topic, run_id=ready["run"])
    lost = line["notified"] - read.distinct
    return Figures(
        scenario="process death: SIGKILL",
        sent=line["notified"],
        delivered=line["delivered"],
        read_back=read.distinct,
        lost=lost,
        duplicated=read.duplicated,
        dropped=line["dropped"],
        failed=line["failed"],
        worst_add_span_ms=published["worst_add_span_ns"] / 1e6,
        peak_rss_mb=line["max_rss_mb"],
        notes=f"last report: {line['pending']} pending; lost {lost}; exit status {status}",
        extra={"last_pending": line["pending"], "exit_status": status},
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Start a private broker, run both scenarios, print their figures, remove it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=200_000)
    parser.add_argument("--state-dir", type=Path, default=default_state_dir())
    args = parser.parse_args(argv)
    kafka = private_kafka(args.state_dir, name=f"reliability-death-{uuid.uuid4().hex[:6]}")
    rows: list[Figures] = []
    try:
        kafka.start(timeout_s=180)
        with tempfile.TemporaryDirectory() as work:
            rows.append(run_sigterm(kafka, spans=args.spans, work_dir=Path(work)))
            print(rows[-1].to_json(), flush=True)
            rows.append(
                run_sigkill(
                    kafka, delivered=args.spans // 2, pending=args.spans // 2, work_dir=Path(work)
                )
            )
            print(rows[-1].to_json(), flush=True)
    finally:
        kafka.stop()
        kafka.remove_data()
    sigterm, sigkill = rows
    ok = sigterm.lost == 0 and sigkill.lost == sigkill.extra["last_pending"]
    return 0 if ok and sigterm.duplicated == sigkill.duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
