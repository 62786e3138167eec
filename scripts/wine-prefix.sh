#!/usr/bin/env bash
# Creates a throw-away 64-bit Wine prefix for Keydesk's Windows tests:
#   scripts/wine-prefix.sh DIR
# DIR must not exist or be empty. It runs wineboot (no desktop integration:
# no menu entries or file associations are written to the Linux desktop) and
# installs the ProcessPrng stand-in (scripts/wine/processprng.c) as
# system32\bcryptprimitives.dll: Debian 12's Wine 8 lacks that DLL, which
# every Go 1.24+ program loads at start. The stand-in goes into this test
# prefix only, never into the installer.
#
# Environment: WINE64 (default /usr/lib/wine/wine64, Debian's wine64),
# MINGW_CC (default x86_64-w64-mingw32-gcc).
set -euo pipefail

dir="${1:?usage: scripts/wine-prefix.sh DIR}"
here="$(cd "$(dirname "$0")" && pwd)"
WINE64="${WINE64:-/usr/lib/wine/wine64}"
MINGW_CC="${MINGW_CC:-x86_64-w64-mingw32-gcc}"
[ -x "$WINE64" ] || { echo "wine-prefix: $WINE64 is missing; run scripts/install-deps.sh" >&2; exit 1; }
command -v "$MINGW_CC" >/dev/null || { echo "wine-prefix: $MINGW_CC is missing; run scripts/install-deps.sh" >&2; exit 1; }

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
if [ -n "$(ls -A "$dir")" ]; then
	echo "wine-prefix: $dir is not empty" >&2
	exit 1
fi

export WINEPREFIX="$dir/prefix" WINEARCH=win64 WINEDEBUG=-all
# No Mono/Gecko install prompts, no menu entries or MIME types on the host.
export WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
# A display is not needed to boot the prefix.
unset DISPLAY WAYLAND_DISPLAY

"$MINGW_CC" -O2 -shared -o "$dir/bcryptprimitives.dll" \
	"$here/wine/processprng.c" "$here/wine/processprng.def" -ladvapi32
"$WINE64" wineboot --init >/dev/null 2>&1
"$(dirname "$WINE64")/wineserver" -w
cp "$dir/bcryptprimitives.dll" "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
echo "wine-prefix: $WINEPREFIX ready"
