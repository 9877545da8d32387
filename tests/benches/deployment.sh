#!/usr/bin/env bash
# One core + one edge against two cores + two edges, on one PostgreSQL and one Redis,
# with the release binary: GET one customer through the edges with wrk at the same total
# concurrency, and the CPU each process used. Figures, not a pass/fail test.
#
#   cargo build --release -p lastmile
#   LASTMILE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
#     bash tests/benches/deployment.sh
#
# Environment: LASTMILE_BIN (default $CARGO_TARGET_DIR or target, /release/lastmile),
# LASTMILE_TEST_REDIS_URL (redis://127.0.0.1:6379), BENCH_SECONDS (10), BENCH_CONNECTIONS (32).
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "deployment: $*" >&2; exit 1; }
BIN="${LASTMILE_BIN:-${CARGO_TARGET_DIR:-target}/release/lastmile}"
[ -x "$BIN" ] || fail "no release binary at $BIN (cargo build --release -p lastmile)"
command -v wrk >/dev/null || fail "wrk is needed (apt-get install -y wrk)"
PG="${LASTMILE_TEST_POSTGRES_URL:?set LASTMILE_TEST_POSTGRES_URL}"
REDIS="${LASTMILE_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
SECONDS_EACH="${BENCH_SECONDS:-10}"
CONNECTIONS="${BENCH_CONNECTIONS:-32}"
KEY="lm_deployment_bench_$(date +%s%N)"
HZ=$(getconf CLK_TCK)
PIDS=()
cleanup() { for pid in "${PIDS[@]:-}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() {
  local cores=$1 edges=$2
  local db="lastmile_deploy_$(date +%s%N)"
  psql "$PG" -qtAc "CREATE DATABASE $db" >/dev/null
  local url="${PG%/*}/$db" prefix="lmdeploy$(date +%s%N)"
  local core_urls=() edge_urls=() procs=() names=()
  for n in $(seq 1 "$cores"); do
    local port; port=$(free_port)
    RUST_LOG=warn "$BIN" core --database-url "$url" --grpc-addr "127.0.0.1:$port" \
      --bootstrap-api-key "$KEY" --redis-url "$REDIS" --redis-prefix "$prefix" >/dev/null 2>&1 &
    PIDS+=($!); procs+=($!); names+=("core-$n"); core_urls+=("http://127.0.0.1:$port")
    sleep 1
  done
  for n in $(seq 1 "$edges"); do
    local port; port=$(free_port)
    local core="${core_urls[$(( (n - 1) % cores ))]}"
    RUST_LOG=warn "$BIN" edge --core-url "$core" --http-addr "127.0.0.1:$port" \
      --rate-limit-per-minute 1000000000 --redis-url "$REDIS" --redis-prefix "$prefix" >/dev/null 2>&1 &
    PIDS+=($!); procs+=($!); names+=("edge-$n"); edge_urls+=("http://127.0.0.1:$port")
  done
  for edge in "${edge_urls[@]}"; do
    for _ in $(seq 1 100); do curl -fsS "$edge/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  done
  curl -fsS -X POST "${edge_urls[0]}/api/v1/customers" -H "X-API-Key: $KEY" -H 'Content-Type: application/json' \
    -d '{"first_name":"Bench","password":"Str0ng!pass","phone":"+254700999000"}' >/dev/null
  # Warm-up, then the measured run.
  for edge in "${edge_urls[@]}"; do
    wrk -t1 -c4 -d2s -H "X-API-Key: $KEY" "$edge/api/v1/customers/1" >/dev/null
  done
  local before=() total=0
  for pid in "${procs[@]}"; do before+=("$(cpu "$pid")"); done
  local per_edge=$(( CONNECTIONS / edges )) outs=()
  for edge in "${edge_urls[@]}"; do
    local out; out=$(mktemp); outs+=("$out")
    wrk -t1 -c"$per_edge" -d"${SECONDS_EACH}s" -H "X-API-Key: $KEY" "$edge/api/v1/customers/1" >"$out" &
  done
  wait $(jobs -p | tail -n "$edges") 2>/dev/null || true
  sleep 0.5
  for out in "${outs[@]}"; do
    local rps; rps=$(awk '/Requests\/sec/ {print $2}' "$out"); total=$(python3 -c "print($total + ${rps:-0})")
  done
  printf '%s core(s) + %s edge(s): %.0f req/s at %s connections; CPU s used:' "$cores" "$edges" "$total" "$CONNECTIONS"
  for i in "${!procs[@]}"; do
    local used; used=$(python3 -c "print(($(cpu "${procs[$i]}") - ${before[$i]}) / $HZ)")
    printf ' %s %.1f' "${names[$i]}" "$used"
  done
  echo
  for pid in "${procs[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 1
  psql "$PG" -qtAc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
}

echo "GET /api/v1/customers/1 for ${SECONDS_EACH} s, wrk on the same machine; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
run 1 1
run 2 2
