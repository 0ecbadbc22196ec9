#!/usr/bin/env bash
# A/B of two jwtd binaries on one endpoint, alternating rounds on one fresh SQLite database, so
# that the machine's drift hits both alike. Prints req/s per round (wrk, loopback).
#
#   bench/ab.sh OLD_JWTD NEW_JWTD          # ROUNDS=3 DURATION=8 CONNECTIONS=32 PORT=18181
#
# The endpoint is GET /api/auth/check (forward-auth: token checks and the user lookup) with an
# HS256 access token; each round starts the binary, warms up 3 s, then measures.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 OLD_JWTD NEW_JWTD" >&2; exit 2; }
OLD=$(realpath "$1"); NEW=$(realpath "$2")
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-8} CONNECTIONS=${CONNECTIONS:-32} PORT=${PORT:-18181}
WORK=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

export JWTD_DATABASE_URL="sqlite://$WORK/jwtd.db" JWTD_DATA_DIR="$WORK"
export JWTD_SIGNING_KEY=ab-only-secret-0123456789abcdefghijklmnopqrstuvwxyz
export JWTD_LISTEN="127.0.0.1:$PORT" JWTD_ACCESS_TOKEN_LIFETIME=1h
export JWTD_LOGIN_RATE_PER_ADDRESS=off JWTD_LOGIN_RATE_PER_USERNAME=off
BASE="http://127.0.0.1:$PORT"
"$OLD" migrate >/dev/null
echo benchmark-password | "$OLD" user create alice --password-stdin >/dev/null

for round in $(seq "$ROUNDS"); do
  for side in old new; do
    binary=$OLD; [ "$side" = new ] && binary=$NEW
    "$binary" serve 2>/dev/null & PID=$!
    for _ in $(seq 200); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.05; done
    access=$(curl -sf -H 'content-type: application/json' \
      -d '{"username":"alice","password":"benchmark-password"}' "$BASE/api/token/" |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["access"])')
    wrk -t1 -c"$CONNECTIONS" -d3s -H "Authorization: Bearer $access" "$BASE/api/auth/check" >/dev/null
    result=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -H "Authorization: Bearer $access" \
      "$BASE/api/auth/check" | awk '/Requests\/sec/ {r=$2} /Non-2xx/ {e=$NF} END {print r, "req/s", (e ? e " non-2xx" : "")}')
    echo "round $round $side $result"
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
  done
done
