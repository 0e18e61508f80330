#!/usr/bin/env bash
# Connection set-up benchmark: a new connection for every transaction (pgbench -C -S), through PgBouncer
# (session mode, SCRAM-SHA-256 clients) and through pgveil (an OIDC access token as the password, keys
# cached; identity mapped to a role with SET ROLE), with direct PostgreSQL (SCRAM) for reference.
#
#   bench/connections.sh                    # REPEAT=3, 10 s runs, 8 clients
#   CLIENTS="1 8" REPEAT=1 DURATION=5 bench/connections.sh
#   TOKEN_CACHE=0 bench/connections.sh      # verify the token's signature on every connection
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DURATION="${DURATION:-10}"
CLIENTS="${CLIENTS:-8}"
REPEAT="${REPEAT:-3}"
TOKEN_CACHE="${TOKEN_CACHE:-10000}"   # auth.oidc.token_cache_size: validated tokens remembered by hash
report="$results/connections-$(date +%Y%m%d-%H%M%S).txt"

bench_setup
bench_start_pgbouncer
psql_admin -c "create role bench_role nologin" -c "grant bench_role to $LOGIN" \
  -d bench -c "grant select on all tables in schema public to bench_role"

# A development issuer (loopback only) that knows the client "bench".
"$here/bin/pgveil" dev-issuer --client "$CLIENT:bench-client-secret:bench-agent:bench" > "$WORK/issuer.out" 2> "$WORK/issuer.log" &
pids+=("$!")
for _ in $(seq 100); do grep -q "^issuer=" "$WORK/issuer.out" && break; sleep 0.1; done
issuer=$(sed -n 's/^issuer=//p' "$WORK/issuer.out")

bench_start_pgveil "auth:
  oidc:
    allow_plaintext_on_loopback: true
    token_cache_size: $TOKEN_CACHE
    issuers:
      - { issuer: \"$issuer\", audience: pgveil }
roles:
  - { group: bench, role: bench_role }"

PGVEIL_CLIENT_PASSWORD=$(PGVEIL_CLIENT_SECRET=bench-client-secret "$here/bin/pgveil" token --issuer "$issuer" --client-id "$CLIENT")
export PGVEIL_CLIENT_PASSWORD

{
  bench_header "pgveil connection set-up benchmark"
  echo "pgbench -n -S -C -M simple -c <clients> -j 2 -T $DURATION: a new connection per transaction; median of $REPEAT interleaved runs"
  echo "pgveil: token as password (${#PGVEIL_CLIENT_PASSWORD} bytes, RS256, JWKS cached, token_cache_size $TOKEN_CACHE), SET ROLE bench_role per session"
  echo
} | tee "$report"

for t in direct pgbouncer pgveil; do tps "$t" simple 4 3 -C >/dev/null; done

rss_kb() { awk '/VmRSS/ { print $2 }' "/proc/$pgveil_java/status" 2>/dev/null || echo 0; }
rss_before=$(rss_kb)
peak_file="$WORK/rss.peak"
echo 0 > "$peak_file"
(peak=0; while kill -0 "$pgveil_java" 2>/dev/null; do kb=$(rss_kb); [ "${kb:-0}" -gt "$peak" ] && peak=$kb && echo "$peak" > "$peak_file"; sleep 0.2; done) &
pids+=("$!")

printf "%7s %14s %14s %14s %10s %10s\n" clients "direct conn/s" "pgbouncer" "pgveil" "veil/dir" "veil/bnc" | tee -a "$report"
for c in $CLIENTS; do
  ds=(); bs=(); vs=()
  for _ in $(seq "$REPEAT"); do
    ds+=("$(tps direct simple "$c" "$DURATION" -C)")
    bs+=("$(tps pgbouncer simple "$c" "$DURATION" -C)")
    vs+=("$(tps pgveil simple "$c" "$DURATION" -C)")
  done
  d=$(median "${ds[@]}"); b=$(median "${bs[@]}"); v=$(median "${vs[@]}")
  printf "%7s %14.0f %14.0f %14.0f %10s %10s\n" "$c" "$d" "$b" "$v" "$(ratio "$v" "$d")" "$(ratio "$v" "$b")" | tee -a "$report"
done
{
  echo "pgveil RSS: $((rss_before / 1024)) MB before the measured runs, peak $(($(cat "$peak_file") / 1024)) MB during them"
  echo "report: $report"
} | tee -a "$report"
