"""The README's `spanstream` command lines and exit-code table match the command itself."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from spanstream.cli import app
from spanstream.cli._exit import ExitCode
from spanstream.producer import ReporterRegistry
from spanstream.schemas import Span

README = Path(__file__).parents[2] / "README.md"
COMMAND = typer.main.get_command(app)


def _readme_command_lines() -> list[str]:
    text = README.read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            code = line.split("  #")[0].strip()
            if code.startswith("spanstream "):
                lines.append(code)
    return lines


LINES = _readme_command_lines()


def test_the_readme_shows_every_command():
    """demo, tail, stats, export and broker each appear in a README command line."""
    used = {shlex.split(line)[1] for line in LINES}
    assert {"demo", "tail", "stats", "export", "broker"} <= used


@pytest.mark.parametrize("line", LINES)
def test_readme_command_line_parses(line):
    """Each README command names a real (sub)command and only options it has."""
    words = shlex.split(line)[1:]
    command = COMMAND
    while hasattr(command, "commands") and words and words[0] in command.commands:
        command = command.commands[words.pop(0)]
    assert not hasattr(command, "commands"), line
    known = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for word in words:
        if word.startswith("--"):
            assert word.split("=")[0] in known, f"{word} in {line!r}"
    context = command.make_context("spanstream", list(words), resilient_parsing=True)
    assert context is not None


def test_readme_exit_code_table_matches_the_code():
    """The README's exit-code table lists exactly the codes ExitCode defines."""
    text = README.read_text(encoding="utf-8")
    table_codes = {int(code) for code in re.findall(r"^\| (\d+) \| ", text, flags=re.MULTILINE)}
    assert table_codes == {int(code) for code in ExitCode}


def test_configuration_reference_keys_are_accepted():
    """Every key of the README's configuration reference table starts a reporter as documented."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Configuration reference\n", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE))
    config = {
        "traces.reporters": "mem,log",
        "traces.reporter.<name>.factory.class": None,
        "traces.reporter.<name>.scope.variables.additional": "region:eu-west-1",
        "traces.reporter.<name>.scope.variables.excludes": "host",
        "traces.reporter.<name>.filter.includes": "*:*:*",
        "traces.reporter.<name>.filter.excludes": "*.never:Nothing",
        "traces.reporter.<name>.scope.delimiter": ".",
        "metrics.scope.delimiter": ".",
        "traces.checkpoint.span-detail-level": "CHILDREN_SPANS_PER_TASK",
        "traces.reporter.<name>.<parameter>": None,
    }
    assert documented == set(config)
    flat: dict[str, object] = {
        "traces.reporter.mem.factory.class": "in_memory",
        "traces.reporter.mem.max.spans": 10,
        "traces.reporter.log.factory.class": "logging",
        "traces.reporter.log.logger": "readme.traces",
        "traces.reporter.log.level": "DEBUG",
    }
    for key, value in config.items():
        if value is not None:
            flat[key.replace("<name>", "mem")] = value
    registry = ReporterRegistry.from_config(flat)
    try:
        group = registry.root_group(variables={"host": "h"})
        for i in range(12):
            group.add_span(Span.builder("a.B", f"s{i}"))
        memory = registry.reporter("mem")
        assert len(memory.spans) == 10
        assert memory.spans[0].attributes["<region>"] == "eu-west-1"
        assert "<host>" not in memory.spans[0].attributes
        assert registry.checkpoint_span_detail_level == "CHILDREN_SPANS_PER_TASK"
    finally:
        registry.close()
