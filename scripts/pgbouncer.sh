#!/usr/bin/env bash
# A throw-away PgBouncer in front of a test cluster (scripts/pg-cluster.sh),
# for Keydesk's connection-pooler tests: on loopback only, on a free port,
# authenticating nobody (auth_type=trust, the cluster's superuser
# `postgres` only: never use this for real data). As root it runs as the
# `postgres` user.
#
#   scripts/pgbouncer.sh start DIR MODE PGURL  create DIR, start PgBouncer there with
#                                              pool_mode MODE (session or transaction) in
#                                              front of the cluster at PGURL, print its URL
#   scripts/pgbouncer.sh stop DIR              stop it and remove DIR
set -euo pipefail

die() { echo "pgbouncer.sh: $*" >&2; exit 1; }

marker=.keydesk-pgbouncer

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cmd_start() {
	local dir="${1:-}" mode="${2:-}" pgurl="${3:-}" pgport port tries
	[ -n "$dir" ] && [ -n "$pgurl" ] || die "usage: pgbouncer.sh start DIR session|transaction PGURL"
	case "$mode" in session | transaction) ;; *) die "pool mode $mode: say session or transaction" ;; esac
	command -v pgbouncer >/dev/null 2>&1 || die "PgBouncer is not installed; run scripts/install-deps.sh"
	pgport="$(echo "$pgurl" | sed -n 's#^postgres://[^@]*@127\.0\.0\.1:\([0-9]*\)/.*#\1#p')"
	[ -n "$pgport" ] || die "$pgurl is not a loopback cluster URL from pg-cluster.sh"
	if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then die "$dir exists and is not empty"; fi
	mkdir -p "$dir"
	chmod 0755 "$dir"
	touch "$dir/$marker"
	echo '"postgres" ""' >"$dir/userlist.txt"
	if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$dir"; fi
	for tries in 1 2 3 4 5 6 7 8; do
		port=$((20000 + RANDOM % 40000))
		port_in_use "$port" && continue
		cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$pgport
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = $mode
max_client_conn = 500
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
		if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir/pgbouncer.ini"; fi
		if as_owner pgbouncer -d -q "$dir/pgbouncer.ini"; then
			for _ in $(seq 1 100); do
				if port_in_use "$port"; then
					echo "$port" >"$dir/port"
					echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
					return 0
				fi
				sleep 0.1
			done
			cmd_stop_only "$dir"
		fi
	done
	cat "$dir/pgbouncer.log" >&2 2>/dev/null || true
	die "PgBouncer did not start"
}

cmd_stop_only() {
	local dir="$1"
	if [ -f "$dir/pgbouncer.pid" ]; then
		kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
		for _ in $(seq 1 50); do
			[ -f "$dir/pgbouncer.pid" ] || break
			kill -0 "$(cat "$dir/pgbouncer.pid" 2>/dev/null)" 2>/dev/null || break
			sleep 0.1
		done
	fi
}

cmd_stop() {
	local dir="${1:-}"
	[ -n "$dir" ] && [ -f "$dir/$marker" ] || die "$dir holds no PgBouncer started by this script"
	cmd_stop_only "$dir"
	rm -rf "$dir"
}

case "${1:-}" in
start) shift; cmd_start "$@" ;;
stop) shift; cmd_stop "$@" ;;
*) die "usage: pgbouncer.sh start DIR session|transaction PGURL, or pgbouncer.sh stop DIR" ;;
esac
