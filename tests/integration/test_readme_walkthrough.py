"""The README's examples, run as written against the real broker.

Every ``python`` block of the README runs, in order, in one namespace (later blocks may use
what earlier ones made), in a subprocess whose working folder holds the YAML files the README
names (a ``yaml`` block whose first line is ``# <file name>``) and whose
``$KAFKA_BOOTSTRAP_SERVERS`` is the test broker, which is how the examples find it. A block
that is deliberately not runnable says so on the line before its fence, with the reason:
``<!-- readme-test: not runnable: <why> -->``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid

from _readme import README, code_blocks, section

NOT_RUNNABLE = re.compile(r"<!-- readme-test: not runnable: (?P<why>[^>]*\S[^>]*) -->\n```python\n")


def python_blocks_to_run(text: str) -> list[str]:
    """The README's python blocks, in order, but those marked not runnable (with a reason)."""
    blocks = re.finditer(r"(?P<before>[^\n]*)\n```python\n(?P<code>.*?)```", text, flags=re.DOTALL)
    return [
        match["code"]
        for match in blocks
        if not NOT_RUNNABLE.match(match["before"] + "\n```python\n")
    ]


def env_with_broker(bootstrap: str) -> dict[str, str]:
    return {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}


def test_instrument_your_own_code_runs_as_written(kafka_bootstrap, new_topic, tmp_path):
    """traces.yaml + the Python example deliver one tree (Compaction > load_batch) to tail."""
    text = section("Instrument your own code")
    (yaml_block,) = code_blocks(text, "yaml")
    (python_block,) = code_blocks(text, "python")
    topic = new_topic()
    assert "bootstrap.servers" not in yaml_block  # $KAFKA_BOOTSTRAP_SERVERS gives them
    assert "flink-traces" in yaml_block
    config = yaml_block.replace("flink-traces", topic)
    (tmp_path / "traces.yaml").write_text(config, encoding="utf-8")
    (tmp_path / "example.py").write_text(python_block, encoding="utf-8")
    ran = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env_with_broker(kafka_bootstrap),
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "1 trace delivered"

    tail = subprocess.run(
        [
            sys.executable,
            "-m",
            "spanstream.cli",
            "tail",
            topic,
            "--from-beginning",
            "--json",
            "--attr",
            "<job_name>=etl",
            "--max",
            "1",
            "--timeout",
            "60s",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap},
    )
    assert tail.returncode == 0, tail.stderr
    (compaction,) = [json.loads(line) for line in tail.stdout.splitlines()]
    assert compaction["name"] == "Compaction"
    assert [child["name"] for child in compaction["children"]] == ["load_batch"]
    assert compaction["attributes"]["rows"] == 1200
    for span in (compaction, compaction["children"][0]):
        assert span["attributes"]["<region>"] == "eu-west-1"
        assert span["attributes"]["<host>"] == "worker-1"


def test_every_python_block_of_the_readme_runs_as_written(kafka_bootstrap, kafka_admin, tmp_path):
    """All python blocks, in order, in one namespace, with the broker in the environment: exit 0.

    Only the topic and group names are made unique (the session broker is shared, and its
    ``flink-traces`` may hold other runs' spans); addresses come from the environment as written.
    """
    text = README.read_text(encoding="utf-8")
    blocks = python_blocks_to_run(text)
    # Every marker says why, and stands right before the python block it leaves out.
    markers = text.count("<!-- readme-test: not runnable:")
    assert len(code_blocks(text, "python")) - len(blocks) == markers
    run = uuid.uuid4().hex[:8]
    topic = f"readme-traces-{run}"

    def unique(code: str) -> str:
        return code.replace("flink-traces", topic).replace("nightly-report", f"readme-{run}")

    for block in code_blocks(text, "yaml"):
        first = block.splitlines()[0]
        if re.fullmatch(r"# [\w.-]+\.ya?ml", first):
            (tmp_path / first[2:]).write_text(unique(block), encoding="utf-8")
    script = "\n".join(f"# --- README block {i}\n{unique(b)}" for i, b in enumerate(blocks))
    (tmp_path / "readme_blocks.py").write_text(script, encoding="utf-8")
    try:
        ran = subprocess.run(
            [sys.executable, "readme_blocks.py"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
            env=env_with_broker(kafka_bootstrap),
        )
    finally:
        kafka_admin.delete_topics([topic, f"{topic}-dlq"], operation_timeout=30)
    assert ran.returncode == 0, ran.stderr[-4000:]
    assert "1 trace delivered" in ran.stdout
    assert "420 ms" in ran.stdout


def test_a_block_marked_not_runnable_is_left_out_and_must_say_why():
    """The marker needs a reason; a marked block is not run, an unmarked one is."""
    text = (
        "<!-- readme-test: not runnable: needs a Flink cluster -->\n```python\nskipped()\n```\n"
        "plain\n```python\nran()\n```\n"
        "<!-- readme-test: not runnable: -->\n```python\nno_reason()\n```\n"
    )
    assert python_blocks_to_run(text) == ["ran()\n", "no_reason()\n"]
