"""DEVELOPERS.md's map of concepts to modules names real files, and every library module."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIBRARY_PACKAGES = ("schemas", "kafka", "producer", "consumer", "otel", "broker", "cli")


def _map_cells() -> list[str]:
    """The module cell of each row of the table under "Where each concept lives"."""
    text = (ROOT / "DEVELOPERS.md").read_text(encoding="utf-8")
    start = text.index("## Where each concept lives")
    table = text[start:].split("\n\n|", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in ("|" + table).splitlines() if line.startswith("| ")]
    return [row.rsplit(" | ", 1)[1].rstrip(" |") for row in rows[1:]]


def named_paths(cell: str) -> list[str]:
    """The paths a cell names; a bare ``_x.py`` is in the folder of the path before it."""
    paths, folder = [], ""
    for token in re.findall(r"`([^`\s]+\.(?:py|java)|[^`\s]+/)`", cell):
        if "/" in token:
            folder = token if token.endswith("/") else token.rsplit("/", 1)[0] + "/"
            paths.append(token)
        else:
            paths.append(folder + token)
    return paths


def _mapped() -> set[str]:
    return {path for cell in _map_cells() for path in named_paths(cell)}


def test_every_path_in_the_map_exists() -> None:
    """No row names a module, file or folder that is not in the checkout."""
    assert sorted(path for path in _mapped() if not (ROOT / path).exists()) == []


def test_every_library_module_is_in_the_map() -> None:
    """Each Python module of the library packages has a row (a new module needs a place)."""
    modules = {
        f"{package}/{path.name}"
        for package in LIBRARY_PACKAGES
        for path in (ROOT / package).glob("*.py")
    }
    assert sorted(modules - _mapped()) == []


def test_a_bare_module_name_belongs_to_the_folder_before_it() -> None:
    """`consumer/_a.py`, `_b.py`; `producer/_c.py` names consumer/_b.py (the rule can fail)."""
    cell = "`consumer/_a.py`, `_b.py`; `producer/_c.py`, `_d.py`"
    assert named_paths(cell) == [
        "consumer/_a.py",
        "consumer/_b.py",
        "producer/_c.py",
        "producer/_d.py",
    ]
