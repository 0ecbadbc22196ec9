#!/usr/bin/env bash
# Django database mode benchmark (issue 13), each figure against its baseline in the same run:
#   - logins/s in Django mode (PBKDF2-HMAC-SHA256, 1,000,000 iterations, Django 5.2's default)
#     against the bare primitive on the same cores: `jwtd-bench-pbkdf2 --threads $(nproc)`
#     (aws-lc-rs, every core hashing at once, as jwtd's hashing threads do during a login flood);
#     the bound is cores ÷ its median time. Goal ≥ 0.9 ×.
#   - refresh in Django mode (simplejwt's tables made by Django's own DDL, testdata/django/)
#     against jwtd's own schema on the same backend: without rotation, and with rotation +
#     blacklisting, on SQLite (Django's file in WAL, as Django 5.1+ can set it, and in its
#     default rollback journal) and (when psql reaches PG_URL) PostgreSQL. Goal ≥ 0.8 ×.
#     The two schemas are measured alternately, ROUNDS times each, and the medians compared.
#
#   bench/django.sh                       # DURATION=10 s per measurement, 32 connections
#   SKIP_BUILD=1 DURATION=5 ROUNDS=1 bench/django.sh
#
# bench/run.sh runs it after its own rows. It replaces the block between
# "<!-- bench/django.sh begin -->" and "<!-- bench/django.sh end -->" in BENCHMARKS.md
# (WRITE=0: print only). Needs wrk, curl, python3; psql for the PostgreSQL rows.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
LOGIN_CONNECTIONS=${LOGIN_CONNECTIONS:-8}  # a login takes ~0.3 s of one core; 8 keep both busy
ROUNDS=${ROUNDS:-2}
SPARES=${SPARES:-32}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-18400}
WRITE=${WRITE:-1}
HS_SECRET=${HS_SECRET:-django-mode-benchmark-secret-0123456789abcdef}

for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "bench/django.sh needs $tool" >&2; exit 1; }
done
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }

if [ -z "${SKIP_BUILD:-}" ]; then
    log "building release binaries"
    cargo build --release --locked -p jwtd -p jwtd-bench >&2
fi
ROOT=$PWD
BIN=$ROOT/target/release/jwtd
PBKDF2_BENCH=$ROOT/target/release/jwtd-bench-pbkdf2
for b in "$BIN" "$PBKDF2_BENCH"; do
    [ -x "$b" ] || { echo "missing $b (run without SKIP_BUILD)" >&2; exit 1; }
done

WORK=$(mktemp -d)
RESULTS=$WORK/results
: >"$RESULTS"
SERVER=
PG_DBS=()
cleanup() {
    [ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true
    for db in "${PG_DBS[@]}"; do
        psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# The Django user `bench` / `bench-password`, hashed as Django 5.2's make_password does.
DJANGO_HASH=$(python3 - <<'EOF'
import base64, hashlib, secrets, string
salt = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(22))
dk = hashlib.pbkdf2_hmac("sha256", b"bench-password", salt.encode(), 1_000_000)
print("pbkdf2_sha256$1000000$%s$%s" % (salt, base64.b64encode(dk).decode()))
EOF
)

django_sqlite() { # FILE [wal]: a database made by Django's own DDL, with the user bench; in
    # Django's default rollback journal, or in WAL (Django 5.1+: OPTIONS "init_command")
    python3 - "$1" "$DJANGO_HASH" "${2:-delete}" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA journal_mode=%s" % sys.argv[3])
ddl = open("testdata/django/schema-sqlite.sql").read()
# `.schema` prints sqlite_sequence, which SQLite creates by itself and refuses to create.
db.executescript(ddl.replace("CREATE TABLE sqlite_sequence(name,seq);", ""))
db.execute("INSERT INTO auth_user (password, last_login, is_superuser, username, last_name, email,"
           " is_staff, is_active, date_joined, first_name) VALUES (?, NULL, 0, 'bench', '', '',"
           " 0, 1, '2026-01-01 00:00:00', '')", (sys.argv[2],))
db.commit()
EOF
}

django_pg() { # DBNAME: a database made by Django's own DDL (pg_dump of a migrated one)
    psql -q "$PG_URL/postgres" -c "CREATE DATABASE $1" >/dev/null
    PG_DBS+=("$1")
    psql -q -v ON_ERROR_STOP=1 "$PG_URL/$1" -f testdata/django/schema-postgres.sql >/dev/null
    psql -q -v ON_ERROR_STOP=1 "$PG_URL/$1" -c "INSERT INTO public.auth_user (password, is_superuser,
        username, last_name, email, is_staff, is_active, date_joined, first_name)
        VALUES ('$DJANGO_HASH', false, 'bench', '', '', false, true, now(), '')" >/dev/null
}

# An instance: environment file $WORK/NAME.env. Extra VAR=value arguments are appended.
instance() { # NAME PORT DATABASE_URL SCHEMA [VAR=value ...]
    local name=$1 port=$2 url=$3 schema=$4
    shift 4
    mkdir -p "$WORK/$name"
    {
        echo "JWTD_LISTEN=127.0.0.1:$port"
        echo "JWTD_DATABASE_URL=$url"
        echo "JWTD_DATABASE_SCHEMA=$schema"
        echo "JWTD_DATA_DIR=$WORK/$name"
        echo "JWTD_LOG_LEVEL=warn"
        echo "JWTD_LOGIN_RATE_PER_ADDRESS=off"
        echo "JWTD_LOGIN_RATE_PER_USERNAME=off"
        echo "JWTD_SIGNING_KEY=$HS_SECRET"
        for kv in "$@"; do echo "$kv"; done
    } >"$WORK/$name.env"
    if [ "$schema" = jwtd ]; then
        echo 'bench-password' | jwtd_in "$name" user create bench --password-stdin >/dev/null
    fi
}

jwtd_in() { # NAME ARGS...
    local name=$1
    shift
    (set -a; . "$WORK/$name.env"; set +a; exec "$BIN" "$@")
}

start() { # NAME PORT
    (set -a; . "$WORK/$1.env"; set +a; exec "$BIN" serve) 2>"$WORK/$1.log" &
    SERVER=$!
    for _ in $(seq 200); do
        curl -fs "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    cat "$WORK/$1.log" >&2
    echo "jwtd $1 did not start" >&2
    exit 1
}

stop() {
    kill -TERM "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    SERVER=
}

field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

wrk_rps() { awk '/Requests\/sec:/ {print $2}' "$1"; }
wrk_errors() {
    awk '/Non-2xx/ {n += $5} /Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$1"
}

record() { # KEY FILE
    echo "$1 $(wrk_rps "$2") $(wrk_errors "$2")" >>"$RESULTS"
    log "$1: $(wrk_rps "$2") req/s, $(wrk_errors "$2") errors"
}

refresh_plain() { # NAME PORT KEY: refresh without rotation
    start "$1" "$2"
    local refresh
    refresh=$(jwtd_in "$1" token issue bench | field refresh)
    WRK_BODY="{\"refresh\":\"$refresh\"}" wrk -t1 -c"$CONNECTIONS" -d1s -s bench/wrk/post.lua \
        "http://127.0.0.1:$2/api/token/refresh/" >/dev/null 2>&1 || true
    WRK_BODY="{\"refresh\":\"$refresh\"}" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s \
        -s bench/wrk/post.lua "http://127.0.0.1:$2/api/token/refresh/" >"$WORK/wrk-$3.txt" 2>&1
    record "$3" "$WORK/wrk-$3.txt"
    stop
}

refresh_rotating() { # NAME PORT KEY: rotation + blacklisting, each token sent once
    start "$1" "$2"
    local i
    for i in $(seq $((CONNECTIONS + SPARES))); do
        jwtd_in "$1" token issue bench | field refresh
    done >"$WORK/$1.tokens"
    WRK_TOKENS=$WORK/$1.tokens WRK_THREADS=1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" \
        --timeout 10s -s bench/wrk/rotate.lua "http://127.0.0.1:$2/api/token/refresh/" \
        >"$WORK/wrk-$3.txt" 2>&1
    record "$3" "$WORK/wrk-$3.txt"
    stop
}

# --- logins against bare PBKDF2 ----------------------------------------------------------------
log "bare PBKDF2-HMAC-SHA256, 1,000,000 iterations, on $(nproc) threads"
"$PBKDF2_BENCH" --rounds 5 --threads "$(nproc)" | tee "$WORK/pbkdf2.txt" >&2
django_sqlite "$WORK/login.sqlite3"
instance login $((PORT + 1)) "sqlite://$WORK/login.sqlite3" django
start login $((PORT + 1))
curl -fs -H 'Content-Type: application/json' -d '{"username":"bench","password":"bench-password"}' \
    "http://127.0.0.1:$((PORT + 1))/api/token/" >/dev/null
WRK_BODY='{"username":"bench","password":"bench-password"}' wrk -t1 -c"$LOGIN_CONNECTIONS" \
    -d"$((DURATION * 2))s" --timeout 20s -s bench/wrk/post.lua \
    "http://127.0.0.1:$((PORT + 1))/api/token/" >"$WORK/wrk-django_login.txt" 2>&1
record django_login "$WORK/wrk-django_login.txt"
stop
"$PBKDF2_BENCH" --rounds 5 --threads "$(nproc)" | tee "$WORK/pbkdf2-after.txt" >&2

# --- refresh: Django's tables against jwtd's, same backend, alternating ----------------------------
ROTATION=(JWTD_ROTATE_REFRESH_TOKENS=true JWTD_BLACKLIST_AFTER_ROTATION=true)
for round in $(seq "$ROUNDS"); do
    log "SQLite, round $round"
    django_sqlite "$WORK/dj-$round.sqlite3"
    django_sqlite "$WORK/djrot-$round.sqlite3"
    django_sqlite "$WORK/djw-$round.sqlite3" wal
    django_sqlite "$WORK/djwrot-$round.sqlite3" wal
    instance "j$round" $((PORT + 2)) "sqlite://$WORK/j-$round.db" jwtd
    instance "d$round" $((PORT + 3)) "sqlite://$WORK/dj-$round.sqlite3" django
    instance "dw$round" $((PORT + 8)) "sqlite://$WORK/djw-$round.sqlite3" django
    instance "jr$round" $((PORT + 4)) "sqlite://$WORK/jr-$round.db" jwtd "${ROTATION[@]}"
    instance "dr$round" $((PORT + 5)) "sqlite://$WORK/djrot-$round.sqlite3" django "${ROTATION[@]}"
    instance "dwr$round" $((PORT + 9)) "sqlite://$WORK/djwrot-$round.sqlite3" django "${ROTATION[@]}"
    refresh_plain "j$round" $((PORT + 2)) sqlite_refresh_jwtd
    refresh_plain "dw$round" $((PORT + 8)) sqlite_refresh_django_wal
    refresh_plain "d$round" $((PORT + 3)) sqlite_refresh_django
    refresh_rotating "jr$round" $((PORT + 4)) sqlite_rotate_jwtd
    refresh_rotating "dwr$round" $((PORT + 9)) sqlite_rotate_django_wal
    refresh_rotating "dr$round" $((PORT + 5)) sqlite_rotate_django
done

if command -v psql >/dev/null && psql -qtA "$PG_URL/postgres" -c 'SELECT 1' >/dev/null 2>&1; then
    for round in $(seq "$ROUNDS"); do
        log "PostgreSQL, round $round"
        base=jwtd_djbench_$$_$round
        psql -q "$PG_URL/postgres" -c "CREATE DATABASE ${base}_j" >/dev/null
        PG_DBS+=("${base}_j")
        django_pg "${base}_d"
        instance "pj$round" $((PORT + 6)) "$PG_URL/${base}_j" jwtd "${ROTATION[@]}"
        instance "pd$round" $((PORT + 7)) "$PG_URL/${base}_d" django "${ROTATION[@]}"
        refresh_rotating "pj$round" $((PORT + 6)) pg_rotate_jwtd
        refresh_rotating "pd$round" $((PORT + 7)) pg_rotate_django
    done
else
    log "PostgreSQL at $PG_URL unavailable: its rows will say not measured"
fi

# --- report -----------------------------------------------------------------------------------------
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff-index --quiet HEAD -- 2>/dev/null || rev="$rev (uncommitted changes in the tree)"
python3 - "$WORK" "$rev" "$(nproc)" "$DURATION" "$CONNECTIONS" "$LOGIN_CONNECTIONS" "$ROUNDS" \
    "$(cut -d' ' -f1-3 /proc/loadavg)" >"$WORK/report.md" <<'EOF'
import os, statistics, sys
work, rev, nproc, duration, conns, login_conns, rounds, load = sys.argv[1:]
rows = {}
for line in open(os.path.join(work, "results")):
    key, rps, errors = line.split()
    rows.setdefault(key, []).append((float(rps), int(errors)))
def med(key):
    return statistics.median(r for r, _ in rows[key]) if key in rows else None
def errs(key):
    return sum(e for _, e in rows.get(key, []))
def pbkdf2(name):
    for line in open(os.path.join(work, name)):
        if line.startswith("RESULT "):
            return dict(kv.split("=", 1) for kv in line.split()[1:])
before, after = pbkdf2("pbkdf2.txt"), pbkdf2("pbkdf2-after.txt")
bare_ms = statistics.mean([float(before["median_ms"]), float(after["median_ms"])])
bound = int(before["threads"]) / (bare_ms / 1000)
from datetime import datetime, timezone
out = []
w = out.append
w("Run of %s on %s cores, jwtd %s: `DURATION=%s CONNECTIONS=%s LOGIN_CONNECTIONS=%s ROUNDS=%s bench/django.sh`; "
  "load average at the end %s. Django mode on databases made by Django's own DDL "
  "(`testdata/django/`); wrk 1 thread; errors = non-2xx + socket errors."
  % (datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), nproc, rev, duration, conns,
     login_conns, rounds, load))
w("")
w("| measurement | Django mode | baseline | ratio | goal | |")
w("|---|---|---|---|---|---|")
login = med("django_login")
w("| `POST /api/token/`, Django mode, `pbkdf2_sha256` 1,000,000 iterations, %s connections (req/s) vs bare PBKDF2 on %s threads at once (`jwtd-bench-pbkdf2`: %s ms before, %s ms after the run; cores ÷ mean = logins/s bound) | %.2f (errors %d) | %.2f | %.2f × | ≥ 0.9 × | **%s** |"
  % (login_conns, before["threads"], before["median_ms"], after["median_ms"], login, errs("django_login"),
     bound, login / bound, "met" if login / bound >= 0.9 else "missed"))
for label, d, j in (
    ("`POST /api/token/refresh/`, no rotation, SQLite, Django's file in WAL", "sqlite_refresh_django_wal", "sqlite_refresh_jwtd"),
    ("`POST /api/token/refresh/`, rotation + blacklist, SQLite, Django's file in WAL", "sqlite_rotate_django_wal", "sqlite_rotate_jwtd"),
    ("`POST /api/token/refresh/`, no rotation, SQLite, Django's default rollback journal", "sqlite_refresh_django", "sqlite_refresh_jwtd"),
    ("`POST /api/token/refresh/`, rotation + blacklist, SQLite, Django's default rollback journal", "sqlite_rotate_django", "sqlite_rotate_jwtd"),
    ("`POST /api/token/refresh/`, rotation + blacklist, PostgreSQL", "pg_rotate_django", "pg_rotate_jwtd"),
):
    dm, jm = med(d), med(j)
    if dm is None or jm is None:
        w("| %s (req/s, Django tables vs jwtd's schema) | not measured | | | ≥ 0.8 × | |" % label)
        continue
    w("| %s (req/s, Django tables vs jwtd's schema; median of %d alternating runs each: %s vs %s) | %.0f (errors %d) | %.0f (errors %d) | %.2f × | ≥ 0.8 × | **%s** |"
      % (label, len(rows[d]), ", ".join("%.0f" % r for r, _ in rows[d]), ", ".join("%.0f" % r for r, _ in rows[j]),
         dm, errs(d), jm, errs(j), dm / jm, "met" if dm / jm >= 0.8 else "missed"))
print("\n".join(out))
EOF
cat "$WORK/report.md"
if [ "$WRITE" = 1 ]; then
    python3 bench/write-block.py bench/django.sh "$WORK/report.md" BENCHMARKS.md "Django database mode"
    log "BENCHMARKS.md updated"
fi
