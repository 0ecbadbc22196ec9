#!/usr/bin/env bash
# End-to-end benchmark (issue 6): jwtd against a bare axum ceiling and against
# djangorestframework-simplejwt, all measured in one run on loopback with wrk.
#
#   bench/run.sh                                  # DURATION=15 s per measurement, 32 connections
#   SKIP_BUILD=1 DURATION=5 CONNECTIONS=16 bench/run.sh
#
# What it measures (each with wrk: requests/s, p50, p99, errors = non-2xx + socket errors):
#   - the ceiling: jwtd-bench-ceiling, a bare axum "hello" with jwtd's runtime and server setup;
#   - jwtd, one instance per configuration, each on a fresh SQLite file: forward-auth
#     (GET /api/auth/check) and POST /api/token/verify/ with HS256, ES256, EdDSA and RS256;
#     GET /hello/, login (POST /api/token/), refresh without rotation (HS256); refresh with
#     rotation and blacklisting on SQLite and on PostgreSQL;
#   - the store work of a rotation alone (jwtd-bench-store), SQLite and PostgreSQL;
#   - argon2id time at jwtd's parameters (jwtd-bench-argon2: argon2-rust, which jwtd-server uses,
#     and the RustCrypto argon2 crate; the login bound uses the faster; and argon2-rust on every
#     core at once, as the hashing threads run during a login flood);
#   - simplejwt 5.5.1 (bench/simplejwt/, gunicorn, 2 sync workers, SQLite) on the same endpoints;
#   - jwtd's RSS idle, under load and during the login run, and its time to the first answered
#     /healthz (median of STARTS starts).
# Then it replaces the block between "<!-- bench/run.sh begin -->" and "<!-- bench/run.sh end -->"
# in BENCHMARKS.md with the tables (WRITE=0: print only), and runs bench/django.sh (Django
# database mode, its own block; SKIP_DJANGO=1 leaves it out).
#
# Needs wrk, curl, python3 (with venv), and psql plus a PostgreSQL server at PG_URL (trust auth)
# for the PostgreSQL rows; without one those rows say "not measured". Installs the simplejwt
# peer into bench/.venv (PyPI) on first use. Run under `nice` on a shared machine if you like;
# the figures are ratios within one run.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-15}          # seconds per wrk measurement
CONNECTIONS=${CONNECTIONS:-32}    # wrk connections (and the store benchmark's tasks)
THREADS=${THREADS:-1}             # wrk threads
WARMUP=${WARMUP:-1}               # seconds of warm-up before each measurement (not rotation)
STARTS=${STARTS:-5}               # start-up timings (median)
STORE_OPS=${STORE_OPS:-3000}      # store transactions per concurrency level
SPARES=${SPARES:-32}              # extra refresh tokens per rotation run, beyond one per connection
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-18300}               # first of the ports used (PORT .. PORT+9)
WRITE=${WRITE:-1}

for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "bench/run.sh needs $tool" >&2; exit 1; }
done

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

if [ -z "${SKIP_BUILD:-}" ]; then
    log "building release binaries"
    cargo build --release --locked -p jwtd -p jwtd-bench >&2
fi
ROOT=$PWD
BIN=$ROOT/target/release/jwtd
CEILING=$ROOT/target/release/jwtd-bench-ceiling
STORE_BENCH=$ROOT/target/release/jwtd-bench-store
ARGON2_BENCH=$ROOT/target/release/jwtd-bench-argon2
for b in "$BIN" "$CEILING" "$STORE_BENCH" "$ARGON2_BENCH"; do
    [ -x "$b" ] || { echo "missing $b (run without SKIP_BUILD)" >&2; exit 1; }
done

WORK=$(mktemp -d)
VALUES=$WORK/values            # key=value lines read by the report at the end
: >"$VALUES"
PG_DB=jwtd_bench_$$
PG_STORE_DB=jwtd_bench_$$_store
PG_CREATED=
SERVER=
SAMPLER=

cleanup() {
    set +e # clean up as much as possible, whatever failed
    [ -z "$SAMPLER" ] || kill "$SAMPLER" 2>/dev/null
    if [ -n "$SERVER" ]; then
        kill "$SERVER" 2>/dev/null
        wait "$SERVER" 2>/dev/null
    fi
    if [ -n "$PG_CREATED" ]; then
        psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" \
            -c "DROP DATABASE IF EXISTS $PG_STORE_DB WITH (FORCE)" >/dev/null 2>&1 ||
            echo "warning: could not drop databases $PG_DB, $PG_STORE_DB" >&2
    fi
    if [ -n "${KEEP_WORK:-}" ]; then echo "outputs kept in $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

value() { echo "$1=$2" >>"$VALUES"; }

# ---------------------------------------------------------------------------------------------
# Servers

port_free() { # PORT: refuse to measure a leftover server
    if curl -fs "http://127.0.0.1:$1/healthz" >/dev/null 2>&1; then
        echo "port $1 already answers (a leftover server?); set PORT to another range" >&2
        exit 1
    fi
}

wait_ready() { # PORT
    for _ in $(seq 400); do
        curl -fs "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "server on port $1 did not become ready" >&2
    return 1
}

stop_server() {
    if [ -n "$SERVER" ]; then
        kill "$SERVER" 2>/dev/null || true
        wait "$SERVER" 2>/dev/null || true
        SERVER=
    fi
}

# Each jwtd instance has an environment file $WORK/NAME.env and its own SQLite file.
new_instance() { # NAME PORT ALGORITHM [DATABASE_URL] [extra VAR=value ...]
    local name=$1 port=$2 alg=$3 url=${4:-sqlite://$WORK/$1.db}
    shift 4 || shift $#
    mkdir -p "$WORK/$name"
    {
        echo "JWTD_LISTEN=127.0.0.1:$port"
        echo "JWTD_DATABASE_URL=$url"
        echo "JWTD_DATA_DIR=$WORK/$name"
        echo "JWTD_LOG_LEVEL=warn"
        echo "JWTD_LOGIN_RATE_PER_ADDRESS=off"
        echo "JWTD_LOGIN_RATE_PER_USERNAME=off"
        echo "JWTD_ACCESS_TOKEN_LIFETIME=1h"
        echo "JWTD_REFRESH_TOKEN_LIFETIME=1d"
        echo "JWTD_ALGORITHM=$alg"
        case $alg in
            HS*) echo "JWTD_SIGNING_KEY=$HS_SECRET" ;;
            *)
                "$BIN" keys generate --algorithm "$alg" --out "$WORK/$name/signing.pem" >/dev/null
                echo "JWTD_SIGNING_KEY_FILE=$WORK/$name/signing.pem"
                ;;
        esac
        for kv in "$@"; do echo "$kv"; done
    } >"$WORK/$name.env"
    echo 'bench-password' | jwtd_in "$name" user create bench --password-stdin >/dev/null
}

jwtd_in() { # NAME ARGS...: the jwtd binary in instance NAME's environment
    local name=$1
    shift
    (
        set -a
        # shellcheck disable=SC1090
        . "$WORK/$name.env"
        set +a
        exec "$BIN" "$@"
    )
}

start_jwtd() { # NAME PORT; SERVER is jwtd's own pid (one subshell that execs), for /proc
    port_free "$2"
    (
        set -a
        # shellcheck disable=SC1090
        . "$WORK/$1.env"
        set +a
        exec "$BIN" serve
    ) 2>"$WORK/$1.log" &
    SERVER=$!
    wait_ready "$2"
    [ "$(cat "/proc/$SERVER/comm")" = jwtd ] || { echo "pid $SERVER is not jwtd" >&2; exit 1; }
}

pair() { # NAME: a fresh refresh/access pair as JSON (records the refresh token, as a login does)
    jwtd_in "$1" token issue bench
}

field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# ---------------------------------------------------------------------------------------------
# Measurements

# wrk output for measurement KEY goes to $WORK/wrk-KEY.txt; the report parses it.
measure() { # KEY URL [wrk options...]
    local key=$1 url=$2
    shift 2
    if [ "$WARMUP" != 0 ]; then
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" --timeout 10s "$@" "$url" >/dev/null 2>&1 || true
    fi
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency "$@" "$url" \
        >"$WORK/wrk-$key.txt" 2>&1
    log "$key: $(awk '/Requests\/sec:/ {print $2}' "$WORK/wrk-$key.txt") req/s"
}

rotate_measure() { # KEY URL TOKENFILE (no warm-up: each token may be sent once)
    WRK_TOKENS=$3 WRK_THREADS=$THREADS wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" \
        --timeout 10s --latency -s bench/wrk/rotate.lua "$2" >"$WORK/wrk-$1.txt" 2>&1
    log "$1: $(awk '/Requests\/sec:/ {print $2}' "$WORK/wrk-$1.txt") req/s; $(grep '^rotate:' "$WORK/wrk-$1.txt" | tr '\n' ' ')"
}

# RSS of PID sampled every 0.1 s into FILE (KiB, one a line) until stop_sampler.
start_sampler() { # PID FILE
    (
        while awk '/^VmRSS/ {print $2}' "/proc/$1/status" >>"$2" 2>/dev/null; do
            sleep 0.1
        done
    ) &
    SAMPLER=$!
}
stop_sampler() {
    [ -z "$SAMPLER" ] || kill "$SAMPLER" 2>/dev/null || true
    wait "$SAMPLER" 2>/dev/null || true
    SAMPLER=
}
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# Milliseconds from exec to the first 200 from /healthz, polling in a tight loop.
startup_ms() { # NAME PORT
    (
        set -a
        # shellcheck disable=SC1090
        . "$WORK/$1.env"
        set +a
        export JWTD_LISTEN=127.0.0.1:$2
        python3 - "$BIN" "$2" <<'EOF'
import socket, subprocess, sys, time
binary, port = sys.argv[1], int(sys.argv[2])
request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
def answered():
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(request)
            return s.recv(16).startswith(b"HTTP/1.1 200")
    except OSError:
        return False
start = time.monotonic()
server = subprocess.Popen([binary, "serve"], stderr=subprocess.DEVNULL)
while not answered():
    if server.poll() is not None or time.monotonic() - start > 10:
        print("nan"); break
else:
    print("%.1f" % ((time.monotonic() - start) * 1000))
server.terminate()
server.wait()
EOF
    )
}

value load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
HS_SECRET=$("$BIN" keys generate --algorithm HS256)
BASE=http://127.0.0.1

# --- ceiling -------------------------------------------------------------------------------------
log "ceiling: bare axum"
port_free "$PORT"
"$CEILING" --listen "127.0.0.1:$PORT" &
SERVER=$!
wait_ready "$PORT"
measure ceiling "$BASE:$PORT/hello/"
stop_server

# --- jwtd HS256: verify paths, /hello/, login, refresh, resources --------------------------------
P=$((PORT + 1))
log "jwtd HS256"
new_instance hs256 "$P" HS256
port_free $((PORT + 9))
starts=()
for _ in $(seq "$STARTS"); do starts+=("$(startup_ms hs256 $((PORT + 9)))"); done
value startup_ms "${starts[*]}"
start_jwtd hs256 "$P"
sleep 1
value rss_idle_kb "$(status_kb "$SERVER" VmRSS)"
PAIR=$(pair hs256)
ACCESS=$(field access <<<"$PAIR")
REFRESH=$(field refresh <<<"$PAIR")
start_sampler "$SERVER" "$WORK/rss-load"
measure hs256_check "$BASE:$P/api/auth/check" -H "Authorization: Bearer $ACCESS"
WRK_BODY="{\"token\":\"$ACCESS\"}" measure hs256_verify "$BASE:$P/api/token/verify/" -s bench/wrk/post.lua
measure hs256_hello "$BASE:$P/hello/" -H "Authorization: Bearer $ACCESS"
WRK_BODY="{\"refresh\":\"$REFRESH\"}" measure hs256_refresh "$BASE:$P/api/token/refresh/" -s bench/wrk/post.lua
stop_sampler
value rss_load_max_kb "$(sort -n "$WORK/rss-load" | tail -1)"
value hwm_before_login_kb "$(status_kb "$SERVER" VmHWM)"
start_sampler "$SERVER" "$WORK/rss-login"
WRK_BODY='{"username":"bench","password":"bench-password"}' \
    measure hs256_login "$BASE:$P/api/token/" -s bench/wrk/post.lua
stop_sampler
value rss_login_max_kb "$(sort -n "$WORK/rss-login" | tail -1)"
value hwm_after_login_kb "$(status_kb "$SERVER" VmHWM)"
stop_server

# --- jwtd with asymmetric keys ---------------------------------------------------------------------
n=2
for alg in ES256 EdDSA RS256; do
    name=$(tr '[:upper:]' '[:lower:]' <<<"$alg")
    P=$((PORT + n))
    n=$((n + 1))
    log "jwtd $alg"
    new_instance "$name" "$P" "$alg"
    start_jwtd "$name" "$P"
    ACCESS=$(pair "$name" | field access)
    measure "${name}_check" "$BASE:$P/api/auth/check" -H "Authorization: Bearer $ACCESS"
    WRK_BODY="{\"token\":\"$ACCESS\"}" measure "${name}_verify" "$BASE:$P/api/token/verify/" -s bench/wrk/post.lua
    stop_server
done

# --- jwtd refresh with rotation and blacklisting ----------------------------------------------------
mint_pool() { # NAME FILE: one refresh token per connection, plus spares (8 CLI runs at a time)
    local i n=$((CONNECTIONS + SPARES)) pids=()
    for i in $(seq "$n"); do
        pair "$1" >"$WORK/$1.pair.$i" &
        pids+=($!)
        if [ "${#pids[@]}" -ge 8 ]; then
            wait "${pids[@]}"
            pids=()
        fi
    done
    [ "${#pids[@]}" = 0 ] || wait "${pids[@]}"
    for i in $(seq "$n"); do field refresh <"$WORK/$1.pair.$i"; done >"$2"
}

rotation_run() { # NAME PORT KEY
    start_jwtd "$1" "$2"
    mint_pool "$1" "$WORK/$1.tokens"
    rotate_measure "$3" "$BASE:$2/api/token/refresh/" "$WORK/$1.tokens"
    stop_server
}

ROTATION=(JWTD_ROTATE_REFRESH_TOKENS=true JWTD_BLACKLIST_AFTER_ROTATION=true)
log "jwtd rotation on SQLite"
new_instance rot_sqlite $((PORT + 5)) HS256 "sqlite://$WORK/rot_sqlite.db" "${ROTATION[@]}"
rotation_run rot_sqlite $((PORT + 5)) rot_sqlite
log "store alone: SQLite"
"$STORE_BENCH" --database-url "sqlite://$WORK/store.db" --ops "$STORE_OPS" \
    --tasks "1,$CONNECTIONS" >"$WORK/store-sqlite.txt"
cat "$WORK/store-sqlite.txt" >&2

if command -v psql >/dev/null &&
    psql -q "$PG_URL/postgres" -c "CREATE DATABASE $PG_DB" -c "CREATE DATABASE $PG_STORE_DB" >/dev/null; then
    PG_CREATED=1
    value pg_version "$(psql -tA "$PG_URL/postgres" -c 'SHOW server_version' | awk '{print $1}')"
    log "jwtd rotation on PostgreSQL ($PG_DB)"
    new_instance rot_pg $((PORT + 6)) HS256 "$PG_URL/$PG_DB" "${ROTATION[@]}"
    rotation_run rot_pg $((PORT + 6)) rot_pg
    log "store alone: PostgreSQL ($PG_STORE_DB)"
    "$STORE_BENCH" --database-url "$PG_URL/$PG_STORE_DB" --ops "$STORE_OPS" \
        --tasks "1,$CONNECTIONS" >"$WORK/store-pg.txt"
    cat "$WORK/store-pg.txt" >&2
else
    log "PostgreSQL at $PG_URL unavailable: its rows will say not measured"
fi

log "argon2id timing"
"$ARGON2_BENCH" --rounds 15 >"$WORK/argon2.txt"
cat "$WORK/argon2.txt" >&2
# The same hash on every core at once, as jwtd's hashing threads run during a login flood.
"$ARGON2_BENCH" --rounds 15 --threads "$(nproc)" >"$WORK/argon2-all-cores.txt"
cat "$WORK/argon2-all-cores.txt" >&2

# --- simplejwt ---------------------------------------------------------------------------------------
VENV=$ROOT/bench/.venv
REQS=$ROOT/bench/simplejwt/requirements.txt
if ! cmp -s "$REQS" "$VENV/installed-requirements.txt" 2>/dev/null; then
    log "installing the simplejwt peer into bench/.venv"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQS" >&2
    cp "$REQS" "$VENV/installed-requirements.txt"
fi
DJ=$ROOT/bench/simplejwt
export BENCH_DB=$WORK/simplejwt.sqlite3 BENCH_SIGNING_KEY=$HS_SECRET
manage() { (cd "$DJ" && "$VENV/bin/python" manage.py "$@"); }
manage migrate -v0
python3 -c 'import sqlite3,sys; sqlite3.connect(sys.argv[1]).execute("PRAGMA journal_mode=WAL")' "$BENCH_DB"
manage shell -v0 -c "from django.contrib.auth.models import User; User.objects.create_user('bench', password='bench-password')"
value django_version "$("$VENV/bin/python" -c 'import django; print(django.get_version())')"
value drf_version "$("$VENV/bin/python" -c 'import rest_framework; print(rest_framework.VERSION)')"
value simplejwt_version "$("$VENV/bin/pip" show djangorestframework-simplejwt 2>/dev/null | awk '/^Version:/ {print $2}')"
value python_version "$("$VENV/bin/python" -c 'import platform; print(platform.python_version())')"
value gunicorn_version "$("$VENV/bin/python" -c 'import gunicorn; print(gunicorn.__version__)')"

start_simplejwt() { # PORT
    port_free "$1"
    (cd "$DJ" && exec "$VENV/bin/gunicorn" --workers 2 --worker-class sync \
        --bind "127.0.0.1:$1" benchsite.wsgi) 2>"$WORK/gunicorn.log" &
    SERVER=$!
    wait_ready "$1"
}

P=$((PORT + 7))
log "simplejwt"
start_simplejwt "$P"
PAIR=$(curl -fs -H 'Content-Type: application/json' \
    -d '{"username":"bench","password":"bench-password"}' "$BASE:$P/api/token/")
ACCESS=$(field access <<<"$PAIR")
REFRESH=$(field refresh <<<"$PAIR")
WRK_BODY="{\"token\":\"$ACCESS\"}" measure dj_verify "$BASE:$P/api/token/verify/" -s bench/wrk/post.lua
measure dj_hello "$BASE:$P/hello/" -H "Authorization: Bearer $ACCESS"
WRK_BODY="{\"refresh\":\"$REFRESH\"}" measure dj_refresh "$BASE:$P/api/token/refresh/" -s bench/wrk/post.lua
WRK_BODY='{"username":"bench","password":"bench-password"}' \
    measure dj_login "$BASE:$P/api/token/" -s bench/wrk/post.lua
stop_server

log "simplejwt with rotation and blacklisting"
export BENCH_ROTATE=1
manage shell -v0 -c "
from django.contrib.auth.models import User
from rest_framework_simplejwt.tokens import RefreshToken
user = User.objects.get(username='bench')
with open('$WORK/dj.tokens', 'w') as f:
    for _ in range($CONNECTIONS + $SPARES):
        f.write(str(RefreshToken.for_user(user)) + '\n')
"
P=$((PORT + 8))
start_simplejwt "$P"
rotate_measure dj_rot "$BASE:$P/api/token/refresh/" "$WORK/dj.tokens"
stop_server
unset BENCH_ROTATE

# --- report -----------------------------------------------------------------------------------------
value nproc "$(nproc)"
value cpu "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
value kernel "$(uname -sr)"
value rustc "$(rustc -V 2>/dev/null || echo unknown)"
value wrk_version "$(wrk -v 2>&1 | awk 'NR == 1 {print $2}')"
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff-index --quiet HEAD -- 2>/dev/null || rev="$rev (uncommitted changes in the tree)"
value git_rev "$rev"
value when "$(date -u '+%Y-%m-%d %H:%M UTC')"
niceness=$(ps -o ni= -p $$ | tr -d ' ')
value command "$(printf '%s%sDURATION=%s CONNECTIONS=%s THREADS=%s bench/run.sh' \
    "$([ "$niceness" = 0 ] || echo "nice -n $niceness ")" "${SKIP_BUILD:+SKIP_BUILD=1 }" \
    "$DURATION" "$CONNECTIONS" "$THREADS")"
value duration "$DURATION"
value connections "$CONNECTIONS"
value threads "$THREADS"
value load "$(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$WORK" >"$WORK/report.md" <<'EOF'
import glob, os, re, statistics, sys

work = sys.argv[1]
v = {}
for line in open(os.path.join(work, "values")):
    key, _, val = line.rstrip("\n").partition("=")
    v[key] = val

def ms(text):
    number, unit = re.match(r"([\d.]+)(us|ms|s|m|h)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000, "h": 3600000}[unit]

def wrk(key):
    path = os.path.join(work, "wrk-%s.txt" % key)
    if not os.path.exists(path):
        return None
    text = open(path).read()
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not rps:
        return None
    r = {"rps": float(rps.group(1))}
    for pct in ("50", "99"):
        m = re.search(r"^\s+%s%%\s+(\S+)" % pct, text, re.M)
        r["p" + pct] = ms(m.group(1)) if m else float("nan")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    r["errors"] = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)
    r["rotate"] = re.findall(r"^rotate: thread \d+ sent (\d+) ok (\d+) failed (\d+) starved (\d+)", text, re.M)
    return r

def store(name):
    path = os.path.join(work, "store-%s.txt" % name)
    rows = []
    if os.path.exists(path):
        for line in open(path):
            if line.startswith("RESULT "):
                rows.append(dict(kv.split("=", 1) for kv in line.split()[1:]))
    return rows

def rate(x):
    return "%.0f" % x if x >= 100 else "%.1f" % x

def cells(r):
    if r is None:
        return ["not measured"] + [""] * 3
    return [rate(r["rps"]), "%.2f" % r["p50"], "%.2f" % r["p99"], str(r["errors"])]

def ratio(a, b):
    return "%.2f" % (a["rps"] / b["rps"]) if a and b and b["rps"] else "—"

NM = "not measured"
ceiling = wrk("ceiling")
rows = [
    ("`GET /api/auth/check` (forward-auth), HS256", "hs256_check", None, True),
    ("`POST /api/token/verify/`, HS256", "hs256_verify", "dj_verify", True),
    ("`GET /api/auth/check`, ES256", "es256_check", None, True),
    ("`POST /api/token/verify/`, ES256", "es256_verify", None, True),
    ("`GET /api/auth/check`, EdDSA", "eddsa_check", None, True),
    ("`POST /api/token/verify/`, EdDSA", "eddsa_verify", None, True),
    ("`GET /api/auth/check`, RS256", "rs256_check", None, True),
    ("`POST /api/token/verify/`, RS256", "rs256_verify", None, True),
    ("`GET /hello/` (verification + user lookup), HS256", "hs256_hello", "dj_hello", True),
    ("`POST /api/token/` (login, argon2id)", "hs256_login", "dj_login", False),
    ("`POST /api/token/refresh/`, no rotation", "hs256_refresh", "dj_refresh", False),
    ("`POST /api/token/refresh/`, rotation + blacklist, SQLite", "rot_sqlite", "dj_rot", False),
    ("`POST /api/token/refresh/`, rotation + blacklist, PostgreSQL", "rot_pg", None, False),
]

out = []
w = out.append
w("Run of %s: `%s`. Rows are measured one after another, not alternating; load average "
  "(1, 5, 15 min) at the start %s, at the end %s." % (v["when"], v["command"], v["load_start"], v["load"]))
w("")
w("Machine: %s cores, %s, %s. Versions: %s; jwtd %s; wrk %s; Python %s, Django %s, "
  "djangorestframework %s, djangorestframework-simplejwt %s, gunicorn %s (2 sync workers); "
  "PostgreSQL %s." % (v["nproc"], v["cpu"], v["kernel"], v["rustc"], v["git_rev"],
  v["wrk_version"], v.get("python_version", "?"), v.get("django_version", "?"),
  v.get("drf_version", "?"), v.get("simplejwt_version", "?"), v.get("gunicorn_version", "?"),
  v.get("pg_version", NM)))
w("")
w("wrk: %s thread(s), %s connections, %s s per row (after a warm-up, except the rotation rows); "
  "latencies in ms; errors = non-2xx answers + socket errors." % (v["threads"], v["connections"], v["duration"]))
w("")
w("| endpoint | jwtd req/s | p50 | p99 | errors | simplejwt req/s | p50 | p99 | errors | jwtd ÷ ceiling | jwtd ÷ simplejwt |")
w("|---|---|---|---|---|---|---|---|---|---|---|")
w("| ceiling: bare axum `GET /hello/`, jwtd's runtime and server setup | %s | | | | | 1.00 | |"
  % " | ".join(cells(ceiling)))
results = {}
for label, key, peer, vs_ceiling in rows:
    j, d = wrk(key), (wrk(peer) if peer else None)
    results[key] = j
    if peer:
        results[peer] = d
    peer_cells = cells(d) if peer else ["— (not in the peer run)", "", "", ""]
    w("| %s | %s | %s | %s | %s |" % (label, " | ".join(cells(j)), " | ".join(peer_cells),
      ratio(j, ceiling) if vs_ceiling else "—", ratio(j, d) if peer else "—"))
w("")

rot = []
for key in ("rot_sqlite", "rot_pg", "dj_rot"):
    r = results.get(key)
    if r and r["rotate"]:
        sent, ok, failed, starved = (sum(int(t[i]) for t in r["rotate"]) for i in range(4))
        statuses = " ".join(" ".join(m.split()) for m in re.findall(r"^rotate: thread \d+ failed statuses:(.*?);", open(os.path.join(work, "wrk-%s.txt" % key)).read(), re.M))
        rot.append("%s: %d sent, %d answered 200, %d failed%s, %d starved" % (key, sent, ok, failed,
                   " (statuses: %s)" % statuses if statuses else "", starved))
w("Rotation rows: each refresh token is sent exactly once (`bench/wrk/rotate.lua`: a pool minted "
  "before the run, one chain per connection, each 200's successor queued for the next request); "
  "a token that failed or a dry queue would show as failed/starved and as errors. "
  + ("; ".join(rot) if rot else "no rotation counts recorded") + ".")
w("")

w("The store work of one rotation timed alone (`jwtd-bench-store`: `is_blacklisted`, `user_by_id`, "
  "`rotate(old, new, true, now)` through the `Store` trait, one chain per task, %s per level; "
  "PostgreSQL pool 16 as jwtd's default):" % "refreshes")
w("")
w("| backend | tasks | store alone ops/s | p50 | p99 | errors | HTTP refresh with rotation req/s | HTTP ÷ store |")
w("|---|---|---|---|---|---|---|---|")
store_top = {}
for name, label, key in (("sqlite", "SQLite", "rot_sqlite"), ("pg", "PostgreSQL", "rot_pg")):
    srows = store(name)
    if not srows:
        w("| %s | | not measured | | | | | |" % label)
    http = results.get(key)
    for s in srows:
        top = s["tasks"] == v["connections"]
        if top:
            store_top[name] = float(s["ops_per_s"])
        w("| %s | %s | %s | %s | %s | %s | %s | %s |" % (label, s["tasks"], rate(float(s["ops_per_s"])),
          s["p50_ms"], s["p99_ms"], s["errors"], rate(http["rps"]) if (top and http) else "",
          "%.2f" % (http["rps"] / float(s["ops_per_s"])) if (top and http) else ""))
w("")

argons = []
path = os.path.join(work, "argon2.txt")
if os.path.exists(path):
    for line in open(path):
        if line.startswith("RESULT "):
            argons.append(dict(kv.split("=", 1) for kv in line.split()[1:]))
# The bound for logins uses the fastest implementation measured.
argon = min(argons, key=lambda a: float(a["verify_median_ms"])) if argons else {}
path = os.path.join(work, "argon2-all-cores.txt")
argon_all = {}
if os.path.exists(path):
    for line in open(path):
        if line.startswith("RESULT "):
            argon_all = dict(kv.split("=", 1) for kv in line.split()[1:])

def mb(kb):
    return float(kb) / 1024 if kb else float("nan")

starts = [float(x) for x in v.get("startup_ms", "").split() if x != "nan"]
ready = statistics.median(starts) if starts else None
idle, load = mb(v.get("rss_idle_kb")), mb(v.get("rss_load_max_kb"))
flood = max(mb(v.get("rss_login_max_kb")), mb(v.get("hwm_after_login_kb")))
w("| jwtd (HS256, SQLite) | value |")
w("|---|---|")
w("| RSS idle (VmRSS 1 s after ready) | %.1f MB |" % idle)
w("| RSS under load (highest VmRSS sampled every 0.1 s during the check, verify, hello and refresh rows) | %.1f MB |" % load)
w("| RSS during the login row (highest VmRSS sampled, or VmHWM after it if higher) | %.1f MB (VmHWM %.1f MB) |"
  % (flood, mb(v.get("hwm_after_login_kb"))))
w("| start to first answered `/healthz` (median of %d starts on the migrated database) | %s |"
  % (len(starts), ("%.1f ms (all: %s)" % (ready, ", ".join("%.1f" % x for x in starts))) if ready is not None else NM))
for a in argons:
    w("| argon2id m=19456 KiB, t=2, p=1, one thread, crate `%s`%s (`jwtd-bench-argon2`, %s rounds) | verify median %s ms (min %s); hash median %s ms (min %s) |"
      % (a["impl"], " (what jwtd-server uses)" if a["impl"] == "argon2-rust" else "", a["rounds"],
         a["verify_median_ms"], a["verify_min_ms"], a["hash_median_ms"], a["hash_min_ms"]))
if argon_all:
    w("| argon2id as above, crate `argon2-rust`, on %s threads at once, as the hashing threads during a login flood (`jwtd-bench-argon2 --threads %s`, %s hashes) | verify median %s ms (min %s); hash median %s ms (min %s) |"
      % (argon_all["threads"], argon_all["threads"], argon_all["rounds"], argon_all["verify_median_ms"],
         argon_all["verify_min_ms"], argon_all["hash_median_ms"], argon_all["hash_min_ms"]))
if not argons:
    w("| argon2id time | not measured |")
w("")

def goal(name, measured, ok):
    w("| %s | %s | %s |" % (name, measured, NM if ok is None else ("**met**" if ok else "**missed**")))

def rr(a, b):
    return a["rps"] / b["rps"] if a and b and b["rps"] else None

w("| goal | measured in this run | |")
w("|---|---|---|")
for key, alg in (("hs256_check", "HS256"), ("es256_check", "ES256"), ("eddsa_check", "EdDSA"), ("rs256_check", "RS256")):
    x = rr(results.get(key), ceiling)
    goal("verify path (forward-auth, %s) ≥ 0.9 × ceiling" % alg, "%.2f ×" % x if x else NM, None if x is None else x >= 0.9)
x = rr(results.get("hs256_hello"), results.get("dj_hello"))
goal("`/hello/` ≥ 50 × simplejwt", "%.1f ×" % x if x else NM, None if x is None else x >= 50)
x = rr(results.get("rot_sqlite"), results.get("dj_rot"))
goal("refresh with rotation + blacklist, SQLite ≥ 50 × simplejwt", "%.1f ×" % x if x else NM, None if x is None else x >= 50)
for name, key, label in (("sqlite", "rot_sqlite", "SQLite"), ("pg", "rot_pg", "PostgreSQL")):
    h = results.get(key)
    x = h["rps"] / store_top[name] if h and name in store_top else None
    goal("refresh with rotation + blacklist, %s ≥ 0.5 × the store transaction alone (%s tasks)" % (label, v["connections"]),
         "%.2f ×" % x if x else NM, None if x is None else x >= 0.5)
login = results.get("hs256_login")
if login and argon:
    bound = int(v["nproc"]) / (float(argon["verify_median_ms"]) / 1000)
    x = login["rps"] / bound
    goal("logins/s ≥ 0.9 × cores ÷ fastest argon2id time measured here (%s ÷ %s ms with `%s` = %.1f/s)"
         % (v["nproc"], argon["verify_median_ms"], argon["impl"], bound), "%s/s = %.2f ×" % (rate(login["rps"]), x), x >= 0.9)
    if argon_all:
        shared = int(argon_all["threads"]) / (float(argon_all["verify_median_ms"]) / 1000)
        w("| (for comparison, not the goal: cores ÷ the time of a hash while every core hashes, %s ÷ %s ms = %.1f/s) | %.2f × | |"
          % (argon_all["threads"], argon_all["verify_median_ms"], shared, login["rps"] / shared))
else:
    goal("logins/s ≥ 0.9 × cores ÷ argon2id time", NM, None)
goal("RSS idle ≤ 15 MB", "%.1f MB" % idle, None if idle != idle else idle <= 15)
goal("RSS during a login flood ≤ 64 MB", "%.1f MB" % flood, None if flood != flood else flood <= 64)
goal("ready ≤ 100 ms", "%.1f ms" % ready if ready is not None else NM, None if ready is None else ready <= 100)
errs = [k for k, r in results.items() if r and r["errors"]] + (["ceiling"] if ceiling and ceiling["errors"] else [])
w("")
w("Rows with errors: %s." % (", ".join(errs) if errs else "none"))
print("\n".join(out))
EOF
cat "$WORK/report.md"
if [ "$WRITE" = 1 ]; then
    python3 bench/write-block.py bench/run.sh "$WORK/report.md" BENCHMARKS.md
    log "BENCHMARKS.md updated"
fi

# Django database mode (issue 13): logins against bare PBKDF2 and refresh on Django's tables
# against jwtd's schema, each with its own baseline (bench/django.sh; SKIP_DJANGO=1 leaves it out).
if [ -z "${SKIP_DJANGO:-}" ]; then
    SKIP_BUILD=1 WRITE=$WRITE DURATION=$DURATION CONNECTIONS=$CONNECTIONS PG_URL=$PG_URL bench/django.sh
fi
