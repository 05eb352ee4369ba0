"""The README's "View traces in Zipkin" section matches `./run viewer` and its screenshot."""

from __future__ import annotations

import re
from pathlib import Path

from _readme import section

ROOT = Path(__file__).resolve().parents[2]


def _section() -> str:
    return section("View traces in Zipkin")


def test_the_zipkin_screenshot_the_readme_shows_exists():
    """Every picture the section shows is a PNG file in the checkout."""
    pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", _section())
    assert pictures == ["docs/zipkin-checkpoint-trace.png"]
    assert (ROOT / pictures[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_viewer_starts_the_viewer_script():
    """`./run viewer` runs otelcol/viewer.sh, which builds the viewer collector."""
    run = (ROOT / "run").read_text(encoding="utf-8")
    assert re.search(r"\n  viewer\)\n    exec bash otelcol/viewer\.sh \"\$@\"\n", run)
    script = (ROOT / "otelcol" / "viewer.sh").read_text(encoding="utf-8")
    assert '"$here/build.sh" "$here/builder-viewer.yaml"' in script


def test_the_readme_forwards_to_the_port_the_viewer_listens_on():
    """The section's forward line targets the viewer collector's OTLP/gRPC port."""
    script = (ROOT / "otelcol" / "viewer.sh").read_text(encoding="utf-8")
    (grpc_port,) = re.findall(r"^grpc_port=(\d+)$", script, flags=re.MULTILINE)
    (zipkin_port,) = re.findall(r"^zipkin_port=(\d+)$", script, flags=re.MULTILINE)
    section = _section()
    assert f"--otlp-endpoint http://localhost:{grpc_port} " in section
    assert f"http://localhost:{zipkin_port}" in section
