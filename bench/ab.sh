#!/usr/bin/env bash
# A/B of two jwtd binaries on one endpoint, alternating rounds, so that the machine's drift hits
# both alike. Prints per round requests/s (wrk, loopback) and the server's CPU time per request
# (user + system from /proc/PID/stat over the measured run), which other load on the machine
# moves much less than requests/s.
#
#   bench/ab.sh OLD_JWTD NEW_JWTD          # ROUNDS=3 DURATION=8 CONNECTIONS=32 PORT=18181
#   MODE=rotate bench/ab.sh OLD_JWTD NEW_JWTD
#
# MODE=check (default): GET /api/auth/check (forward-auth: token checks and the user lookup)
# with an HS256 access token, after a 3 s warm-up, on one fresh SQLite database.
# MODE=rotate: POST /api/token/refresh/ with rotation and blacklisting on, each refresh token
# sent once (bench/wrk/rotate.lua), on a fresh SQLite database per round and side; no warm-up.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 OLD_JWTD NEW_JWTD" >&2; exit 2; }
OLD=$(realpath "$1"); NEW=$(realpath "$2")
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-8} CONNECTIONS=${CONNECTIONS:-32} PORT=${PORT:-18181}
MODE=${MODE:-check}
case "$MODE" in check | rotate) ;; *) echo "MODE must be check or rotate" >&2; exit 2 ;; esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

export JWTD_SIGNING_KEY=ab-only-secret-0123456789abcdefghijklmnopqrstuvwxyz
export JWTD_LISTEN="127.0.0.1:$PORT" JWTD_ACCESS_TOKEN_LIFETIME=1h
export JWTD_LOGIN_RATE_PER_ADDRESS=off JWTD_LOGIN_RATE_PER_USERNAME=off
if [ "$MODE" = rotate ]; then
  export JWTD_ROTATE_REFRESH_TOKENS=true JWTD_BLACKLIST_AFTER_ROTATION=true
fi
BASE="http://127.0.0.1:$PORT"

# A fresh database in $WORK/DIR with the user alice.
fresh_db() { # BINARY DIR
  rm -rf "${WORK:?}/$2"; mkdir -p "$WORK/$2"
  export JWTD_DATABASE_URL="sqlite://$WORK/$2/jwtd.db" JWTD_DATA_DIR="$WORK/$2"
  "$1" migrate >/dev/null
  echo benchmark-password | "$1" user create alice --password-stdin >/dev/null
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

[ "$MODE" = check ] && fresh_db "$OLD" shared
for round in $(seq "$ROUNDS"); do
  for side in old new; do
    binary=$OLD; [ "$side" = new ] && binary=$NEW
    if [ "$MODE" = rotate ]; then
      fresh_db "$binary" "$side-$round"
      # One refresh token per connection plus spares, recorded as a login records them.
      for _ in $(seq $((CONNECTIONS * 2))); do
        "$binary" token issue alice |
          python3 -c 'import json, sys; print(json.load(sys.stdin)["refresh"])'
      done >"$WORK/tokens"
    fi
    "$binary" serve 2>/dev/null & PID=$!
    for _ in $(seq 200); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.05; done
    if [ "$MODE" = check ]; then
      access=$(curl -sf -H 'content-type: application/json' \
        -d '{"username":"alice","password":"benchmark-password"}' "$BASE/api/token/" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access"])')
      args=(-H "Authorization: Bearer $access" "$BASE/api/auth/check")
      wrk -t1 -c"$CONNECTIONS" -d3s "${args[@]}" >/dev/null
    else
      args=(-s "$ROOT/bench/wrk/rotate.lua" "$BASE/api/token/refresh/")
    fi
    before=$(cpu_ticks "$PID")
    out=$(WRK_TOKENS="$WORK/tokens" WRK_THREADS=1 \
      wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s "${args[@]}")
    after=$(cpu_ticks "$PID")
    echo "$out" | awk -v side="$side" -v round="$round" -v ticks=$((after - before)) \
      -v hz="$(getconf CLK_TCK)" '
      /requests in/ {n = $1} /Requests\/sec/ {r = $2} /Non-2xx/ {e = $NF}
      /^rotate:/ {rot = $0}
      END {
        printf "round %s %s %s req/s, server CPU %.1f us/request%s%s\n", round, side, r,
          ticks / hz * 1e6 / n, (e ? ", " e " non-2xx" : ""), (rot ? " (" rot ")" : "")
      }'
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
  done
done
