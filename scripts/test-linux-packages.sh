#!/usr/bin/env bash
# Installs the .deb that make linux-packages built with dpkg -i, runs the
# installed keydesk from /usr/bin, checks the desktop entry and icon, and
# removes the package again (make test-linux-packages). It changes the
# system's packages, so it runs as root (CI) or through sudo, and refuses to
# touch a keydesk package that was installed before it.
set -euo pipefail
cd "$(dirname "$0")/.."
DIST="${DIST:-dist}"
fail() { echo "test-linux-packages: $*" >&2; exit 1; }

deb="$(ls "$DIST"/keydesk_*_amd64.deb 2>/dev/null | tail -1)"
rpm="$(ls "$DIST"/keydesk-*.x86_64.rpm 2>/dev/null | tail -1)"
[ -n "$deb" ] || fail "no .deb in $DIST: run make linux-packages"
[ -s "$rpm" ] || fail "no .rpm in $DIST: run make linux-packages"

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || fail "needs root or sudo to install the .deb"
	sudo=(sudo -n)
fi
if [ "$(dpkg-query -W -f='${db:Status-Status}' keydesk 2>/dev/null || true)" = installed ]; then
	echo "test-linux-packages: a keydesk package is already installed here; not touching it (skipped)"
	exit 0
fi

# The package's metadata: its dependencies and files.
info="$(dpkg-deb -I "$deb")"
for dep in libgl1 libx11-6 libxrandr2 libxcursor1 libxinerama1 libxi6 libxxf86vm1; do
	grep -q "Depends:.*\b$dep\b" <<<"$info" || fail "$deb does not depend on $dep"
done
files="$(dpkg-deb -c "$deb")"
for f in ./usr/bin/keydesk ./usr/share/applications/io.keydesk.app.desktop ./usr/share/icons/hicolor/512x512/apps/io.keydesk.app.png; do
	grep -q " $f\$" <<<"$files" || fail "$deb lacks $f"
done

trap '"${sudo[@]}" dpkg -r keydesk >/dev/null 2>&1 || true' EXIT
"${sudo[@]}" dpkg -i "$deb" >/dev/null
[ -x /usr/bin/keydesk ] || fail "dpkg -i did not install /usr/bin/keydesk"
if command -v desktop-file-validate >/dev/null; then
	desktop-file-validate /usr/share/applications/io.keydesk.app.desktop || fail "the desktop entry is not valid"
fi
home="$(mktemp -d)"
want_version="$(sed -n 's/^ *Version *= *"\(.*\)"/\1/p' FyneApp.toml)"
got_version="$(/usr/bin/keydesk --version)"
[ "$got_version" = "keydesk version $want_version" ] || fail "keydesk --version printed \"$got_version\", want version $want_version"
/usr/bin/keydesk --help | grep -q '^  keydesk \[' || fail "keydesk --help printed no usage"
out="$(HOME="$home" KEYDESK_DATA= /usr/bin/keydesk --demo keys list)"
rm -rf "$home"
[ "$(grep -c . <<<"$out")" -ge 3 ] || fail "keydesk --demo keys list printed $out"
"${sudo[@]}" dpkg -r keydesk >/dev/null
trap - EXIT
[ ! -e /usr/bin/keydesk ] || fail "dpkg -r left /usr/bin/keydesk"
[ ! -e /usr/share/applications/io.keydesk.app.desktop ] || fail "dpkg -r left the desktop entry"
echo "test-linux-packages: $deb installed, ran (--version, --help, --demo keys list) and removed; $(stat -c %s "$deb") bytes; $rpm $(stat -c %s "$rpm") bytes"
