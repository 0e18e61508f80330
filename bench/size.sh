#!/usr/bin/env bash
# Statements of any size (issue 12): a 10,000-row INSERT ... VALUES and a SELECT with an IN list of 10,000
# constants (and with LITERAL_MB=5 an INSERT of a 5 MB string literal, after them), sent by psql directly to PostgreSQL and through pgveil with a policy (every statement analysed and
# decided), interleaved; prints the statements' own time (psql's \timing, median of the runs) and the ratio.
# Target: pgveil <= 1.2x direct for the first two (the literal is for information).
#
#   bench/size.sh              # REPEAT=9 after WARMUP=20 rounds: about a minute
#   ROWS=100000 bench/size.sh
#   LITERAL_MB=5 bench/size.sh
#   SHAPES=1 bench/size.sh     # also the other shapes bulk work sends (for information): rows with E'' escapes,
#                              # dollar quotes, NULLs and negative numbers; a composite-key IN list of 1,000 rows; an
#                              # OR of 2,000 comparisons; a script of $ROWS INSERTs in one Query (psql's \;); rows
#                              # stamped with now(); an OR of 2,000 ILIKE patterns; rows passing their own strings
#                              # to lower(); rows of prose holding the identity guard's words; an ORDER BY CASE of
#                              # 2,000 arms (Rails' in_order_of); 2,000 lookups joined by UNION; rows of typed
#                              # literals (text 'name n')
#   ONLY="script typed" SHAPES=1 bench/size.sh   # the two targets and only these of the other shapes
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REPEAT="${REPEAT:-9}"
WARMUP="${WARMUP:-20}"   # rounds before timing: the JIT compiles the paths a long-running pgveil has compiled
ROWS="${ROWS:-10000}"
LITERAL_MB="${LITERAL_MB:-0}"   # > 0: also an INSERT of a string of this many MB, timed after the others
SHAPES="${SHAPES:-0}"
report="$results/size-$(date +%Y%m%d-%H%M%S).txt"

bench_setup
psql_admin -d bench -c "CREATE TABLE public.size_items (id int, name text); GRANT ALL ON public.size_items TO $LOGIN" >/dev/null
bench_start_pgveil "auth:
  static_users:
    - { name: $CLIENT, password: \${env:PGVEIL_STATIC_PASSWORD} }
policy:
  rules:
    - { name: bulk, match: { subject: $CLIENT }, allow: [read, write], on: [\"public.*\"] }" policy "$(target_port policy)"

insert="$WORK/insert.sql"
select="$WORK/select.sql"
# Each file starts with a small statement, so that what is timed is the statement, not the session's first steps.
{
  echo '\timing on'
  echo 'SELECT 1;'
  printf 'INSERT INTO size_items (id, name) VALUES '
  awk -v n="$ROWS" 'BEGIN { for (i = 0; i < n; i++) printf "%s(%d, %cname %d%c)", (i ? ", " : ""), i, 39, i, 39; print ";" }'
} > "$insert"
{
  echo '\timing on'
  echo 'SELECT 1;'
  printf 'SELECT count(*) FROM size_items WHERE id IN ('
  awk -v n="$ROWS" 'BEGIN { for (i = 0; i < n; i++) printf "%s%d", (i ? ", " : ""), i; print ");" }'
} > "$select"

# file name awk-program: a file with \timing, a small first statement, and the statement the awk program prints
shape() {
  { echo '\timing on'; echo 'SELECT 1;'; awk -v n="$ROWS" -v q="'" "BEGIN { $2 }"; } > "$WORK/$1.sql"
}
extra=()
if [ "$SHAPES" = 1 ]; then
  shape escapes 'printf "INSERT INTO size_items (id, name) VALUES "; for (i = 0; i < n; i++) printf "%s(%d, E%sit\\%ss %d\\n%s)", (i ? ", " : ""), i, q, q, i, q; print ";"'
  shape dollar 'printf "INSERT INTO size_items (id, name) VALUES "; for (i = 0; i < n; i++) printf "%s(%d, $$it%ss %d$$)", (i ? ", " : ""), i, q, i; print ";"'
  shape nulls 'printf "INSERT INTO size_items (id, name) VALUES "; for (i = 0; i < n; i++) printf "%s(-%d, NULL)", (i ? ", " : ""), i; print ";"'
  shape tuples 'printf "SELECT count(*) FROM size_items WHERE (id, name) IN ("; for (i = 0; i < 1000; i++) printf "%s(%d, %sname %d%s)", (i ? ", " : ""), i, q, i, q; print ");"'
  shape orchain 'printf "SELECT count(*) FROM size_items WHERE id = 0"; for (i = 1; i < 2000; i++) printf " OR id = %d", i; print ";"'
  shape script 'for (i = 0; i < n; i++) printf "INSERT INTO size_items (id, name) VALUES (%d, %sname %d%s) %s\n", i, q, i, q, (i < n - 1 ? "\\;" : ";")'
  shape stamped 'printf "INSERT INTO size_items (id, name) VALUES "; for (i = 0; i < n; i++) printf "%s(%d, now()::text)", (i ? ", " : ""), i; print ";"'
  shape ilike 'printf "SELECT count(*) FROM size_items WHERE name ILIKE %snothing%s", q, q; for (i = 1; i < 2000; i++) printf " OR name ILIKE %sname %d%%%s", q, i, q; print ";"'
  shape calls 'printf "INSERT INTO size_items (id, name) VALUES "; for (i = 0; i < n; i++) printf "%s(%d, lower(%sNAME %d%s))", (i ? ", " : ""), i, q, i, q; print ";"'
  shape prose 'printf "INSERT INTO size_items (id, name) VALUES "; for (i = 0; i < n; i++) printf "%s(%d, %sReset all filters %d: the reader role%s)", (i ? ", " : ""), i, q, i, q; print ";"'
  shape inorder 'printf "SELECT id FROM size_items WHERE id < 2000 ORDER BY CASE id"; for (i = 0; i < 2000; i++) printf " WHEN %d THEN %d", 1999 - i, i; print " END LIMIT 1;"'
  shape typed 'printf "INSERT INTO size_items (id, name) VALUES "; for (i = 0; i < n; i++) printf "%s(%d, text %sname %d%s)", (i ? ", " : ""), i, q, i, q; print ";"'
  shape lookups 'printf "SELECT count(*) FROM (SELECT id, name FROM size_items WHERE id = 0"; for (i = 1; i < 2000; i++) printf " UNION SELECT id, name FROM size_items WHERE id = %d", i; print ") u;"'
  # ONLY="script typed" SHAPES=1 bench/size.sh: just these shapes (after the two targets)
  read -r -a extra <<< "${ONLY:-escapes dollar nulls tuples orchain script stamped ilike calls prose inorder lookups typed}"
fi

literal="$WORK/literal.sql"
{
  echo '\timing on'
  echo 'SELECT 1;'
  printf "INSERT INTO size_items (id, name) VALUES (1, '"
  head -c $((LITERAL_MB * 1024 * 1024)) /dev/zero | tr '\0' x
  echo "');"
} > "$literal"

# run target file: the statement's time in ms, as psql's \timing reports it
run() {
  PGPASSWORD=$(target_pw "$1") PGSSLMODE=disable psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(target_port "$1")" \
    -U "$(target_user "$1")" -d bench -f "$2" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
}

{
  echo "pgveil statement-size benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores"
  echo "$ROWS-row INSERT ... VALUES and an IN list of $ROWS constants (literal: $LITERAL_MB MB); ms per statement (psql \\timing), median of $REPEAT interleaved runs after $WARMUP warm-up rounds"
  echo
} | tee "$report"

declare -A times=()
for _ in $(seq "$WARMUP"); do # warm-up rounds (the JIT, the analysis cache), not counted
  for t in direct policy; do
    psql_admin -d bench -c "TRUNCATE public.size_items" >/dev/null
    run "$t" "$insert" >/dev/null
    run "$t" "$select" >/dev/null
  done
done
for _ in $(seq "$REPEAT"); do
  for t in direct policy; do
    psql_admin -d bench -c "TRUNCATE public.size_items" >/dev/null
    times[$t-insert]+="$(run "$t" "$insert") "
    times[$t-select]+="$(run "$t" "$select") "
  done
done
# The other shapes apart, after the others (what they write would slow whichever ran next), each shape's two
# targets in turn, the order swapped every round.
if [ "${#extra[@]}" -gt 0 ]; then
  for round in $(seq $((WARMUP / 4 + REPEAT))); do
    order="direct policy"
    [ $((round % 2)) = 0 ] && order="policy direct"
    for x in "${extra[@]}"; do
      for t in $order; do
        psql_admin -d bench -c "TRUNCATE public.size_items" >/dev/null
        ms="$(run "$t" "$WORK/$x.sql")"
        [ "$round" -gt $((WARMUP / 4)) ] && times[$t-$x]+="$ms "
      done
    done
  done
fi
# The literal apart, after the others: megabytes written between them would slow whichever ran next.
if [ "$LITERAL_MB" -gt 0 ]; then
  for round in $(seq $((WARMUP / 4 + REPEAT))); do
    for t in direct policy; do
      psql_admin -d bench -c "TRUNCATE public.size_items; CHECKPOINT" >/dev/null
      ms="$(run "$t" "$literal")"
      [ "$round" -gt $((WARMUP / 4)) ] && times[$t-literal]+="$ms "
    done
  done
fi
printf "%-32s %10s %10s %8s\n" statement direct pgveil ratio | tee -a "$report"
for s in insert select "${extra[@]}" $([ "$LITERAL_MB" -gt 0 ] && echo literal); do
  d=$(median ${times[direct-$s]})
  p=$(median ${times[policy-$s]})
  case $s in
    insert) label="INSERT of $ROWS rows" ;;
    select) label="IN list of $ROWS constants" ;;
    escapes) label="$ROWS rows, E'' escapes" ;;
    dollar) label="$ROWS rows, dollar quotes" ;;
    nulls) label="$ROWS rows, NULL, negative" ;;
    tuples) label="(a, b) IN 1,000 rows" ;;
    orchain) label="OR of 2,000 comparisons" ;;
    script) label="$ROWS INSERTs in one Query" ;;
    stamped) label="$ROWS rows, now() in each" ;;
    calls) label="$ROWS rows, lower('...') in each" ;;
    prose) label="$ROWS rows of prose" ;;
    inorder) label="ORDER BY CASE of 2,000 arms" ;;
    lookups) label="UNION of 2,000 lookups" ;;
    typed) label="$ROWS rows of typed literals" ;;
    ilike) label="OR of 2,000 ILIKE patterns" ;;
    *) label="INSERT of a $LITERAL_MB MB literal" ;;
  esac
  printf "%-32s %10s %10s %8s\n" "$label" "$d" "$p" "$(ratio "$p" "$d")" | tee -a "$report"
done
echo "report: $report"
