"""The README's events examples ("Report events and nested spans", "Events on the wire") run as
written and print what the text says."""

from __future__ import annotations

import pytest
from _readme import README, python_block, section


def _python_block(heading: str) -> tuple[str, str]:
    title = heading.removeprefix("## ")
    return section(title), python_block(title)


def test_readme_events_example_prints_what_the_text_says(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One tree (Run > load_batch) with jobId; the event carries the inner span's id."""
    section, code = _python_block("## Report events and nested spans")
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})
    assert capsys.readouterr().out.splitlines() == [
        "Run ['load_batch'] 6f1a0c1e9d3b4a7f8e2d5c6b7a8f9e0d",
        "BatchLoaded True ['<job_id>', '<job_name>', 'jobId']",
    ]
    assert "`Run ['load_batch'] 6f1a0c1e9d3b4a7f8e2d5c6b7a8f9e0d`" in section


def test_readme_events_on_the_wire_example_runs() -> None:
    """The example encodes an event, checks its header and decodes it back (its asserts hold)."""
    _, code = _python_block("## Events on the wire")
    namespace: dict[str, object] = {"__name__": "readme"}
    exec(compile(code, str(README), "exec"), namespace)
    assert namespace["message"][:2] == b"\xc3\x01"  # type: ignore[index]
