#!/usr/bin/env bash
# Builds Keydesk's Linux packages (make linux-packages):
#   dist/keydesk_VERSION-BUILD_amd64.deb and dist/keydesk-VERSION-BUILD.x86_64.rpm
# with nfpm (a tool in go.mod) from packaging/linux/nfpm.yaml: the binary
# (/usr/bin/keydesk), the desktop entry and the icon, with the libraries the
# binary links declared as dependencies.
#
# Environment: DIST (default dist), GO (default go).
set -euo pipefail
cd "$(dirname "$0")/.."

DIST="${DIST:-dist}"
GO="${GO:-go}"
out="$DIST/linux"
mkdir -p "$out"

KEYDESK_VERSION="$(sed -n 's/^ *Version *= *"\(.*\)"/\1/p' FyneApp.toml)"
KEYDESK_RELEASE="$(sed -n 's/^ *Build *= *\([0-9]*\).*/\1/p' FyneApp.toml)"
KEYDESK_BIN="$out/keydesk"
export KEYDESK_VERSION KEYDESK_RELEASE="${KEYDESK_RELEASE:-1}" KEYDESK_BIN

CGO_ENABLED=1 "$GO" build -tags migrated_fynedo -trimpath -ldflags "-s -w" -o "$KEYDESK_BIN" .

# Every shared library the binary needs must come from a declared
# dependency: compare ldd's list with the packages named in nfpm.yaml.
declared="$(sed -n '/^  deb:/,/^  rpm:/p' packaging/linux/nfpm.yaml | sed -n 's/^ *- \([a-z0-9.+-]*\).*/\1/p')"
for lib in $(ldd "$KEYDESK_BIN" | awk '$3 ~ /^\// { print $3 }'); do
	pkg="$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1)" || true
	[ -n "$pkg" ] || pkg="$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d: -f1)" || true
	if [ -n "$pkg" ] && ! grep -qx "$pkg" <<<"$declared"; then
		echo "build-linux-packages: the binary links $lib from $pkg, which packaging/linux/nfpm.yaml does not declare" >&2
		exit 1
	fi
done

for p in deb rpm; do
	"$GO" tool nfpm package --config packaging/linux/nfpm.yaml --packager "$p" --target "$DIST/"
done
ls -l "$DIST"/keydesk*.deb "$DIST"/keydesk*.rpm
