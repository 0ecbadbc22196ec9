#!/usr/bin/env bash
# Isolation benchmark: token-verification throughput while a login flood runs, against the same
# measurement without the flood, alternating in one run (the machine is shared and noisy).
#
#   bench/isolation.sh                 # 3 rounds of 10 s each way
#   ROUNDS=5 DURATION=15 bench/isolation.sh
#
# Needs wrk (Debian: apt-get install wrk), curl and python3. Writes nothing into the repository;
# copy the printed table into BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
VERIFY_CONNECTIONS=${VERIFY_CONNECTIONS:-32}
FLOOD_CONNECTIONS=${FLOOD_CONNECTIONS:-64}
PORT=${PORT:-18123}

for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "bench/isolation.sh needs $tool" >&2; exit 1; }
done

[ -n "${SKIP_BUILD:-}" ] || cargo build --release --locked -p jwtd >&2
BIN=$PWD/target/release/jwtd
WORK=$(mktemp -d)
SERVER=
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

export JWTD_DATABASE_URL="sqlite://$WORK/jwtd.db" JWTD_DATA_DIR="$WORK"
export JWTD_LISTEN="127.0.0.1:$PORT" JWTD_LOG_LEVEL=warn
export JWTD_LOGIN_RATE_PER_ADDRESS=off JWTD_LOGIN_RATE_PER_USERNAME=off
export JWTD_ACCESS_TOKEN_LIFETIME=1h
BASE="http://127.0.0.1:$PORT"

echo 'bench-password' | "$BIN" user create bench --password-stdin >/dev/null
"$BIN" serve 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 200); do
    curl -fs "$BASE/healthz" >/dev/null && break
    sleep 0.05
done
ACCESS=$(curl -fs -H 'Content-Type: application/json' \
    -d '{"username":"bench","password":"bench-password"}' "$BASE/api/token/" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])')

cat >"$WORK/login.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"bench","password":"bench-password"}'
EOF

# Requests/s of a wrk run (its "Requests/sec:" line), and its non-2xx count.
rps() { awk '/Requests\/sec:/ {print $2}' "$1"; }
errors() { awk '/Non-2xx/ {print $5} END {print 0}' "$1" | head -1; }

verify() {
    wrk -t1 -c"$VERIFY_CONNECTIONS" -d"${DURATION}s" --latency \
        -H "Authorization: Bearer $ACCESS" "$BASE/api/auth/check" >"$1"
}

declare -a quiet flooded logins
for round in $(seq "$ROUNDS"); do
    verify "$WORK/quiet-$round.txt"
    quiet+=("$(rps "$WORK/quiet-$round.txt")")

    wrk -t1 -c"$FLOOD_CONNECTIONS" -d"$((DURATION + 4))s" -s "$WORK/login.lua" \
        "$BASE/api/token/" >"$WORK/flood-$round.txt" &
    FLOOD=$!
    sleep 2
    verify "$WORK/flooded-$round.txt"
    wait "$FLOOD"
    flooded+=("$(rps "$WORK/flooded-$round.txt")")
    logins+=("$(rps "$WORK/flood-$round.txt")")
    echo "round $round: verify ${quiet[-1]}/s alone, ${flooded[-1]}/s during ${logins[-1]} logins/s" >&2
    for f in quiet flooded; do
        n=$(errors "$WORK/$f-$round.txt")
        [ "$n" = 0 ] || echo "warning: $n non-2xx answers in the $f run" >&2
    done
done

python3 - "${quiet[*]}" "${flooded[*]}" "${logins[*]}" <<'EOF'
import statistics, sys
quiet, flooded, logins = ([float(x) for x in arg.split()] for arg in sys.argv[1:])
q, f, l = statistics.median(quiet), statistics.median(flooded), statistics.median(logins)
print("| measurement (median of %d rounds) | value |" % len(quiet))
print("|---|---|")
print("| verification alone (`GET /api/auth/check`) | %.0f req/s |" % q)
print("| verification during the login flood | %.0f req/s |" % f)
print("| logins served during the flood | %.1f /s |" % l)
print("| **ratio (goal >= 70 %%)** | **%.0f %%** |" % (100 * f / q))
print()
print("rounds: alone %s; flooded %s; logins %s" % (quiet, flooded, logins))
EOF
