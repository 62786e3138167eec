#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for Keydesk's tests and benchmarks: on
# loopback only, on a free port, owned by an unprivileged user (PostgreSQL
# refuses to run as root: as root the cluster runs as the `postgres` user).
#
#   scripts/pg-cluster.sh start DIR        create DIR, start a cluster in it, print its URL
#   scripts/pg-cluster.sh url DIR          print the URL of the cluster in DIR
#   scripts/pg-cluster.sh server-stop DIR  stop the server, keeping the cluster (tests)
#   scripts/pg-cluster.sh server-start DIR start it again on the same port
#   scripts/pg-cluster.sh stop DIR         stop the server and remove DIR
#   scripts/pg-cluster.sh run CMD [ARG...] start a cluster in a new folder under
#                                          /tmp, run CMD with KEYDESK_TEST_PG_URL and
#                                          KEYDESK_TEST_PG_DIR set, stop it (also on
#                                          failure or interrupt); exits with CMD's status
#
# The URL's user is the cluster's superuser `postgres`, authenticated by
# `trust` (loopback only, a throw-away cluster: never use this for real data).
# PG_BIN overrides the folder of initdb and pg_ctl (default: the newest
# /usr/lib/postgresql/*/bin, else the ones on PATH).
set -euo pipefail

die() { echo "pg-cluster: $*" >&2; exit 1; }

marker=.keydesk-pg-cluster

pg_bin() {
	if [ -n "${PG_BIN:-}" ]; then echo "$PG_BIN"; return; fi
	local d
	d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
	if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
	d="$(command -v initdb 2>/dev/null || true)"
	[ -n "$d" ] || die "PostgreSQL is not installed (initdb not found); run scripts/install-deps.sh"
	dirname "$d"
}

# as_owner runs a command as the cluster's owner: postgres when we are root.
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

check_dir() {
	[ -n "${1:-}" ] || die "name the cluster's folder"
	[ -f "$1/$marker" ] || die "$1 holds no cluster started by this script"
}

url_of() { echo "postgres://postgres@127.0.0.1:$(cat "$1/port")/postgres?sslmode=disable"; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

server_start() {
	local dir="$1" port="$2" bin
	bin="$(pg_bin)"
	as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
		-o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
}

cmd_start() {
	local dir="${1:-}" bin port tries
	[ -n "$dir" ] || die "name the cluster's folder: pg-cluster.sh start DIR"
	if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then die "$dir exists and is not empty"; fi
	bin="$(pg_bin)"
	mkdir -p "$dir"
	touch "$dir/$marker"
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || die "as root the cluster runs as the postgres user, which does not exist; install Debian's postgresql"
		chown postgres: "$dir"
		runuser -u postgres -- test -w "$dir" || die "the postgres user cannot reach $dir (a parent folder is private); use a folder under /tmp"
	fi
	as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; die "initdb failed"; }
	for tries in 1 2 3 4 5 6 7 8; do
		port=$((20000 + RANDOM % 40000))
		port_in_use "$port" && continue
		if server_start "$dir" "$port"; then
			echo "$port" >"$dir/port"
			url_of "$dir"
			return 0
		fi
	done
	cat "$dir/log" >&2 || true
	die "the server did not start (see above)"
}

cmd_stop() {
	local dir="${1:-}" bin
	check_dir "$dir"
	bin="$(pg_bin)"
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf -- "$dir"
}

cmd_run() {
	[ $# -gt 0 ] || die "name the command to run: pg-cluster.sh run CMD [ARG...]"
	local url rc
	run_dir="$(mktemp -d /tmp/keydesk-pg.XXXXXX)"
	rmdir "$run_dir"
	trap 'cmd_stop "$run_dir" || true' EXIT
	trap 'exit 130' INT TERM
	url="$(cmd_start "$run_dir")"
	echo "pg-cluster: PostgreSQL at $url" >&2
	rc=0
	KEYDESK_TEST_PG_URL="$url" KEYDESK_TEST_PG_DIR="$run_dir" "$@" || rc=$?
	return "$rc"
}

case "${1:-}" in
start) cmd_start "${2:-}" ;;
url) check_dir "${2:-}"; url_of "$2" ;;
server-stop)
	check_dir "${2:-}"
	as_owner "$(pg_bin)/pg_ctl" -D "$2/data" -m fast -w stop >/dev/null ;;
server-start)
	check_dir "${2:-}"
	server_start "$2" "$(cat "$2/port")" ;;
stop) cmd_stop "${2:-}" ;;
run) shift; cmd_run "$@" ;;
*) die "usage: pg-cluster.sh start|url|server-stop|server-start|stop DIR, or pg-cluster.sh run CMD [ARG...]" ;;
esac
