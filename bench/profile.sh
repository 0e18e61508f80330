#!/usr/bin/env bash
# This build and an earlier one (BASELINE, required) under the same pgbench load, alternating, each with Java
# Flight Recorder on: proxy CPU per transaction for each run, and the hottest frames of each build. For when
# TPS is too noisy to compare two builds.
#
#   BASELINE=/tmp/pgveil-before bench/profile.sh
#   BASELINE=/tmp/pgveil-before MODE=prepared CLIENTS=8 RUNS=5 bench/profile.sh
#   BASELINE=/tmp/pgveil-before POLICY=on CLIENTS=1 bench/profile.sh   # with a policy that lets the client read
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -n "$BASELINE" ] || { echo "set BASELINE to the checkout to compare with" >&2; exit 2; }
MODE="${MODE:-simple}"
CLIENTS="${CLIENTS:-8}"
RUNS="${RUNS:-3}"
POLICY="${POLICY:-off}"
DURATION="${DURATION:-10}"
bench_setup
auth="auth:
  static_users:
    - { name: $CLIENT, password: \${env:PGVEIL_STATIC_PASSWORD} }"
if [ "$POLICY" = on ]; then
  auth+="
policy:
  rules:
    - { name: bench-read, match: { subject: $CLIENT }, allow: [read], on: [\"public.*\"] }"
else
  auth+="
policy: { enabled: false }"
fi
opts="-Xms64m -Xmx192m -XX:MaxDirectMemorySize=128m -XX:+UseSerialGC -Dio.netty.leakDetection.level=disabled"
PGVEIL_JAVA_OPTS="$opts -XX:StartFlightRecording=filename=$results/profile-after.jfr,settings=profile" bench_start_pgveil "$auth"
after=$pgveil_java
PGVEIL_JAVA_OPTS="$opts -XX:StartFlightRecording=filename=$results/profile-before.jfr,settings=profile" \
  bench_start_pgveil "$auth" base "$(target_port base)" "$BASELINE"
before=$pgveil_java
for t in pgveil base; do tps "$t" "$MODE" "$CLIENTS" 5 >/dev/null; done
echo "pgbench -S -M $MODE -c $CLIENTS, $RUNS alternating runs of $DURATION s: TPS and proxy CPU us/tx"
for _ in $(seq "$RUNS"); do
  echo "after  $(tps_cpu pgveil "$MODE" "$CLIENTS" "$DURATION" "$after")"
  echo "before $(tps_cpu base "$MODE" "$CLIENTS" "$DURATION" "$before")"
done
jcmd "$after" JFR.dump filename="$results/profile-after.jfr" >/dev/null
jcmd "$before" JFR.dump filename="$results/profile-before.jfr" >/dev/null
for build in after before; do
  echo "hottest frames ($build):"
  jfr print --events jdk.ExecutionSample --stack-depth 1 "$results/profile-$build.jfr" \
    | sed -n 's/^ *\([A-Za-z0-9_.$<>]*\)(.*line:.*/\1/p' | sort | uniq -c | sort -rn | head -12
done
echo "recordings: $results/profile-after.jfr $results/profile-before.jfr"
