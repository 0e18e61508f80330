#!/usr/bin/env bash
# What masking costs (issue 13), side by side in one run: `select aid, bid, abalance, filler from pgbench_accounts`
# (1M rows at SCALE=10) directly, through PgBouncer, through pgveil with a policy and no masked column in the
# query, and through pgveil with `filler` masked (every row rewritten); pgveil's RSS sampled throughout; and
# pgbench -S through pgveil with masking configured on other tables against pgveil with the same policy and no
# masking. Targets: masked <= 1.25x direct, unmasked <= 1.15x direct, RSS < 300 MB, pgbench -S >= 0.97x.
#
#   bench/masking.sh               # REPEAT=5: about 3 minutes
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REPEAT="${REPEAT:-5}"
SCAN="${SCAN:-1}"         # 0: only the pgbench -S part
DURATION="${DURATION:-10}"
report="$results/masking-$(date +%Y%m%d-%H%M%S).txt"
QUERY="select aid, bid, abalance, filler from pgbench_accounts"

auth="auth:
  static_users:
    - { name: $CLIENT, password: \${env:PGVEIL_STATIC_PASSWORD} }"
rules="policy:
  rules:
    - { name: bench-read, match: { subject: $CLIENT }, allow: [read], on: [\"public.*\"] }"

bench_setup
bench_start_pgbouncer
bench_start_pgveil "$auth
$rules" policy "$(target_port policy)"
declare -A pid=([policy]="$pgveil_java")
bench_start_pgveil "$auth
$rules
masking:
  columns:
    public.pgbench_accounts.filler: { masker: redact }" masked "$(target_port masked)"
pid[masked]=$pgveil_java
bench_start_pgveil "$auth
$rules
masking:
  columns:
    public.pgbench_history.filler: { masker: redact }
    public.pgbench_tellers.filler: { masker: partial, keep_last: 2 }" elsewhere "$(target_port elsewhere)"
pid[elsewhere]=$pgveil_java

# rss_max pid file: samples VmRSS (kB) of pid every 50 ms into file until killed
rss_max() { while sleep 0.05; do awk '/VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null; done > "$2"; }
rss_max "${pid[masked]}" "$WORK/rss" & sampler=$!
pids+=("$sampler")

# scan target: milliseconds pgbench takes to run the query and read every row into memory (libpq's PGresult; no
# printing, so that what is timed is the server and the proxy, not a client formatting 1M rows)
echo "$QUERY;" > "$WORK/scan.sql"
scan() {
  PGPASSWORD=$(target_pw "$1") PGSSLMODE=disable pgbench -n -f "$WORK/scan.sql" -t 1 -c 1 -h 127.0.0.1 \
    -p "$(target_port "$1")" -U "$(target_user "$1")" bench 2>&1 | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p'
}
sample_rows() {
  PGPASSWORD=$(target_pw "$1") PGSSLMODE=disable psql -X -q -At -h 127.0.0.1 -p "$(target_port "$1")" \
    -U "$(target_user "$1")" -d bench -c "$QUERY order by aid limit 2"
}

{
  bench_header "pgveil masking benchmark"
  echo "scan: \"$QUERY\", ms for pgbench to run it and read every row, median of $REPEAT interleaved runs after a warm-up round"
  echo
} | tee "$report"

targets="direct pgbouncer policy masked"
if [ "$SCAN" = 1 ]; then
for t in $targets; do scan "$t" >/dev/null; done
sample_rows masked | sed 's/^/masked rows look like: /' | tee -a "$report"
declare -A ms=()
for _ in $(seq "$REPEAT"); do
  for t in $targets; do ms[$t]+=" $(scan "$t")"; done
done
# shellcheck disable=SC2086
d=$(median ${ms[direct]}); b=$(median ${ms[pgbouncer]}); p=$(median ${ms[policy]}); m=$(median ${ms[masked]})
printf "%-34s %10s %10s %10s %10s\n" scan direct pgbouncer "no masked" masked | tee -a "$report"
printf "%-34s %10s %10s %10s %10s\n" "ms" "$d" "$b" "$p" "$m" | tee -a "$report"
printf "%-34s %10s %10s %10s %10s\n" "ratio to direct" 1.00 "$(ratio "$b" "$d")" "$(ratio "$p" "$d")" "$(ratio "$m" "$d")" \
  | tee -a "$report"
kill "$sampler" 2>/dev/null || true
echo "pgveil (masked) RSS max: $(sort -n "$WORK/rss" | tail -1 | awk '{ printf "%.0f MB", $1 / 1024 }')" | tee -a "$report"
fi

echo | tee -a "$report"
for t in policy elsewhere; do tps "$t" prepared 8 3 >/dev/null; done
printf "%-9s %7s %12s %14s %8s   %s\n" mode clients "no masking" "masking else" ratio "proxy CPU us/tx: no masking, masking else" \
  | tee -a "$report"
for mode in simple prepared; do
  for c in 1 8; do
    declare -A runs=() cpus=()
    for _ in $(seq 3); do
      for t in policy elsewhere; do
        read -r tx cpu < <(tps_cpu "$t" "$mode" "$c" "$DURATION" "${pid[$t]}")
        runs[$t]+=" $tx"; cpus[$t]+=" $cpu"
      done
    done
    # shellcheck disable=SC2086
    a=$(median ${runs[policy]}); e=$(median ${runs[elsewhere]})
    # shellcheck disable=SC2086
    printf "%-9s %7s %12.0f %14.0f %8s   %8s %8s\n" "$mode" "$c" "$a" "$e" "$(ratio "$e" "$a")" \
      "$(median ${cpus[policy]})" "$(median ${cpus[elsewhere]})" | tee -a "$report"
    unset runs cpus
  done
done
echo "report: $report"
