"""The README's "Report events and nested spans" example runs and prints what the text says."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Report events and nested spans"


def test_readme_events_example_prints_what_the_text_says(capsys):
    """One tree (Run > load_batch) with jobId; the event carries the inner span's id."""
    section = README.read_text(encoding="utf-8").split(SECTION, 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "the section has no python block"
    exec(compile(match.group(1), str(README), "exec"), {"__name__": "readme"})
    assert capsys.readouterr().out.splitlines() == [
        "Run ['load_batch'] 6f1a0c1e9d3b4a7f8e2d5c6b7a8f9e0d",
        "BatchLoaded True ['<job_id>', '<job_name>', 'jobId']",
    ]
    assert "`Run ['load_batch'] 6f1a0c1e9d3b4a7f8e2d5c6b7a8f9e0d`" in section
