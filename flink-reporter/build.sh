#!/usr/bin/env bash
# Builds the Flink plugin jar, or the proof job, once per content of its sources, and prints
# the path of the result. Used by `./run plugin`, `./run test` and the integration tests.
#
#   flink-reporter/build.sh plugin   -> .../spanstream-flink-kafka-<version>.jar (Surefire ran)
#   flink-reporter/build.sh proof    -> a folder with classes/ and classpath.txt
#
# The output is cached under $SPANSTREAM_STATE_DIR (else .state/) in flink-reporter/<what>-<hash>,
# <hash> being that of the sources (and, for the plugin, of schemas/span.avsc and event.avsc):
# an unchanged plugin is never rebuilt. Maven runs offline (-o) when ~/.m2 already holds what it
# needs, and online otherwise (a fresh machine downloads Flink 2.3's jars once, into ~/.m2).
# Maven's output goes to build.log beside the result; it is shown only when the build fails.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
state=${SPANSTREAM_STATE_DIR:-$root/.state}
what=${1:-plugin}
case "$what" in
  plugin) sources=(flink-reporter/pom.xml flink-reporter/src schemas/span.avsc schemas/event.avsc)
          project=$here ;;
  proof)  sources=(flink-reporter/proof/pom.xml flink-reporter/proof/src)
          project=$here/proof ;;
  *) echo "usage: flink-reporter/build.sh plugin|proof" >&2; exit 2 ;;
esac
command -v mvn >/dev/null || { echo "flink-reporter: Maven (mvn) and Java 17 are needed" >&2; exit 1; }
hash=$(cd "$root" && find "${sources[@]}" -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-16)
cache=$state/flink-reporter
out=$cache/$what-$hash
mkdir -p "$cache"
exec 9>"$cache/.lock-$what"
flock 9  # another build of the same thing waits here, then finds it done
if [ ! -f "$out/done" ]; then
  rm -rf "$out" && mkdir -p "$out"
  echo "flink-reporter: building the $what (sources $hash; log in $out/build.log)" >&2
  if [ "$what" = plugin ]; then goals=(package); else
    goals=(package dependency:build-classpath "-Dmdep.outputFile=$out/classpath.txt"); fi
  if ! (cd "$project" && mvn -B -o "${goals[@]}" >"$out/build.log" 2>&1); then
    (cd "$project" && mvn -B "${goals[@]}" >"$out/build.log" 2>&1) || {
      tail -n 60 "$out/build.log" >&2; echo "flink-reporter: the $what build failed" >&2; exit 1; }
  fi
  if [ "$what" = plugin ]; then
    cp "$project"/target/spanstream-flink-kafka-*.jar "$out/"
    rm -f "$out"/original-*.jar
    mkdir -p "$out/surefire-reports"
    cp "$project"/target/surefire-reports/TEST-*.xml "$out/surefire-reports/"
  else
    cp -r "$project/target/classes" "$out/classes"
  fi
  touch "$out/done"
fi
if [ "$what" = plugin ]; then ls "$out"/spanstream-flink-kafka-*.jar; else echo "$out"; fi
