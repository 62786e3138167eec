#!/usr/bin/env bash
# Runs a command against a real, unlocked Secret Service: a private D-Bus
# session with gnome-keyring-daemon, HOME in a temporary folder (so the
# developer's own keyring is never touched) and KEYDESK_KEYRING_TESTS=1, which
# the keyring and end-to-end tests require before they use the OS keyring.
#
#   scripts/with-keyring.sh go test ./storage/...
set -euo pipefail

if [ "${1:-}" != "--inside" ]; then
	for cmd in dbus-run-session gnome-keyring-daemon; do
		if ! command -v "$cmd" >/dev/null 2>&1; then
			echo "with-keyring: $cmd is missing; run scripts/install-deps.sh (Debian/Ubuntu: dbus gnome-keyring)" >&2
			exit 1
		fi
	done
	# Keep Go's caches where they are: a new HOME would otherwise mean a
	# new, empty build cache and module cache.
	if command -v go >/dev/null 2>&1; then
		GOCACHE="$(go env GOCACHE)" GOMODCACHE="$(go env GOMODCACHE)" GOPATH="$(go env GOPATH)"
		export GOCACHE GOMODCACHE GOPATH
	fi
	exec dbus-run-session -- "$0" --inside "$@"
fi
shift

home="$(mktemp -d "${TMPDIR:-/tmp}/keydesk-keyring-home.XXXXXX")"
trap 'kill "${GNOME_KEYRING_PID:-}" 2>/dev/null || true; rm -rf "$home"' EXIT
export HOME="$home" XDG_DATA_HOME="$home/.local/share" XDG_CONFIG_HOME="$home/.config" XDG_CACHE_HOME="$home/.cache"
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
# An empty password fails to create the login keyring: use a throw-away one.
eval "$(echo keydesk-test | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL GNOME_KEYRING_PID 2>/dev/null || true
export KEYDESK_KEYRING_TESTS=1
"$@"
