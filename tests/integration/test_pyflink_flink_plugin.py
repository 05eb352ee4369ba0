"""A Python UDF's span and the JVM's Checkpoint span of the same PyFlink job share <job_id>:
the Flink plugin (flink-reporter/) and the Python reporter, one configuration, one run."""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from _helpers import REPOSITORY, pyflink_python, run_pyflink

from spanstream.consumer import SpanConsumer
from spanstream.schemas import Span

JOBS = Path(__file__).parent / "pyflink_jobs"

_PYFLINK_HOME = "import os, pyflink; print(os.path.dirname(pyflink.__file__))"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _flink_classpath_with_plugin(folder: Path) -> dict[str, str]:
    """PyFlink's lib/ plus the plugin jar, as a FLINK_LIB_DIR of its own.

    A local PyFlink job runs in a MiniCluster that finds reporter factories on its classpath
    (its plugins/ folder is not searched), so the plugin goes beside Flink's own jars.
    """
    plugin = (
        subprocess.run(
            ["bash", str(REPOSITORY / "flink-reporter" / "build.sh"), "plugin"],
            capture_output=True,
            text=True,
            check=True,
            timeout=1200,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    home = Path(
        subprocess.run(
            [
                pyflink_python(),
                "-c",
                "import os, pyflink; print(os.path.dirname(pyflink.__file__))",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    lib = folder / "lib"
    lib.mkdir()
    for jar in (home / "lib").glob("*.jar"):
        (lib / jar.name).symlink_to(jar)
    (lib / Path(plugin).name).symlink_to(plugin)
    return {
        "FLINK_HOME": str(home),
        "FLINK_LIB_DIR": str(lib),
        "FLINK_OPT_DIR": str(home / "opt"),
        "FLINK_PLUGINS_DIR": str(home / "plugins"),
        "FLINK_CONF_DIR": str(home / "conf"),
    }


def test_a_python_udf_span_and_the_jvm_checkpoint_span_share_the_job_id(
    kafka_bootstrap: str, new_topic: Callable[..., str], tmp_path: Path
) -> None:
    """<job_id> (and <job_name>) of the UDF's spans equal the JVM Checkpoint spans' and jobId."""
    topic = new_topic()
    result = run_pyflink(
        JOBS / "join_checkpoints.py",
        kafka_bootstrap,
        topic,
        cwd=tmp_path,
        env=_flink_classpath_with_plugin(tmp_path),
    )
    job_id = re.search(r"job id ([0-9a-f]{32})", result.stdout)
    assert job_id is not None, result.stdout
    with SpanConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"join-{uuid.uuid4().hex[:8]}",
        start="earliest",
    ) as consumer:
        spans: list[Span] = [record.span for record in consumer.iter_records(idle_timeout_s=10)]
    python_spans = [s for s in spans if s.name == "Slow"]
    checkpoints = [s for s in spans if s.name == "Checkpoint"]
    assert len(python_spans) == 40
    assert checkpoints, [s.name for s in spans]
    assert {s.attributes["<job_id>"] for s in python_spans} == {job_id.group(1)}
    assert {s.attributes["<job_id>"] for s in checkpoints} == {job_id.group(1)}
    assert {s.attributes["jobId"] for s in checkpoints} == {job_id.group(1)}
    assert {s.attributes["<job_name>"] for s in python_spans + checkpoints} == {"join-job"}
