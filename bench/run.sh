#!/usr/bin/env bash
# Throughput and streaming benchmark: direct PostgreSQL, PgBouncer (session mode) and pgveil, side by side,
# in one run, on this machine. Prints TPS per mode and client count with ratios, the wall time of a
# 1M-row result through each, and pgveil's peak RSS during it.
#
#   bench/run.sh                 # full run (about 5 minutes)
#   DURATION=5 CLIENTS="1 8" bench/run.sh   # quicker
#   REPEAT=1 bench/run.sh                    # one run per cell
#
# Needs: PostgreSQL server binaries (Debian's postgresql-15), psql, pgbench, pgbouncer (installed on demand
# with apt-get when missing), and a built pgveil (mvn -q -DskipTests package; done on demand).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION="${DURATION:-10}"
CLIENTS="${CLIENTS:-1 8 32}"
MODES="${MODES:-simple prepared}"
SCALE="${SCALE:-10}"
ROWS_RUNS="${ROWS_RUNS:-3}"
REPEAT="${REPEAT:-3}"          # TPS runs per cell, interleaved across targets; the median is reported
PG_PORT="${PG_PORT:-55432}"
BOUNCER_PORT="${BOUNCER_PORT:-55433}"
PGVEIL_PORT="${PGVEIL_PORT:-55434}"
PGVEIL_THREADS="${PGVEIL_THREADS:-0}"          # listen.threads; 0 = pgveil's default
PGVEIL_TRANSPORT="${PGVEIL_TRANSPORT:-auto}"   # listen.transport
PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
WORK="$(mktemp -d /tmp/pgveil-bench.XXXXXX)"
LOGIN=bench_login
LOGIN_PW=bench-login-pw
CLIENT=bench
CLIENT_PW=bench-pw
results="$here/bench/results"
mkdir -p "$results"
report="$results/run-$(date +%Y%m%d-%H%M%S).txt"

need() { command -v "$1" >/dev/null 2>&1; }
if ! need pgbouncer || ! need pgbench || ! need psql; then
  echo "installing pgbouncer and postgresql-client with apt-get" >&2
  apt-get update -qq && apt-get install -y -qq pgbouncer postgresql-client >/dev/null
fi
[ -x "$PG_BIN/initdb" ] || { echo "no PostgreSQL server binaries found (set PG_BIN)"; exit 1; }
if [ ! -f "$here/proxy-core/target/pgveil.jar" ]; then
  (cd "$here" && mvn -q -DskipTests package)
fi

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
chown_pg() { if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$@"; fi; }

pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  [ -f "$WORK/pgbouncer.pid" ] && kill "$(cat "$WORK/pgbouncer.pid")" 2>/dev/null || true
  as_pg "$PG_BIN/pg_ctl" -D "$WORK/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---------------------------------------------------------------- PostgreSQL
mkdir -p "$WORK/data" "$WORK/sock"
chown_pg "$WORK"
as_pg "$PG_BIN/initdb" -D "$WORK/data" -A trust -U postgres >/dev/null
cat >> "$WORK/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$WORK/sock'
max_connections = 200
shared_buffers = 512MB
password_encryption = 'scram-sha-256'
EOF
cat > "$WORK/data/pg_hba.conf" <<EOF
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
EOF
as_pg "$PG_BIN/pg_ctl" -D "$WORK/data" -l "$WORK/pg.log" -w start >/dev/null
psql -X -q -h "$WORK/sock" -p "$PG_PORT" -U postgres -c "create role $LOGIN login password '$LOGIN_PW'" \
  -c "create database bench owner $LOGIN"
PGPASSWORD=$LOGIN_PW pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p "$PG_PORT" -U "$LOGIN" bench 2>&1 | tail -1

# ---------------------------------------------------------------- PgBouncer (session mode)
cat > "$WORK/pgbouncer.ini" <<EOF
[databases]
bench = host=127.0.0.1 port=$PG_PORT dbname=bench user=$LOGIN password=$LOGIN_PW
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $WORK/userlist.txt
pool_mode = session
max_client_conn = 1000
default_pool_size = 100
logfile = $WORK/pgbouncer.log
pidfile = $WORK/pgbouncer.pid
EOF
echo "\"$CLIENT\" \"$CLIENT_PW\"" > "$WORK/userlist.txt"
chown_pg "$WORK"
as_pg pgbouncer -d "$WORK/pgbouncer.ini"
sleep 0.5

# ---------------------------------------------------------------- pgveil
cat > "$WORK/pgveil.yaml" <<EOF
listen:   { host: 127.0.0.1, port: $PGVEIL_PORT, threads: $PGVEIL_THREADS, transport: $PGVEIL_TRANSPORT }
upstream: { host: 127.0.0.1, port: $PG_PORT, user: $LOGIN, password: \${env:PGVEIL_UPSTREAM_PASSWORD}, tls: disable }
auth:
  static_users:
    - { name: $CLIENT, password: \${env:PGVEIL_STATIC_PASSWORD} }
EOF
PGVEIL_UPSTREAM_PASSWORD=$LOGIN_PW PGVEIL_STATIC_PASSWORD=$CLIENT_PW \
  "$here/bin/pgveil" run --config "$WORK/pgveil.yaml" 2> "$WORK/pgveil.log" &
pgveil_pid=$!
pids+=("$pgveil_pid")
for _ in $(seq 100); do grep -q "listening on" "$WORK/pgveil.log" && break; sleep 0.1; done
pgveil_java=$(pgrep -P "$pgveil_pid" java || echo "$pgveil_pid")

target_port() { case "$1" in direct) echo "$PG_PORT";; pgbouncer) echo "$BOUNCER_PORT";; pgveil) echo "$PGVEIL_PORT";; esac; }
target_user() { case "$1" in direct) echo "$LOGIN";; *) echo "$CLIENT";; esac; }
target_pw() { case "$1" in direct) echo "$LOGIN_PW";; *) echo "$CLIENT_PW";; esac; }

tps() { # target mode clients seconds
  local t=$1 out
  out=$(PGPASSWORD=$(target_pw "$t") PGSSLMODE=disable pgbench -n -S -M "$2" -c "$3" -j 2 -T "$4" \
        -h 127.0.0.1 -p "$(target_port "$t")" -U "$(target_user "$t")" bench 2>&1) || { echo "$out" >&2; echo 0; return; }
  echo "$out" | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
median() { printf "%s\n" "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

{
  echo "pgveil benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
  echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'), $(pgbouncer --version | head -1), pgbench scale $SCALE"
  echo "TPS: median of $REPEAT interleaved runs of $DURATION s per cell; pgveil: $(grep -o '([a-z_]* transport, [0-9]* event loops)' "$WORK/pgveil.log")"
  echo
} | tee "$report"

# Warm-up: the JIT compiles pgveil's hot path; PgBouncer and PostgreSQL get the same treatment.
for t in direct pgbouncer pgveil; do tps "$t" prepared 8 3 >/dev/null; tps "$t" simple 8 3 >/dev/null; done

printf "%-9s %7s %12s %12s %12s %10s %10s %10s\n" mode clients direct pgbouncer pgveil "bnc/dir" "veil/dir" "veil/bnc" | tee -a "$report"
for mode in $MODES; do
  for c in $CLIENTS; do
    ds=(); bs=(); vs=()
    for _ in $(seq "$REPEAT"); do
      ds+=("$(tps direct "$mode" "$c" "$DURATION")")
      bs+=("$(tps pgbouncer "$mode" "$c" "$DURATION")")
      vs+=("$(tps pgveil "$mode" "$c" "$DURATION")")
    done
    d=$(median "${ds[@]}"); b=$(median "${bs[@]}"); v=$(median "${vs[@]}")
    printf "%-9s %7s %12.0f %12.0f %12.0f %10s %10s %10s\n" "$mode" "$c" "$d" "$b" "$v" \
      "$(ratio "$b" "$d")" "$(ratio "$v" "$d")" "$(ratio "$v" "$b")" | tee -a "$report"
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
  printf "%s\n" "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

peak_file="$WORK/rss.peak"
echo 0 > "$peak_file"
sample_rss() {
  local peak=0 kb
  while kill -0 "$pgveil_java" 2>/dev/null; do
    kb=$(awk '/VmRSS/ { print $2 }' "/proc/$pgveil_java/status" 2>/dev/null || echo 0)
    [ "${kb:-0}" -gt "$peak" ] && peak=$kb && echo "$peak" > "$peak_file"
    sleep 0.05
  done
}

rss_before=$(awk '/VmRSS/ { print $2 }' "/proc/$pgveil_java/status")
sample_rss & sampler=$!
pids+=("$sampler")
rd=$(rows_time direct)
rb=$(rows_time pgbouncer)
rv=$(rows_time pgveil)
kill "$sampler" 2>/dev/null || true
peak_kb=$(cat "$peak_file")
{
  echo
  echo "1M rows (${SCALE}x100k pgbench_accounts) through psql, median of $ROWS_RUNS runs, seconds:"
  printf "  direct %s   pgbouncer %s (%sx)   pgveil %s (%sx direct, %sx pgbouncer)\n" "$rd" "$rb" "$(ratio "$rb" "$rd")" \
    "$rv" "$(ratio "$rv" "$rd")" "$(ratio "$rv" "$rb")"
  echo "pgveil RSS: $((rss_before / 1024)) MB before, peak $((peak_kb / 1024)) MB during the 1M-row runs"
  echo
  echo "report: $report"
} | tee -a "$report"
