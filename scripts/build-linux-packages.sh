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

# Every library the binary links (its ELF NEEDED entries) must come from a
# package nfpm.yaml declares. GLFW loads the X11 libraries (libX11,
# libXrandr, libXcursor, libXinerama, libXi, libXxf86vm) with dlopen, so
# they are not NEEDED entries; nfpm.yaml declares them by hand.
declared="$(sed -n '/^  deb:/,/^  rpm:/p' packaging/linux/nfpm.yaml | sed -n 's/^ *- \([a-z0-9.+-]*\).*/\1/p')"
for lib in $(readelf -d "$KEYDESK_BIN" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
	pkg=""
	for dir in /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu; do
		[ -e "$dir/$lib" ] || continue
		pkg="$(dpkg -S "$dir/$lib" 2>/dev/null | head -1 | cut -d: -f1)" || true
		[ -z "$pkg" ] || break
	done
	[ -n "$pkg" ] || { echo "build-linux-packages: no Debian package provides $lib" >&2; exit 1; }
	grep -qx "$pkg" <<<"$declared" ||
		{ echo "build-linux-packages: the binary links $lib from $pkg, which packaging/linux/nfpm.yaml does not declare" >&2; exit 1; }
done

# nfpm expands variables in some fields only: fill in the binary's path.
sed "s|\${KEYDESK_BIN}|$KEYDESK_BIN|" packaging/linux/nfpm.yaml >"$out/nfpm.yaml"
for p in deb rpm; do
	"$GO" tool nfpm package --config "$out/nfpm.yaml" --packager "$p" --target "$DIST/"
done
ls -l "$DIST"/keydesk*.deb "$DIST"/keydesk*.rpm
