"""The README's "Events on the wire" example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_events_example_runs() -> None:
    """The example encodes an event, checks its header and decodes it back (its asserts hold)."""
    section = README.read_text(encoding="utf-8").split("## Events on the wire", 1)[1]
    section = section.split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "the section has no python block"
    namespace: dict[str, object] = {"__name__": "readme"}
    exec(compile(match.group(1), str(README), "exec"), namespace)
    assert namespace["message"][:2] == b"\xc3\x01"  # type: ignore[index]
