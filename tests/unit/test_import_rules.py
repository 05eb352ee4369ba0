"""The packages import one way (DEVELOPERS.md): a test reads every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What each package may import of spanstream (itself always); broker and cli may import anything.
ALLOWED = {
    "schemas": {"schemas"},
    "kafka": {"kafka", "schemas"},
    "producer": {"producer", "kafka", "schemas", "otel"},
    "consumer": {"consumer", "kafka", "schemas", "otel"},
    "otel": {"otel", "schemas"},
}


def spanstream_imports(path: Path) -> set[str]:
    """The spanstream packages a module imports (``spanstream.x.y`` -> ``x``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update(
            name.split(".")[1] for name in names if name.startswith("spanstream.") and "." in name
        )
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_what_the_layering_allows(package):
    """schemas imports nothing, kafka only schemas; producer and consumer never each other."""
    modules = sorted((ROOT / package).glob("*.py"))
    assert modules, package
    offending = {
        path.name: sorted(spanstream_imports(path) - ALLOWED[package])
        for path in modules
        if spanstream_imports(path) - ALLOWED[package]
    }
    assert offending == {}


def test_the_rule_catches_a_forbidden_import(tmp_path):
    """A consumer module importing the producer is seen (the check can fail)."""
    module = tmp_path / "_bad.py"
    module.write_text("from spanstream.producer import ReporterRegistry\n", encoding="utf-8")
    assert spanstream_imports(module) - ALLOWED["consumer"] == {"producer"}
