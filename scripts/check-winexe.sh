#!/usr/bin/env bash
# Checks a Windows build of Keydesk: scripts/check-winexe.sh Keydesk.exe VERSION
# It must be a 64-bit GUI-subsystem PE carrying Keydesk's icon, a version
# resource naming VERSION and an application manifest (wrestool, icoutils).
set -euo pipefail
exe="${1:?usage: check-winexe.sh EXE VERSION}"
version="${2:?usage: check-winexe.sh EXE VERSION}"
fail() { echo "check-winexe: $exe: $*" >&2; exit 1; }

objdump_out="$(x86_64-w64-mingw32-objdump -p "$exe")" || fail "not a PE file"
grep -q '^Magic.*020b' <<<"$objdump_out" || fail "not a 64-bit (PE32+) executable"
grep -q '^Subsystem.*(Windows GUI)' <<<"$objdump_out" || fail "not built for the GUI subsystem"

res="$(wrestool -l "$exe")" || fail "no resources"
grep -q -- '--type=14' <<<"$res" || fail "no icon group resource"
grep -q -- '--type=24' <<<"$res" || fail "no manifest"
# The version resource is UTF-16: look for the version among its strings.
wrestool -x --raw -t16 "$exe" | iconv -f UTF-16LE -t UTF-8 2>/dev/null | tr -c '[:print:]' '\n' |
	grep -qx "$version[.0-9]*" || fail "the version resource does not name $version"
# The application icon is Keydesk's (assets/icon.png), not Fyne's default.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
wrestool -x -t14 -n 32512 "$exe" >"$tmp/app.ico" || fail "the application icon does not extract"
convert "$tmp/app.ico[0]" "$tmp/app.png" || fail "the application icon does not decode"
compare -metric AE -fuzz 2% "$tmp/app.png" "$(dirname "$0")/../assets/icon.png" null: 2>/dev/null ||
	fail "the application icon is not assets/icon.png"
echo "check-winexe: $exe: PE32+, GUI subsystem, Keydesk's icon, version $version, manifest"
