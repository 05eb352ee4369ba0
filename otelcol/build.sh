#!/usr/bin/env bash
# Builds an OpenTelemetry Collector from Go modules with the Collector's `builder`, once per
# machine and builder file:
#   otelcol/build.sh [BUILDER_YAML]
#   $SPANSTREAM_STATE_DIR/otelcol/<version>-<hash of BUILDER_YAML>/<dist name>
# BUILDER_YAML defaults to otelcol/builder.yaml, the test OTLP backend (OTLP receiver + file
# exporter, binary spanstream-otelcol); otelcol/builder-viewer.yaml is the Zipkin viewer's
# (OTLP receiver + Zipkin exporter, `./run viewer`). Prints the binary's path. Reruns are a
# no-op once the binary exists.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
state=${SPANSTREAM_STATE_DIR:-$here/../.state}
version=0.161.0
config=${1:-$here/builder.yaml}
[ -f "$config" ] || { echo "otelcol/build.sh: no builder file $config" >&2; exit 2; }
name=$(sed -n 's/^  name: *\([A-Za-z0-9._-]*\).*/\1/p' "$config" | head -n 1)
[ -n "$name" ] || { echo "otelcol/build.sh: $config has no dist name" >&2; exit 2; }
hash=$(sha256sum "$config" | cut -c1-12)
out="$state/otelcol/$version-$hash"
bin="$out/$name"
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
  sed "s|^  output_path: .*|  output_path: $out/src|" "$config" >"$out/builder.yaml"
  "$gobin/builder" --config="$out/builder.yaml" >&2
  mv "$out/src/$name" "$bin"
  rm -rf "$out/src"
  echo "otelcol/build.sh: built $bin in $(( $(date +%s) - start )) s" >&2
fi
echo "$bin"
