#!/usr/bin/env bash
# macOS from Linux (make test-darwin): Fyne's macOS driver needs cgo and
# Apple's SDK, which Linux lacks, so every package that does not depend on
# fyne.io/fyne/v2/app (the driver) or fyne.io/fyne/v2/internal/widget (Fyne's
# widgets, which on macOS read the system's scroller style through cgo) is
# built and vetted, tests included, for darwin/arm64 and darwin/amd64 with
# cgo off. The list is computed, so a new
# package is covered as soon as it exists.
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
TAGS="${TAGS:-migrated_fynedo}"

for arch in arm64 amd64; do
	export GOOS=darwin GOARCH="$arch" CGO_ENABLED=0
	mapfile -t pkgs < <("$GO" list -e -tags "$TAGS" -f '{{.ImportPath}} {{join .Deps " "}}' ./... |
		awk '{ for (i = 2; i <= NF; i++) if ($i == "fyne.io/fyne/v2/app" || $i == "fyne.io/fyne/v2/internal/widget") next; print $1 }')
	mapfile -t skipped < <("$GO" list -e -tags "$TAGS" -f '{{.ImportPath}} {{join .Deps " "}}' ./... |
		awk '{ for (i = 2; i <= NF; i++) if ($i == "fyne.io/fyne/v2/app" || $i == "fyne.io/fyne/v2/internal/widget") { print $1; next } }')
	[ "${#pkgs[@]}" -gt 0 ] || { echo "test-darwin: no package to check" >&2; exit 1; }
	"$GO" build -tags "$TAGS" "${pkgs[@]}"
	"$GO" vet -tags "$TAGS" "${pkgs[@]}"
	echo "test-darwin: darwin/$arch: ${#pkgs[@]} packages build and vet; not checked (need the Fyne driver or its widgets): ${skipped[*]}"
done
