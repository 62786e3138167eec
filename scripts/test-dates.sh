#!/usr/bin/env bash
# Runs the headless tests as if today were OFFSET_DAYS days later (default
# 400): a test that mixes a fixed date with the real clock (a key created on
# a fixed test clock, then checked with the real one) passes today and fails
# on some later day, and this run finds it today.
#
#   scripts/test-dates.sh [PACKAGE...]     (default: ./...)
#
# Go reads the wall clock through the vDSO, not libc, so libfaketime cannot
# move it: the script copies the Go toolchain into a cache folder once and
# patches that copy's time.Now to add the offset (monotonic readings are
# untouched, so timeouts and durations behave as usual). Only this run uses
# the copy; nothing else changes.
set -euo pipefail

offset_days="${OFFSET_DAYS:-400}"
go_bin="${GO:-go}"
goroot="$("$go_bin" env GOROOT)"
version="$("$go_bin" env GOVERSION)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/keydesk-test-dates/$version-$offset_days"

if [ ! -x "$cache/go/bin/go" ]; then
	rm -rf "$cache.tmp"
	mkdir -p "$cache.tmp"
	cp -a "$goroot" "$cache.tmp/go"
	src="$cache.tmp/go/src/time/time.go"
	anchor='	sec, nsec, mono := runtimeNow()'
	if [ "$(grep -cxF "$anchor" "$src")" != 1 ]; then
		echo "test-dates: $version's time.Now no longer reads the clock as this script expects; update the anchor in $0" >&2
		exit 1
	fi
	awk -v anchor="$anchor" -v add="	sec += $offset_days * 86400 // scripts/test-dates.sh" \
		'{ print } $0 == anchor { print add }' "$src" >"$src.new"
	mv "$src.new" "$src"
	rm -rf "$cache"
	mv "$cache.tmp" "$cache"
fi

export GOROOT="$cache/go" PATH="$cache/go/bin:$PATH"
echo "test-dates: running the tests as if today were $(date -u -d "+$offset_days days" +%F), not $(date -u +%F)"
[ $# -gt 0 ] || set -- ./...
CGO_ENABLED=0 go test -count=1 -tags ci,migrated_fynedo "$@"
