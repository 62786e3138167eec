#!/usr/bin/env bash
# Builds Keydesk for Windows on Linux (make windows):
#   dist/windows/Keydesk.exe   the window (GUI subsystem) with icon, version
#                              and manifest, by `fyne package -os windows`
#                              through mingw-w64
#   dist/windows/keydesk.com   the same binary marked for the console
#                              subsystem (cmd/winexe): the command line
#   dist/windows/winpath.exe   the helper the installer runs to add its
#                              folder to the user's PATH (cmd/winpath)
#   dist/Keydesk-VERSION-setup.exe   the per-user NSIS installer
# and checks that the binary carries its version, icon and manifest.
#
# Environment: DIST (default dist), GO (default go), WIN_CC (default
# x86_64-w64-mingw32-gcc).
set -euo pipefail
cd "$(dirname "$0")/.."

DIST="${DIST:-dist}"
GO="${GO:-go}"
WIN_CC="${WIN_CC:-x86_64-w64-mingw32-gcc}"
out="$DIST/windows"

for tool in "$WIN_CC" makensis wrestool convert; do
	command -v "$tool" >/dev/null || { echo "build-windows: $tool is missing; run scripts/install-deps.sh" >&2; exit 1; }
done

version="$(sed -n 's/^ *Version *= *"\(.*\)"/\1/p' FyneApp.toml)"
build="$(sed -n 's/^ *Build *= *\([0-9]*\).*/\1/p' FyneApp.toml)"
[ -n "$version" ] || { echo "build-windows: no Version in FyneApp.toml" >&2; exit 1; }
version4="$version.${build:-0}"
mkdir -p "$out" "$DIST/tools"

# The fyne tool for this machine: `go tool fyne` with GOOS=windows would
# build the tool itself for Windows.
"$GO" build -o "$DIST/tools/fyne" fyne.io/tools/cmd/fyne

# fyne package may bump Build in FyneApp.toml and leaves files beside it:
# put FyneApp.toml back and clear them whatever happens.
cp FyneApp.toml "$DIST/.FyneApp.toml.orig"
trap 'cp "$DIST/.FyneApp.toml.orig" FyneApp.toml; rm -f "$DIST/.FyneApp.toml.orig" Keydesk.exe' EXIT
start=$SECONDS
GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC="$WIN_CC" \
	"$DIST/tools/fyne" package -os windows --release -tags migrated_fynedo
mv -f Keydesk.exe "$out/Keydesk.exe"
echo "build-windows: Keydesk.exe built in $((SECONDS - start)) s"

"$GO" run ./cmd/winexe -o "$out/keydesk.com" "$out/Keydesk.exe"
# The installer's PATH helper (see packaging/windows/keydesk.nsi): pure Go,
# no cgo, stripped (about 2 MB, under 1 MB in the installer).
GOOS=windows GOARCH=amd64 CGO_ENABLED=0 "$GO" build -trimpath -ldflags="-s -w" -o "$out/winpath.exe" ./cmd/winpath
convert assets/icon.png -define icon:auto-resize=256,64,48,32,16 "$out/keydesk.ico"
scripts/check-winexe.sh "$out/Keydesk.exe" "$version"

setup="$DIST/Keydesk-$version-setup.exe"
# makensis spends most of this script's time (LZMA over two 27 MB
# binaries): skip it when the installer's inputs are what they were.
inputs="$(cat "$out/Keydesk.exe" "$out/keydesk.com" "$out/winpath.exe" "$out/keydesk.ico" packaging/windows/keydesk.nsi |
	sha256sum | cut -d' ' -f1) $version4 $(makensis -VERSION)"
if [ -s "$setup" ] && [ "$(cat "$setup.inputs" 2>/dev/null)" = "$inputs" ]; then
	echo "build-windows: $setup is up to date"
	exit 0
fi
rm -f "$setup.inputs"
makensis -V2 -DVERSION="$version" -DVERSION4="$version4" -DSRCDIR="$(realpath "$out")" -DOUTFILE="$(realpath "$DIST")/Keydesk-$version-setup.exe" \
	packaging/windows/keydesk.nsi
echo "$inputs" >"$setup.inputs"
echo "build-windows: $out/Keydesk.exe $(stat -c %s "$out/Keydesk.exe") bytes; $setup $(stat -c %s "$setup") bytes"
