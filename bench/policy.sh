#!/usr/bin/env bash
# What deciding every statement costs: pgbench -S through PgBouncer (session mode), through pgveil with the
# policy engine off, and through pgveil with a 20-rule policy, side by side in one run; prints TPS and ratios.
# Targets: policy >= 0.95x pgveil without policy, and >= 1.0x PgBouncer, both modes, c = 1/8/32.
#
#   bench/policy.sh                                # REPEAT=3, 10 s runs: about 12 minutes
#   REPEAT=1 DURATION=5 bench/policy.sh            # quicker
#   BASELINE=/tmp/pgveil-before bench/policy.sh     # also an earlier build: base (policy off), base-policy
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DURATION="${DURATION:-10}"
CLIENTS="${CLIENTS:-1 8 32}"
MODES="${MODES:-simple prepared}"
REPEAT="${REPEAT:-3}"
report="$results/policy-$(date +%Y%m%d-%H%M%S).txt"

auth="auth:
  static_users:
    - { name: $CLIENT, password: \${env:PGVEIL_STATIC_PASSWORD} }"

# 19 rules for other identities (never matching the benchmark user) and the one that lets it read: the engine
# still considers every rule for each statement.
rules="policy:
  rules:"
for i in $(seq 1 18); do
  rules+="
    - { name: team-$i, match: { groups: [team-$i] }, allow: [read, write], on: [\"schema_$i.*\", \"public.t_$i\"] }"
done
rules+="
    - { name: nobody-internal, match: { groups: [contractors] }, deny: [read, write, ddl, admin], on: [\"internal.*\"] }
    - { name: bench-read, match: { subject: $CLIENT }, allow: [read], on: [\"public.*\"] }"

bench_setup
bench_start_pgbouncer
bench_start_pgveil "$auth
policy: { enabled: false }"
declare -A pid=([pgbouncer]="$(cat "$WORK/pgbouncer.pid")" [pgveil]="$pgveil_java")
bench_start_pgveil "$auth
$rules" policy $((PGVEIL_PORT + 1))
pid[policy]=$pgveil_java
targets="pgbouncer pgveil policy"
if [ -n "$BASELINE" ]; then
  bench_start_pgveil "$auth
policy: { enabled: false }" base "$(target_port base)" "$BASELINE"
  pid[base]=$pgveil_java
  bench_start_pgveil "$auth
$rules" base-policy "$(target_port base-policy)" "$BASELINE"
  pid[base-policy]=$pgveil_java
  targets+=" base base-policy"
fi

{
  bench_header "pgveil policy benchmark (20 rules)"
  echo "TPS: median of $REPEAT interleaved runs of $DURATION s per cell (pgbench -n -S -M <mode> -c <clients> -j 2);"
  echo "proxy CPU us/tx: CPU time of the proxy process per transaction (median), which noise moves far less than TPS"
  echo
} | tee "$report"

for t in $targets; do tps "$t" prepared 8 3 >/dev/null; tps "$t" simple 8 3 >/dev/null; done

header=$(printf "%-9s %7s %10s %10s %10s %10s %8s  %s" mode clients pgbouncer pgveil "pgveil+pol" pol/pgveil pol/bnc \
  "proxy CPU us/tx: pgbouncer pgveil pgveil+pol")
[ -z "$BASELINE" ] || header+=$(printf "   %10s %10s %9s %9s  %s" base base+pol veil/base pol/b+pol "CPU us/tx: base base+pol")
echo "$header" | tee -a "$report"
for mode in $MODES; do
  for c in $CLIENTS; do
    declare -A runs=() cpus=()
    for _ in $(seq "$REPEAT"); do
      for t in $targets; do
        read -r tx cpu < <(tps_cpu "$t" "$mode" "$c" "$DURATION" "${pid[$t]}")
        runs[$t]+=" $tx"; cpus[$t]+=" $cpu"
      done
    done
    # shellcheck disable=SC2086
    b=$(median ${runs[pgbouncer]}); v=$(median ${runs[pgveil]}); p=$(median ${runs[policy]})
    # shellcheck disable=SC2086
    line=$(printf "%-9s %7s %10.0f %10.0f %10.0f %10s %8s  %9s %6s %10s" "$mode" "$c" "$b" "$v" "$p" "$(ratio "$p" "$v")" \
      "$(ratio "$p" "$b")" "$(median ${cpus[pgbouncer]})" "$(median ${cpus[pgveil]})" "$(median ${cpus[policy]})")
    if [ -n "$BASELINE" ]; then
      # shellcheck disable=SC2086
      o=$(median ${runs[base]}); op=$(median ${runs[base-policy]})
      # shellcheck disable=SC2086
      line+=$(printf "   %10.0f %10.0f %9s %9s  %8s %8s" "$o" "$op" "$(ratio "$v" "$o")" "$(ratio "$p" "$op")" \
        "$(median ${cpus[base]})" "$(median ${cpus[base-policy]})")
    fi
    echo "$line" | tee -a "$report"
    unset runs cpus
  done
done
{ grep -c "refused" "$WORK/pgveil-policy.log" || true; } | sed 's/^/statements refused by the policy (expect 0): /' | tee -a "$report"
echo "report: $report"
