#!/usr/bin/env bash
# bench/compare.sh — ledgerd against the PostgreSQL alternative (bench/pgref)
# on the payshards-deduct scenario, on this machine.
#
# It starts a throwaway PostgreSQL (installing it from Debian if initdb is
# missing) in a temporary directory with fsync=on and synchronous_commit=on
# (the defaults, asserted), builds and starts pgref seeded with USERS users
# u0..uUSERS-1 at SEED_BALANCE, runs
#
#   ledgerbench run --scenario payshards-deduct \
#     --targets ledgerd,ceiling,ext:pgref=http://127.0.0.1:PORT,KEY --users USERS "$@"
#
# and prints ledgerd's throughput and latency relative to pgref. Everything
# it started is stopped on exit, and the temporary directory removed.
#
# Usage: bench/compare.sh [extra ledgerbench run flags]
# Environment: USERS (10000), SEED_BALANCE (ledgerbench's CreditAmount,
# 9000000000000), POOL (pgref's connections, 64), KEEP=1 keeps the temporary
# directory (PostgreSQL and pgref logs), PG_OPTS (extra postgres -c options,
# e.g. "-c shared_buffers=512MB").
set -euo pipefail

USERS=${USERS:-10000}
SEED_BALANCE=${SEED_BALANCE:-9000000000000}
POOL=${POOL:-64}
API_KEY=pk_bench_pgref
DB=pgref

cd "$(dirname "$0")/.."
[ -d cmd/ledgerbench ] || die "cmd/ledgerbench is missing: nothing to run the load with"
command -v go >/dev/null || die "go is not on PATH"

log() { printf 'compare: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# --- PostgreSQL binaries ----------------------------------------------------

find_pg_bin() {
	# initdb on PATH may be a symlink (/usr/local/bin): use its real directory,
	# where pg_ctl, postgres and psql live too.
	local d
	if command -v initdb >/dev/null; then
		d=$(dirname "$(readlink -f "$(command -v initdb)")")
		if [ -x "$d/pg_ctl" ] && [ -x "$d/psql" ]; then
			echo "$d"
			return
		fi
	fi
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5n | tail -n1 || true)
	if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/psql" ]; then
		echo "$d"
	fi
}

PG_BIN=$(find_pg_bin)
if [ -z "$PG_BIN" ]; then
	log "PostgreSQL not found: installing it from Debian (apt-get install postgresql)"
	SUDO=
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null || die "need root or sudo to install postgresql"
		SUDO=sudo
	fi
	$SUDO apt-get update
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y postgresql
	PG_BIN=$(find_pg_bin)
	[ -n "$PG_BIN" ] || die "postgresql installed but initdb not found in /usr/lib/postgresql/*/bin"
	# The package may have started its own cluster (on systems with an init
	# system); this script promised to leave nothing running it started.
	if command -v pg_lsclusters >/dev/null; then
		pg_lsclusters --no-header 2>/dev/null | while read -r ver name _port status _; do
			if [ "$status" = online ]; then
				log "stopping the cluster $ver/$name the package started"
				$SUDO pg_ctlcluster "$ver" "$name" stop || true
			fi
		done
	fi
fi
log "PostgreSQL binaries: $PG_BIN ($("$PG_BIN/postgres" --version))"

# --- cleanup ------------------------------------------------------------------

TMP=$(mktemp -d /tmp/pgref-compare.XXXXXX) # short: the socket path must fit 107 bytes
PGDATA="$TMP/data"
PGREF_PID=
PG_STARTED=

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$PGREF_PID" ] && kill -0 "$PGREF_PID" 2>/dev/null; then
		kill -TERM "$PGREF_PID" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$PGREF_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PGREF_PID" 2>/dev/null || true
		wait "$PGREF_PID" 2>/dev/null || true
	fi
	if [ -n "$PG_STARTED" ]; then
		as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		log "kept $TMP"
	else
		rm -rf "$TMP"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- start PostgreSQL -------------------------------------------------------------

if [ "$(id -u)" = 0 ]; then
	id postgres >/dev/null 2>&1 || die "running as root and there is no postgres user to run PostgreSQL as"
	chown postgres: "$TMP"
fi
as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 >"$TMP/initdb.log" 2>&1 ||
	{ cat "$TMP/initdb.log" >&2; die "initdb failed"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

PG_PORT=
for _ in 1 2 3 4 5 6 7 8; do
	p=$((20000 + RANDOM % 40000))
	port_in_use "$p" && continue
	if as_pg "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$TMP/postgres.log" -w -t 30 \
		-o "-c listen_addresses=127.0.0.1 -p $p -k $TMP ${PG_OPTS:-}" start >/dev/null; then
		PG_PORT=$p
		PG_STARTED=1
		break
	fi
done
[ -n "$PG_PORT" ] || { tail -n 20 "$TMP/postgres.log" >&2 || true; die "PostgreSQL did not start"; }

psql_q() { "$PG_BIN/psql" -h "$TMP" -p "$PG_PORT" -U postgres -d "${2:-postgres}" -XAtq -c "$1"; }
for setting in fsync synchronous_commit; do
	v=$(psql_q "SHOW $setting")
	[ "$v" = on ] || die "PostgreSQL $setting is '$v'; the comparison needs on"
done
log "PostgreSQL $(psql_q 'SHOW server_version') on 127.0.0.1:$PG_PORT (socket in $TMP):" \
	"fsync=on synchronous_commit=on wal_sync_method=$(psql_q 'SHOW wal_sync_method')" \
	"shared_buffers=$(psql_q 'SHOW shared_buffers') max_connections=$(psql_q 'SHOW max_connections')"
psql_q "CREATE DATABASE $DB"

# --- build and start pgref ------------------------------------------------------

log "building pgref and ledgerbench"
go build -o "$TMP/pgref" ./bench/pgref
go build -o "$TMP/ledgerbench" ./cmd/ledgerbench

"$TMP/pgref" --listen 127.0.0.1:0 --api-key "$API_KEY" --pool "$POOL" --reset \
	--seed-users "$USERS" --seed-balance "$SEED_BALANCE" \
	--dsn "host=$TMP port=$PG_PORT user=postgres dbname=$DB sslmode=disable" \
	>"$TMP/pgref.out" 2>"$TMP/pgref.log" &
PGREF_PID=$!
PGREF_ADDR=
for _ in $(seq 600); do # seeding 1e6 users takes a few seconds
	PGREF_ADDR=$(head -n1 "$TMP/pgref.out" 2>/dev/null || true)
	[ -n "$PGREF_ADDR" ] && break
	kill -0 "$PGREF_PID" 2>/dev/null || { cat "$TMP/pgref.log" >&2; die "pgref exited"; }
	sleep 0.1
done
[ -n "$PGREF_ADDR" ] || die "pgref did not print its address"
psql_q "VACUUM ANALYZE" "$DB"
log "pgref on http://$PGREF_ADDR, $USERS users at $SEED_BALANCE, $POOL connections"

# --- run the load -------------------------------------------------------------------

"$TMP/ledgerbench" run --scenario payshards-deduct \
	--targets "ledgerd,ceiling,ext:pgref=http://$PGREF_ADDR,$API_KEY" \
	--users "$USERS" "$@" | tee "$TMP/ledgerbench.out"

# ledgerd relative to pgref, from the text table: drop the "(0.50×)"
# ratios to the ceiling, then columns are target ok/s p50 p90 p99 p99.9 max.
awk '
	{ gsub(/\([0-9.]+×\)/, ""); }
	$1 == "ledgerd" && $2 ~ /^[0-9.]+$/ { lt = $2; l50 = $3; l99 = $5 }
	$1 == "pgref"   && $2 ~ /^[0-9.]+$/ { pt = $2; p50 = $3; p99 = $5 }
	END {
		if (lt == "" || pt == "" || pt == 0) { print "compare: no ledgerd and pgref rows to compare"; exit }
		printf "ledgerd vs pgref: throughput %.2f× (%s vs %s ok/s)", lt / pt, lt, pt
		if (l50 > 0 && l99 > 0) printf ", p50 %.2f× lower (%s vs %s ms), p99 %.2f× lower (%s vs %s ms)", p50 / l50, l50, p50, p99 / l99, l99, p99
		printf "\n"
	}' "$TMP/ledgerbench.out"
