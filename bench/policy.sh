#!/usr/bin/env bash
# What deciding every statement costs: pgbench -S through PgBouncer (session mode), through pgveil with the
# policy engine off, and through pgveil with a 20-rule policy, side by side in one run; prints TPS and ratios.
# Targets: policy >= 0.95x pgveil without policy, and >= 1.0x PgBouncer, both modes, c = 1/8/32.
#
#   bench/policy.sh                                # REPEAT=3, 10 s runs: about 12 minutes
#   REPEAT=1 DURATION=5 bench/policy.sh            # quicker
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
bench_start_pgveil "$auth
$rules" policy $((PGVEIL_PORT + 1))

{
  bench_header "pgveil policy benchmark (20 rules)"
  echo "TPS: median of $REPEAT interleaved runs of $DURATION s per cell (pgbench -n -S -M <mode> -c <clients> -j 2)"
  echo
} | tee "$report"

for t in pgbouncer pgveil policy; do tps "$t" prepared 8 3 >/dev/null; tps "$t" simple 8 3 >/dev/null; done

printf "%-9s %7s %12s %12s %12s %12s %12s\n" mode clients pgbouncer "pgveil" "pgveil+pol" "pol/pgveil" "pol/bnc" | tee -a "$report"
for mode in $MODES; do
  for c in $CLIENTS; do
    bs=(); vs=(); ps=()
    for _ in $(seq "$REPEAT"); do
      bs+=("$(tps pgbouncer "$mode" "$c" "$DURATION")")
      vs+=("$(tps pgveil "$mode" "$c" "$DURATION")")
      ps+=("$(tps policy "$mode" "$c" "$DURATION")")
    done
    b=$(median "${bs[@]}"); v=$(median "${vs[@]}"); p=$(median "${ps[@]}")
    printf "%-9s %7s %12.0f %12.0f %12.0f %12s %12s\n" "$mode" "$c" "$b" "$v" "$p" "$(ratio "$p" "$v")" "$(ratio "$p" "$b")" | tee -a "$report"
  done
done
grep -c "refused" "$WORK/pgveil-policy.log" | sed 's/^/statements refused by the policy (expect 0): /' | tee -a "$report"
echo "report: $report"
