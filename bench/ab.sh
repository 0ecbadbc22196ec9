#!/usr/bin/env bash
# A/B of two jwtd binaries on one endpoint, alternating rounds, so that the machine's drift hits
# both alike. Prints per round requests/s (wrk, loopback) and the server's CPU time per request
# (user + system from /proc/PID/stat over the measured run), which other load on the machine
# moves much less than requests/s.
#
#   bench/ab.sh OLD_JWTD NEW_JWTD          # ROUNDS=3 DURATION=8 CONNECTIONS=32 PORT=18181
#   MODE=rotate bench/ab.sh OLD_JWTD NEW_JWTD
#   NEW_ENV="JWTD_REFRESH_TOKEN_REUSE_DETECTION=true" MODE=rotate bench/ab.sh JWTD JWTD
#                                          # one binary, a setting on one side only
#
# MODE=check (default): GET /api/auth/check (forward-auth: token checks and the user lookup)
# with an HS256 access token, after a 3 s warm-up, on one fresh SQLite database per side (each
# binary migrates its own: a newer schema is refused by an older jwtd).
# OLD_ENV / NEW_ENV: space-separated NAME=value settings for that side's server only.
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

if [ "$MODE" = check ]; then
  fresh_db "$OLD" check-old
  fresh_db "$NEW" check-new
fi
for round in $(seq "$ROUNDS"); do
  for side in old new; do
    binary=$OLD; side_env=${OLD_ENV:-}
    if [ "$side" = new ]; then binary=$NEW; side_env=${NEW_ENV:-}; fi
    if [ "$MODE" = check ]; then
      export JWTD_DATABASE_URL="sqlite://$WORK/check-$side/jwtd.db" JWTD_DATA_DIR="$WORK/check-$side"
    fi
    if [ "$MODE" = rotate ]; then
      fresh_db "$binary" "$side-$round"
    fi
    # shellcheck disable=SC2086 # side_env is a list of NAME=value words
    env $side_env "$binary" serve 2>/dev/null & PID=$!
    for _ in $(seq 200); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.05; done
    if [ "$MODE" = rotate ]; then
      # One refresh token per connection plus spares, each from a login (so each starts a
      # session where the binary keeps them).
      for _ in $(seq $((CONNECTIONS * 2))); do
        curl -sf -H 'content-type: application/json' \
          -d '{"username":"alice","password":"benchmark-password"}' "$BASE/api/token/" |
          python3 -c 'import json, sys; print(json.load(sys.stdin)["refresh"])'
      done >"$WORK/tokens"
    fi
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
