#!/usr/bin/env bash
# Builds the test OTLP backend (an OpenTelemetry Collector with an OTLP receiver and a file
# exporter) from Go modules with the Collector's `builder`, once per machine and version:
#   $SPANSTREAM_STATE_DIR/otelcol/<version>-<hash of builder.yaml>/spanstream-otelcol
# Prints the binary's path. Reruns are a no-op once the binary exists.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
state=${SPANSTREAM_STATE_DIR:-$here/../.state}
version=0.161.0
hash=$(sha256sum "$here/builder.yaml" | cut -c1-12)
out="$state/otelcol/$version-$hash"
bin="$out/spanstream-otelcol"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
command -v go >/dev/null || { echo "otelcol/build.sh: needs the go command" >&2; exit 1; }
mkdir -p "$out"
# One build at a time per machine (two test sessions may start together).
exec 9>"$out.lock"
flock 9
if [ ! -x "$bin" ]; then
  gobin="$state/otelcol/gobin-$version"
  if [ ! -x "$gobin/builder" ]; then
    GOBIN="$gobin" go install "go.opentelemetry.io/collector/cmd/builder@v$version" >&2
  fi
  start=$(date +%s)
  # The builder reads output_path from its config only: write a copy that points into $out.
  sed "s|^  output_path: .*|  output_path: $out/src|" "$here/builder.yaml" >"$out/builder.yaml"
  "$gobin/builder" --config="$out/builder.yaml" >&2
  mv "$out/src/spanstream-otelcol" "$bin"
  rm -rf "$out/src"
  echo "otelcol/build.sh: built $bin in $(( $(date +%s) - start )) s" >&2
fi
echo "$bin"
