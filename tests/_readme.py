"""Reading the README's sections and code blocks, for the tests that run its examples as written
(importable as ``_readme``: pytest puts ``tests/`` on the path for ``tests/conftest.py``)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def section(title: str) -> str:
    """The text of the README section ``## title`` (up to the next ``## `` heading)."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def code_blocks(text: str, language: str) -> list[str]:
    """The fenced code blocks of one language, in order."""
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def python_block(title: str, index: int = 0) -> str:
    """The ``index``-th python block of the README section ``## title``."""
    blocks = code_blocks(section(title), "python")
    assert len(blocks) > index, f"## {title} has no python block {index}"
    return blocks[index]
