"""The README's Public API list is each package's ``__all__``; system traces live in a submodule."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from _readme import section

import spanstream.schemas
import spanstream.schemas.system

ROOT = Path(__file__).resolve().parents[2]
LIBRARY_PACKAGES = ("schemas", "kafka", "producer", "consumer", "otel", "broker", "cli")
INTERNAL = {"spanstream.kafka"}


def _section() -> str:
    return section("Public API")


def _listed() -> dict[str, list[str]]:
    """Package -> the names its README line lists (in order), after its ``(what it is):``."""
    listed = {}
    line = re.compile(r"^- `(spanstream[.\w]*)`(?: \([^)]*\))?: (.*)$", re.MULTILINE)
    for package, names in line.findall(_section()):
        listed[package] = re.findall(r"`(\w+)`", names) if package not in INTERNAL else []
    return listed


def _public_modules() -> set[str]:
    """Every library package, and every module in one whose name has no leading underscore."""
    found = set()
    for package in LIBRARY_PACKAGES:
        found.add(f"spanstream.{package}")
        found.update(
            f"spanstream.{package}.{path.stem}"
            for path in (ROOT / package).glob("*.py")
            if not path.stem.startswith("_")
        )
    return found


def test_the_readme_lists_every_public_package_and_module() -> None:
    """Each package and public submodule has one README line, and no line names another."""
    assert set(_listed()) == _public_modules()


@pytest.mark.parametrize("module", sorted(_public_modules() - INTERNAL))
def test_the_readme_lists_exactly_a_modules_all(module: str) -> None:
    """The README line of a public package or module is its __all__, name for name."""
    assert _listed()[module] == list(importlib.import_module(module).__all__)


def test_the_internal_kafka_package_is_said_to_be_internal() -> None:
    """spanstream.kafka is listed as internal plumbing, not as a user API."""
    assert re.search(r"^- `spanstream\.kafka`: internal .*not a user API", _section(), re.M)


def test_system_trace_names_are_only_in_the_system_submodule() -> None:
    """No name of spanstream.schemas.system is importable from spanstream.schemas itself."""
    on_top = {
        name for name in spanstream.schemas.system.__all__ if hasattr(spanstream.schemas, name)
    }
    assert on_top == set()
