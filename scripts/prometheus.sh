#!/usr/bin/env bash
# A throw-away Prometheus for Keydesk's metrics tests: Debian's `prometheus`
# package (scripts/install-deps.sh), with its own configuration and storage,
# on a loopback address. The package's systemd service is not used.
#
#   scripts/prometheus.sh CONFIG DATA_DIR HOST:PORT
#
# runs Prometheus in the foreground (exec: the caller stops it with SIGTERM)
# with the configuration file CONFIG, its time-series database in DATA_DIR
# (created if missing) and its HTTP API on HOST:PORT, which must be a
# loopback address. PROMETHEUS overrides the binary (default: prometheus on
# PATH).
set -euo pipefail

die() { echo "prometheus.sh: $*" >&2; exit 2; }

[ $# -eq 3 ] || die "usage: scripts/prometheus.sh CONFIG DATA_DIR HOST:PORT"
config="$1" data="$2" addr="$3"
bin="${PROMETHEUS:-prometheus}"
command -v "$bin" >/dev/null 2>&1 || { echo "prometheus.sh: Prometheus is not installed; run scripts/install-deps.sh (Debian package prometheus)" >&2; exit 1; }
[ -f "$config" ] || die "no configuration file $config"
case "$addr" in
127.*:* | localhost:* | "[::1]":*) ;;
*) die "$addr is not a loopback address" ;;
esac
mkdir -p "$data"
exec "$bin" --config.file="$config" --storage.tsdb.path="$data" --web.listen-address="$addr" \
	--storage.tsdb.retention.time=1h --log.level=warn
