#!/usr/bin/env bash
# `./run viewer`: Zipkin's server and UI plus an OpenTelemetry Collector that turns OTLP into
# Zipkin spans, both on loopback, until Ctrl-C:
#   Zipkin (UI and API)   http://localhost:9411
#   OTLP/gRPC             http://localhost:4327   <- spanstream forward --otlp-endpoint
#   OTLP/HTTP             http://localhost:4328   (--protocol http)
# Zipkin takes no OTLP itself, hence the collector (otelcol/builder-viewer.yaml: OTLP receiver +
# Zipkin exporter; spanstream's events, OTLP log records, go to the debug exporter, that is to
# otelcol.log, as Zipkin keeps no logs). Needs java, mvn (Zipkin's server jar comes from Maven Central into ~/.m2)
# and go (the collector is built once per machine under the state dir by otelcol/build.sh).
# Zipkin keeps spans in memory: they are gone when it stops.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
state=${SPANSTREAM_STATE_DIR:-$here/../.state}
zipkin_version=3.5.1
zipkin_port=9411
grpc_port=4327
http_port=4328

jar="$HOME/.m2/repository/io/zipkin/zipkin-server/$zipkin_version/zipkin-server-$zipkin_version-exec.jar"
if [ ! -f "$jar" ]; then
  command -v mvn >/dev/null || { echo "otelcol/viewer.sh: needs the mvn command" >&2; exit 1; }
  mvn -q dependency:get -Dartifact="io.zipkin:zipkin-server:$zipkin_version:jar:exec" \
    -Dtransitive=false >&2
fi
collector=$("$here/build.sh" "$here/builder-viewer.yaml")

mkdir -p "$state/viewer"
config="$state/viewer/otelcol-viewer.yaml"
cat >"$config" <<YAML
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$grpc_port
      http:
        endpoint: 127.0.0.1:$http_port
exporters:
  zipkin:
    endpoint: http://127.0.0.1:$zipkin_port/api/v2/spans
  debug:
    verbosity: basic
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [zipkin]
    logs:
      receivers: [otlp]
      exporters: [debug]
YAML

zipkin_pid=
collector_pid=
stop() {
  trap - INT TERM EXIT
  local pids="$collector_pid $zipkin_pid" pid alive
  for pid in $pids; do kill "$pid" 2>/dev/null || true; done
  # Both exit within a second or two on SIGTERM; whatever still runs after 10 s is killed.
  for _ in $(seq 20); do
    alive=
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ -z "$alive" ] && break
    sleep 0.5
  done
  for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "viewer stopped (Zipkin and the collector)" >&2
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for port in "$zipkin_port" "$grpc_port" "$http_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "otelcol/viewer.sh: port $port is in use (is a viewer already running?)" >&2
    exit 1
  fi
done

java -Xmx256m -jar "$jar" --armeria.ports[0].ip=127.0.0.1 --armeria.ports[0].port="$zipkin_port" \
  --armeria.ports[0].protocols[0]=http >"$state/viewer/zipkin.log" 2>&1 &
zipkin_pid=$!
for _ in $(seq 120); do
  curl -fsS "http://127.0.0.1:$zipkin_port/health" >/dev/null 2>&1 && break
  kill -0 "$zipkin_pid" 2>/dev/null || { echo "Zipkin exited; see $state/viewer/zipkin.log" >&2; exit 1; }
  sleep 1
done
curl -fsS "http://127.0.0.1:$zipkin_port/health" >/dev/null \
  || { echo "Zipkin did not answer in 120 s; see $state/viewer/zipkin.log" >&2; exit 1; }

"$collector" --config "$config" >"$state/viewer/otelcol.log" 2>&1 &
collector_pid=$!
for _ in $(seq 60); do
  (exec 3<>"/dev/tcp/127.0.0.1/$grpc_port") 2>/dev/null && break
  kill -0 "$collector_pid" 2>/dev/null \
    || { echo "the collector exited; see $state/viewer/otelcol.log" >&2; exit 1; }
  sleep 0.5
done

echo "Zipkin UI:      http://localhost:$zipkin_port"
echo "OTLP endpoint:  spanstream forward flink-traces --otlp-endpoint http://localhost:$grpc_port"
echo "Ctrl-C stops both (logs in $state/viewer/)."
wait "$collector_pid" || { echo "the collector exited; see $state/viewer/otelcol.log" >&2; exit 1; }
