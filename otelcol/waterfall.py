"""Draw one trace as a trace viewer would, from what an OTLP backend received.

Reads the OTLP JSON lines that the collector's file exporter wrote (``otlp.jsonl``), picks the
trace whose root is named ``--root`` (the one with the most spans, or ``--trace-id``), prints its
tree and draws it as a waterfall (one row per span, indented by depth, a bar from start to end)
to a PNG. Every name, id, time and attribute shown comes from the received OTLP, nothing else.

    python otelcol/waterfall.py otlp.jsonl --root Checkpoint --png trace.png
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any


def _value(any_value: dict[str, Any]) -> object:
    for kind in ("stringValue", "boolValue", "doubleValue"):
        if kind in any_value:
            return any_value[kind]
    if "intValue" in any_value:
        return int(any_value["intValue"])
    return any_value


def read_spans(path: Path) -> list[dict[str, Any]]:
    """Every span in the file, with its scope and resource attributes."""
    spans = []
    for line in path.read_text().splitlines():
        document = json.loads(line)
        for resource_spans in document.get("resourceSpans", []):
            resource = {
                a["key"]: _value(a["value"])
                for a in resource_spans.get("resource", {}).get("attributes", [])
            }
            for scope_spans in resource_spans.get("scopeSpans", []):
                scope = scope_spans.get("scope", {}).get("name", "")
                for span in scope_spans.get("spans", []):
                    attributes = {a["key"]: _value(a["value"]) for a in span.get("attributes", [])}
                    spans.append(
                        {
                            "trace": span["traceId"],
                            "id": span["spanId"],
                            "parent": span.get("parentSpanId", ""),
                            "name": span["name"],
                            "scope": scope,
                            "resource": resource,
                            "attributes": attributes,
                            "start": int(span["startTimeUnixNano"]),
                            "end": int(span["endTimeUnixNano"]),
                        }
                    )
    return spans


def pick_trace(
    spans: list[dict[str, Any]], root: str, trace_id: str | None
) -> list[dict[str, Any]]:
    """The spans of one trace: the given id, or the largest whose root is named ``root``."""
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for span in spans:
        by_trace[span["trace"]].append(span)
    if trace_id is not None:
        return by_trace[trace_id]
    candidates = [
        members
        for members in by_trace.values()
        if any(s["name"] == root and not s["parent"] for s in members)
    ]
    if not candidates:
        raise SystemExit(f"no trace with a root named {root!r}")
    return max(candidates, key=len)


def ordered(trace: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """``(depth, span)`` depth first, children by start time."""
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for span in trace:
        children[span["parent"]].append(span)
    rows: list[tuple[int, dict[str, Any]]] = []

    def walk(parent: str, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=lambda s: (s["start"], s["name"])):
            rows.append((depth, span))
            walk(span["id"], depth + 1)

    walk("", 0)
    return rows


def print_tree(rows: list[tuple[int, dict[str, Any]]]) -> None:
    """The tree as text: name, duration, span id, parent id, a few attributes."""
    root = rows[0][1]
    print(f"trace {root['trace']}  service.name={root['resource'].get('service.name')}")
    print("resource: " + ", ".join(f"{k}={v}" for k, v in sorted(root["resource"].items())))
    for depth, span in rows:
        ms = (span["end"] - span["start"]) / 1e6
        keys = ("checkpointId", "checkpointStatus", "jobVertexId", "subtaskId")
        shown = " ".join(f"{k}={span['attributes'][k]}" for k in keys if k in span["attributes"])
        parent = span["parent"] or "-"
        print(
            f"{'  ' * depth}{span['name']}  {ms:.0f} ms  span={span['id']} parent={parent}  {shown}"
        )


def draw(rows: list[tuple[int, dict[str, Any]]], png: Path) -> None:
    """The waterfall: a row per span, bars on the trace's time axis (ms from its start)."""
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt

    origin = min(span["start"] for _, span in rows)
    height = 0.6 + 0.32 * len(rows)
    fig, ax = plt.subplots(figsize=(12, height))
    colours = {0: "#4c72b0", 1: "#55a868", 2: "#c44e52"}
    labels = []
    for row, (depth, span) in enumerate(rows):
        start_ms = (span["start"] - origin) / 1e6
        length_ms = max((span["end"] - span["start"]) / 1e6, 0.5)
        ax.barh(row, length_ms, left=start_ms, color=colours.get(depth, "#8172b2"), height=0.7)
        ax.text(
            start_ms + length_ms,
            row,
            f" {length_ms:.0f} ms",
            va="center",
            fontsize=8,
        )
        attributes = span["attributes"]
        detail = ""
        if "jobVertexId" in attributes:
            detail = f"vertex {str(attributes['jobVertexId'])[:8]}"
        if "subtaskId" in attributes:
            detail += f" subtask {attributes['subtaskId']}"
        if depth == 0 and "checkpointId" in attributes:
            detail = f"#{attributes['checkpointId']} {attributes.get('checkpointStatus', '')}"
        labels.append(f"{'   ' * depth}{span['name']}  {detail}  ({span['id'][:8]})")
    width = max(len(label) for label in labels)
    ax.set_yticks(range(len(rows)), labels, fontsize=8, family="monospace")
    for tick in ax.get_yticklabels():
        tick.set_horizontalalignment("left")
    ax.tick_params(axis="y", pad=width * 4.9 + 4)
    ax.invert_yaxis()
    ax.set_xlabel("ms since the trace started")
    root = rows[0][1]
    resource = ", ".join(f"{k}={v}" for k, v in sorted(root["resource"].items()))
    ax.grid(axis="x", alpha=0.3)
    fig.suptitle(
        f"trace {root['trace']} as received over OTLP\nresource: {resource}",
        fontsize=9,
        x=0.01,
        ha="left",
    )
    fig.tight_layout()
    fig.savefig(png, dpi=110)


def main() -> None:
    """Run from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jsonl", type=Path, help="the collector file exporter's output")
    parser.add_argument("--root", default="Checkpoint", help="the root span's name")
    parser.add_argument("--trace-id", default=None, help="this trace instead (hex)")
    parser.add_argument("--png", type=Path, default=None, help="draw the waterfall here")
    args = parser.parse_args()
    rows = ordered(pick_trace(read_spans(args.jsonl), args.root, args.trace_id))
    print_tree(rows)
    if args.png is not None:
        draw(rows, args.png)


if __name__ == "__main__":
    main()
