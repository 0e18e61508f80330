#!/usr/bin/env bash
# Throughput and streaming benchmark: direct PostgreSQL, PgBouncer (session mode) and pgveil, side by side,
# in one run, on this machine. Prints TPS per mode and client count with ratios, the wall time of a
# 1M-row result through each, and pgveil's peak RSS during it.
#
#   bench/run.sh                              # REPEAT=3, 10 s runs: about 10 minutes
#   REPEAT=1 DURATION=5 CLIENTS="1 8" bench/run.sh   # quicker
#   PGVEIL_TRANSPORT=io_uring PGVEIL_THREADS=1 bench/run.sh
#   BASELINE=/tmp/pgveil-before bench/run.sh     # also an earlier build ("base"), before and after in one run
#
# Needs PostgreSQL server binaries (Debian's postgresql-15), psql, pgbench and pgbouncer (installed with
# apt-get when missing), and a built pgveil (mvn -q -DskipTests package; done on demand).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DURATION="${DURATION:-10}"
CLIENTS="${CLIENTS:-1 8 32}"
MODES="${MODES:-simple prepared}"
ROWS_RUNS="${ROWS_RUNS:-3}"
REPEAT="${REPEAT:-3}"          # TPS runs per cell, interleaved across targets; the median is reported
report="$results/run-$(date +%Y%m%d-%H%M%S).txt"

bench_setup
bench_start_pgbouncer
auth="auth:
  static_users:
    - { name: $CLIENT, password: \${env:PGVEIL_STATIC_PASSWORD} }"
bench_start_pgveil "$auth"
veil_java=$pgveil_java
targets="direct pgbouncer pgveil"
if [ -n "$BASELINE" ]; then
  bench_start_pgveil "$auth" base "$(target_port base)" "$BASELINE"
  targets+=" base"
fi

{
  bench_header "pgveil throughput benchmark"
  echo "TPS: median of $REPEAT interleaved runs of $DURATION s per cell (pgbench -n -S -M <mode> -c <clients> -j 2)"
  echo
} | tee "$report"

# Warm-up: the JIT compiles pgveil's hot path; PgBouncer and PostgreSQL get the same treatment.
for t in $targets; do tps "$t" prepared 8 3 >/dev/null; tps "$t" simple 8 3 >/dev/null; done

header=$(printf "%-9s %7s %12s %12s %12s %10s %10s %10s" mode clients direct pgbouncer pgveil "bnc/dir" "veil/dir" "veil/bnc")
[ -z "$BASELINE" ] || header+=$(printf " %12s %10s" base "veil/base")
echo "$header" | tee -a "$report"
for mode in $MODES; do
  for c in $CLIENTS; do
    declare -A runs=()
    for _ in $(seq "$REPEAT"); do
      for t in $targets; do runs[$t]+=" $(tps "$t" "$mode" "$c" "$DURATION")"; done
    done
    # shellcheck disable=SC2086
    d=$(median ${runs[direct]}); b=$(median ${runs[pgbouncer]}); v=$(median ${runs[pgveil]})
    line=$(printf "%-9s %7s %12.0f %12.0f %12.0f %10s %10s %10s" "$mode" "$c" "$d" "$b" "$v" \
      "$(ratio "$b" "$d")" "$(ratio "$v" "$d")" "$(ratio "$v" "$b")")
    if [ -n "$BASELINE" ]; then
      # shellcheck disable=SC2086
      o=$(median ${runs[base]})
      line+=$(printf " %12.0f %10s" "$o" "$(ratio "$v" "$o")")
    fi
    echo "$line" | tee -a "$report"
    unset runs
  done
done

# ---------------------------------------------------------------- 1M rows through psql
rows_time() { # target -> seconds (median of ROWS_RUNS)
  local t=$1 times=()
  for _ in $(seq "$ROWS_RUNS"); do
    local s e
    s=$(date +%s.%N)
    PGPASSWORD=$(target_pw "$t") PGSSLMODE=disable psql -X -q -h 127.0.0.1 -p "$(target_port "$t")" \
      -U "$(target_user "$t")" -d bench -c "select aid,bid,abalance,filler from pgbench_accounts" > /dev/null
    e=$(date +%s.%N)
    times+=("$(awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f", e - s }')")
  done
  median "${times[@]}"
}

peak_file="$WORK/rss.peak"
echo 0 > "$peak_file"
sample_rss() {
  local peak=0 kb
  while kill -0 "$veil_java" 2>/dev/null; do
    kb=$(awk '/VmRSS/ { print $2 }' "/proc/$veil_java/status" 2>/dev/null || echo 0)
    [ "${kb:-0}" -gt "$peak" ] && peak=$kb && echo "$peak" > "$peak_file"
    sleep 0.05
  done
}

rss_before=$(awk '/VmRSS/ { print $2 }' "/proc/$veil_java/status")
sample_rss & sampler=$!
pids+=("$sampler")
rd=$(rows_time direct)
rb=$(rows_time pgbouncer)
rv=$(rows_time pgveil)
kill "$sampler" 2>/dev/null || true
ro=""
[ -z "$BASELINE" ] || ro=$(rows_time base)
peak_kb=$(cat "$peak_file")
{
  echo
  echo "1M rows (${SCALE}x100k pgbench_accounts) through psql, median of $ROWS_RUNS runs, seconds:"
  printf "  direct %s   pgbouncer %s (%sx)   pgveil %s (%sx direct, %sx pgbouncer)\n" "$rd" "$rb" "$(ratio "$rb" "$rd")" \
    "$rv" "$(ratio "$rv" "$rd")" "$(ratio "$rv" "$rb")"
  [ -z "$ro" ] || printf "  base %s (%sx direct); pgveil / base %s\n" "$ro" "$(ratio "$ro" "$rd")" "$(ratio "$rv" "$ro")"
  echo "pgveil RSS: $((rss_before / 1024)) MB before, peak $((peak_kb / 1024)) MB during the 1M-row runs"
  echo
  echo "report: $report"
} | tee -a "$report"
