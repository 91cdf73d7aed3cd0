#!/usr/bin/env bash
# Measures HTTP ingest end to end, against this machine's ceiling, in one run:
#   1. nginx answering a constant 200 (the baseline), with the same load generator;
#   2. switchboard on SQLite;  3. switchboard on PostgreSQL (if reachable).
# Usage: scripts/bench-ingest.sh [MESSAGES] [CONNECTIONS]
# Needs: nginx (apt-get install nginx-light), PostgreSQL at 127.0.0.1:5432 for step 3.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
C=${2:-64}
BIN=target/release/switchboard
cargo build --release -q -p switchboard
work=$(mktemp -d)
cleanup() { [ -n "${SB_PID:-}" ] && kill "$SB_PID" 2>/dev/null || true; [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr)"
echo "== baseline: nginx, constant 200"
cat > "$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path $work/body;
  server { listen 127.0.0.1:28081; location / { client_max_body_size 2m; return 200 '{"status":"accepted"}'; } } }
CONF
nginx -c "$work/nginx.conf"
sleep 0.5
$BIN bench ingest --token unused --messages "$N" --connections "$C" --baseline http://127.0.0.1:28081/hook
kill "$(cat "$work/nginx.pid")"; rm -f "$work/nginx.pid"

run_switchboard() { # $1 label, rest: extra serve flags
  local label=$1; shift
  echo "== switchboard on $label"
  $BIN serve --data-dir "$work/data-$label" --listen 127.0.0.1:28080 "$@" > "$work/serve-$label.log" 2>&1 &
  SB_PID=$!
  for _ in $(seq 1 100); do curl -sf http://127.0.0.1:28080/healthz >/dev/null 2>&1 && break; sleep 0.1; done
  local token
  token=$($BIN token create --data-dir "$work/data-$label" "$@" --name bench --role admin)
  $BIN bench ingest --url http://127.0.0.1:28080 --token "$token" --messages "$N" --connections "$C"
  kill "$SB_PID"; wait "$SB_PID" 2>/dev/null || true; SB_PID=
}

run_switchboard sqlite
if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  db=sb_bench_$$
  psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db" postgres
  run_switchboard postgres --database "postgres://postgres@127.0.0.1:5432/$db"
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE $db WITH (FORCE)" postgres
else
  echo "== PostgreSQL not reachable at 127.0.0.1:5432: skipped"
fi
