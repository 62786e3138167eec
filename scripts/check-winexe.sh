#!/usr/bin/env bash
# Checks a Windows build of Keydesk: scripts/check-winexe.sh Keydesk.exe VERSION
# It must be a 64-bit GUI-subsystem PE carrying an icon group, a version
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
grep -q -- '--type=3 ' <<<"$res" || fail "no icon resource"
grep -q -- '--type=24' <<<"$res" || fail "no manifest"
# The version resource is UTF-16: look for ProductVersion's value.
wrestool -x -t16 "$exe" | iconv -f UTF-16LE -t UTF-8 2>/dev/null | tr -c '[:print:]' '\n' |
	grep -qx "$version[.0-9]*" || fail "the version resource does not name $version"
icon="$(mktemp --suffix=.ico)"
trap 'rm -f "$icon"' EXIT
wrestool -x -t14 "$exe" >/dev/null || fail "the icon group does not extract"
wrestool -x --type=group_icon "$exe" -o "$icon" 2>/dev/null || true
echo "check-winexe: $exe: PE32+, GUI, icon, version $version, manifest"
