# Shared set-up for pgveil's benchmarks: a throw-away PostgreSQL cluster, PgBouncer (session mode) and pgveil,
# side by side on loopback. Source it; call bench_setup, then bench_start_pgbouncer / bench_start_pgveil.
# shellcheck shell=bash

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_PORT="${PG_PORT:-55432}"
BOUNCER_PORT="${BOUNCER_PORT:-55433}"
PGVEIL_PORT="${PGVEIL_PORT:-55434}"
PGVEIL_THREADS="${PGVEIL_THREADS:-0}"          # listen.threads; 0 = pgveil's default
PGVEIL_TRANSPORT="${PGVEIL_TRANSPORT:-auto}"   # listen.transport
SCALE="${SCALE:-10}"
PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
LOGIN=bench_login
LOGIN_PW=bench-login-pw
CLIENT=bench
CLIENT_PW=bench-pw
WORK="$(mktemp -d /tmp/pgveil-bench.XXXXXX)"
results="$here/bench/results"
mkdir -p "$results"
pids=()

need() { command -v "$1" >/dev/null 2>&1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
chown_pg() { if [ "$(id -u)" = 0 ]; then chown -R postgres:postgres "$@"; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
median() { printf "%s\n" "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

bench_cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  [ -f "$WORK/pgbouncer.pid" ] && kill "$(cat "$WORK/pgbouncer.pid")" 2>/dev/null || true
  as_pg "$PG_BIN/pg_ctl" -D "$WORK/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}

psql_admin() { psql -X -q -h "$WORK/sock" -p "$PG_PORT" -U postgres "$@"; }

# A PostgreSQL cluster with pgveil's login role, a database it owns, and pgbench tables at $SCALE.
bench_setup() {
  trap bench_cleanup EXIT
  if ! need pgbouncer || ! need pgbench || ! need psql; then
    echo "installing pgbouncer and postgresql-client with apt-get" >&2
    apt-get update -qq && apt-get install -y -qq pgbouncer postgresql-client >/dev/null
  fi
  [ -x "$PG_BIN/initdb" ] || { echo "no PostgreSQL server binaries found (set PG_BIN)"; exit 1; }
  if [ ! -f "$here/proxy-core/target/pgveil.jar" ]; then
    (cd "$here" && mvn -q -DskipTests package)
  fi
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
  psql_admin -c "create role $LOGIN login password '$LOGIN_PW'" -c "create database bench owner $LOGIN"
  PGPASSWORD=$LOGIN_PW pgbench -i -q -s "$SCALE" -h 127.0.0.1 -p "$PG_PORT" -U "$LOGIN" bench 2>&1 | tail -1
}

# PgBouncer in session mode; clients log in as $CLIENT with SCRAM-SHA-256, against the verifier PostgreSQL
# itself stores (so PgBouncer does no key derivation per login), and PgBouncer logs in to the server as the same
# role with those SCRAM keys (its "pass-through"), which is how it is deployed with auth_query.
bench_start_pgbouncer() {
  psql_admin -c "set password_encryption = 'scram-sha-256'" -c "create role $CLIENT login password '$CLIENT_PW'" \
    -d bench -c "grant select on all tables in schema public to $CLIENT"
  local verifier
  verifier=$(psql_admin -At -c "select rolpassword from pg_authid where rolname = '$CLIENT'")
  echo "\"$CLIENT\" \"$verifier\"" > "$WORK/userlist.txt"
  cat > "$WORK/pgbouncer.ini" <<EOF
[databases]
bench = host=127.0.0.1 port=$PG_PORT dbname=bench
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $WORK/userlist.txt
pool_mode = session
max_client_conn = 1000
default_pool_size = 100
log_connections = 0
log_disconnections = 0
logfile = $WORK/pgbouncer.log
pidfile = $WORK/pgbouncer.pid
EOF
  chown_pg "$WORK"
  as_pg pgbouncer -d "$WORK/pgbouncer.ini"
  sleep 0.5
}

# pgveil with the YAML in $1 (appended to listen/upstream sections written here); waits until it listens.
# $2 (optional) names a second instance: its files are pgveil-$2.*, its port ${3:-PGVEIL_PORT}; $4 (optional) is
# the checkout whose build runs (BASELINE: an earlier commit, for before/after figures in one run).
bench_start_pgveil() {
  local name=${2:+-$2} port=${3:-$PGVEIL_PORT} home=${4:-$here}
  cat > "$WORK/pgveil$name.yaml" <<EOF
listen:   { host: 127.0.0.1, port: $port, threads: $PGVEIL_THREADS, transport: $PGVEIL_TRANSPORT }
upstream: { host: 127.0.0.1, port: $PG_PORT, user: $LOGIN, password: \${env:PGVEIL_UPSTREAM_PASSWORD}, tls: disable }
$1
EOF
  PGVEIL_UPSTREAM_PASSWORD=$LOGIN_PW PGVEIL_STATIC_PASSWORD=$CLIENT_PW \
    "$home/bin/pgveil" run --config "$WORK/pgveil$name.yaml" 2> "$WORK/pgveil$name.log" &
  pgveil_pid=$!
  pids+=("$pgveil_pid")
  for _ in $(seq 100); do grep -q "listening on" "$WORK/pgveil$name.log" && break; sleep 0.1; done
  grep -q "listening on" "$WORK/pgveil$name.log" || { cat "$WORK/pgveil$name.log"; exit 1; }
  pgveil_java=$(pgrep -P "$pgveil_pid" java || echo "$pgveil_pid")
}

# BASELINE=/path/to/checkout (built) adds the same pgveil targets from that build: "before" beside "after".
BASELINE="${BASELINE:-}"
if [ -n "$BASELINE" ] && [ ! -f "$BASELINE/proxy-core/target/pgveil.jar" ]; then
  echo "BASELINE=$BASELINE has no built pgveil (run mvn -q -DskipTests package there)" >&2; exit 1
fi
target_port() { case "$1" in direct) echo "$PG_PORT";; pgbouncer) echo "$BOUNCER_PORT";; pgveil) echo "$PGVEIL_PORT";;
  policy) echo "$((PGVEIL_PORT + 1))";; base) echo "$((PGVEIL_PORT + 2))";; base-policy) echo "$((PGVEIL_PORT + 3))";;
  masked) echo "$((PGVEIL_PORT + 4))";; elsewhere) echo "$((PGVEIL_PORT + 5))";; esac; }
target_user() { case "$1" in direct) echo "$LOGIN";; *) echo "$CLIENT";; esac; }
target_pw() { case "$1" in direct) echo "$LOGIN_PW";; pgveil|policy|base|base-policy|masked|elsewhere) echo "${PGVEIL_CLIENT_PASSWORD:-$CLIENT_PW}";; *) echo "$CLIENT_PW";; esac; }

# tps target mode clients seconds [extra pgbench options...]
tps() {
  local t=$1 mode=$2 c=$3 secs=$4 out
  shift 4
  out=$(PGPASSWORD=$(target_pw "$t") PGSSLMODE=disable pgbench -n -S -M "$mode" -c "$c" -j 2 -T "$secs" "$@" \
        -h 127.0.0.1 -p "$(target_port "$t")" -U "$(target_user "$t")" bench 2>&1) || { echo "$out" >&2; echo 0; return; }
  echo "$out" | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p; s/^tps = \([0-9.]*\) (including reconnection times)/\1/p' | head -1
}

# CPU time (user + system, clock ticks) process $1 and its threads have used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# tps_cpu target mode clients seconds pid: prints TPS and the CPU microseconds process pid (the proxy) spent
# per transaction during the run. CPU per transaction is what a proxy costs, and varies far less than TPS on a
# busy machine.
tps_cpu() {
  local pid=$5 before after t
  before=$(cpu_ticks "$pid")
  t=$(tps "$1" "$2" "$3" "$4")
  after=$(cpu_ticks "$pid")
  awk -v t="$t" -v d="$(( after - before ))" -v s="$4" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%s %.1f\n", t, (t > 0 ? d * 1e6 / hz / (t * s) : 0) }'
}

bench_header() {
  echo "$1, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB"
  echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}'), $(pgbouncer --version | head -1), pgbench scale $SCALE"
  echo "pgveil: $(cat "$WORK"/pgveil*.log 2>/dev/null | grep -o '([a-z_]* transport, [0-9]* event loops)' | head -1)"
  [ -z "$BASELINE" ] || echo "baseline (\"base\"): $(git -C "$BASELINE" log -1 --format='%h %s' | cut -c1-100)"
}
