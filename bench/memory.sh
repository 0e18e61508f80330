#!/usr/bin/env bash
# Large statements arriving together (issue 12, limits.message_memory): SESSIONS psql sessions each send an INSERT
# of an MB-sized string literal at the same moment, through pgveil with its default JVM options, ROUNDS times;
# then each sends a small statement. Run once with limits.message_memory_wait 10s (the default: a message that
# does not fit waits for room) and once with 0 (refused at once, 53200). Prints per round how many ran, how many
# were refused for memory, how many sessions went on, and the round's wall time; and pgveil's RSS at the end.
# Also directly against PostgreSQL, for the round time. For information: there is no ratio target.
#
#   bench/memory.sh                  # SESSIONS=4 MB=60 ROUNDS=3: about two minutes
#   MB=30 SESSIONS=8 bench/memory.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SESSIONS="${SESSIONS:-4}"
MB="${MB:-60}"
ROUNDS="${ROUNDS:-3}"
report="$results/memory-$(date +%Y%m%d-%H%M%S).txt"

bench_setup
psql_admin -d bench -c "CREATE TABLE public.memory_items (t text); GRANT ALL ON public.memory_items TO $LOGIN" >/dev/null

big="$WORK/big.sql"
{
  printf "INSERT INTO memory_items VALUES ('"
  head -c $((MB * 1024 * 1024)) /dev/zero | tr '\0' 'a'
  printf "');\n"
} > "$big"

# round target port: SESSIONS sessions at once; prints "ran refused went_on seconds"
round() {
  local port=$2 user pw t0 t1 i
  user=$(target_user "$1") pw=$(target_pw "$1")
  local jobs=()
  t0=$(date +%s.%N)
  for i in $(seq "$SESSIONS"); do
    PGPASSWORD=$pw timeout 300 psql -X -At -h 127.0.0.1 -p "$port" -U "$user" -d bench \
      -f "$big" -c "SELECT 'after'" > "$WORK/out-$i.log" 2>&1 &
    jobs+=($!)
  done
  wait "${jobs[@]}" || true
  t1=$(date +%s.%N)
  local ran refused after
  ran=$(grep -l '^INSERT 0 1' "$WORK"/out-*.log | wc -l)
  refused=$(grep -l 'no memory free' "$WORK"/out-*.log | wc -l)
  after=$(grep -l '^after$' "$WORK"/out-*.log | wc -l)
  echo "$ran $refused $after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
  rm -f "$WORK"/out-*.log
  psql_admin -d bench -c "TRUNCATE memory_items" >/dev/null
}

{
  echo "pgveil large-statement memory benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores"
  echo "$SESSIONS sessions at once, each an INSERT of a $MB MB literal, $ROUNDS rounds; pgveil with bin/pgveil's JVM options"
  echo
  printf "%-28s %6s %5s %8s %8s %8s\n" target round ran refused went_on seconds
} | tee "$report"

for r in $(seq "$ROUNDS"); do
  read -r ran refused after secs <<< "$(round direct "$(target_port direct)")"
  printf "%-28s %6s %5s %8s %8s %8s\n" "direct" "$r" "$ran" "$refused" "$after" "$secs" | tee -a "$report"
done
port=$(target_port policy)
for wait in 10s 0; do
  port=$((port + 1))
  bench_start_pgveil "auth:
  static_users:
    - { name: $CLIENT, password: \${env:PGVEIL_STATIC_PASSWORD} }
limits: { message_memory_wait: $wait }" "wait$wait" "$port"
  grep -o 'limits.message_memory [0-9]* MB' "$WORK/pgveil-wait$wait.log" | tee -a "$report"
  for r in $(seq "$ROUNDS"); do
    read -r ran refused after secs <<< "$(round policy "$port")"
    printf "%-28s %6s %5s %8s %8s %8s\n" "pgveil, wait $wait" "$r" "$ran" "$refused" "$after" "$secs" | tee -a "$report"
  done
  echo "pgveil RSS after the rounds: $(( $(ps -o rss= -p "$pgveil_java") / 1024 )) MB" | tee -a "$report"
  kill "$pgveil_pid" 2>/dev/null || true
  wait "$pgveil_pid" 2>/dev/null || true
done
echo "report: $report"
