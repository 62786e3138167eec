#!/usr/bin/env bash
# Installs the system packages Keydesk needs to build and test:
#   - a C compiler with the GL, X11 and Wayland headers for Fyne's GLFW driver (cgo),
#   - D-Bus and gnome-keyring for the OS keyring tests (a real Secret Service),
#   - Xvfb (with xauth, which xvfb-run needs), xdotool and ImageMagick for the real-window smoke test,
#   - nginx-light for the reverse-proxy (auth_request) test of the verification API,
#   - xz-utils for the Linux package (fyne package writes a .tar.xz),
#   - postgresql for the shared-store tests (scripts/pg-cluster.sh starts a
#     throw-away cluster; the package's own cluster is not used),
#   - pgbouncer for the connection-pooler tests (scripts/pgbouncer.sh starts a
#     throw-away one in front of that cluster; the package's service is not used),
#   - mingw-w64, NSIS, icoutils and Wine (64-bit only: no i386 architecture
#     is needed) to build the Windows installer and test it under Wine,
#   - desktop-file-utils to check the Linux packages' desktop entry,
#   - Node.js and npm, and with npm Stoplight Prism (@stoplight/prism-cli), the
#     mock API server of the `keydesk request` end-to-end test,
#   - prometheus (with promtool) for the metrics end-to-end test
#     (scripts/prometheus.sh starts a throw-away one; the package's service
#     is not used).
# On Debian/Ubuntu it installs the missing ones with apt-get (through sudo when
# not root) and does nothing when all are present. Elsewhere it says what to
# install.
set -euo pipefail

PACKAGES=(gcc libc6-dev pkg-config libgl1-mesa-dev xorg-dev libwayland-dev libxkbcommon-dev wayland-protocols
	dbus dbus-x11 gnome-keyring xvfb xauth xdotool imagemagick nginx-light xz-utils
	postgresql pgbouncer gcc-mingw-w64-x86-64 nsis icoutils wine64 desktop-file-utils prometheus)

# install_prism installs Stoplight Prism with npm when it is missing.
PRISM_VERSION=5.14.2
install_prism() {
	if command -v prism >/dev/null 2>&1; then
		return
	fi
	if ! command -v npm >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
		# Debian's npm brings nodejs; not in PACKAGES, because a nodejs from
		# NodeSource already holds npm and conflicts with Debian's.
		local s=()
		[ "$(id -u)" -ne 0 ] && s=(sudo)
		DEBIAN_FRONTEND=noninteractive "${s[@]}" apt-get install -y -q --no-install-recommends npm
	fi
	if ! command -v npm >/dev/null 2>&1; then
		echo "install-deps: install Node.js and npm, then: npm install -g @stoplight/prism-cli@${PRISM_VERSION}" >&2
		return
	fi
	echo "install-deps: installing @stoplight/prism-cli@${PRISM_VERSION} with npm"
	if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
		sudo npm install -g -q "@stoplight/prism-cli@${PRISM_VERSION}"
	else
		npm install -g -q "@stoplight/prism-cli@${PRISM_VERSION}"
	fi
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	case "$(uname -s)" in
	Darwin)
		echo "install-deps: macOS needs only the Xcode command line tools (xcode-select --install) to build Keydesk;" >&2
		echo "install-deps: the Secret Service, Xvfb and nginx tests are skipped there." >&2 ;;
	MINGW* | MSYS* | CYGWIN*)
		echo "install-deps: on Windows install a C compiler for cgo (e.g. MSYS2's mingw-w64-x86_64-gcc); the Linux-only tests are skipped." >&2 ;;
	*)
		echo "install-deps: this is not Debian/Ubuntu. Install the equivalents of: ${PACKAGES[*]}" >&2
		echo "install-deps: (Fedora: mesa-libGL-devel libXcursor-devel libXrandr-devel libXinerama-devel libXi-devel libXxf86vm-devel" >&2
		echo "install-deps:  wayland-devel libxkbcommon-devel wayland-protocols-devel dbus-daemon dbus-x11 gnome-keyring" >&2
		echo "install-deps:  xorg-x11-server-Xvfb xdotool ImageMagick nginx postgresql-server pgbouncer)" >&2 ;;
	esac
	exit 0
fi

missing=()
for p in "${PACKAGES[@]}"; do
	if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != "installed" ]; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all system packages are installed."
	install_prism
	exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null 2>&1; then
		echo "install-deps: run as root or install sudo; missing packages: ${missing[*]}" >&2
		exit 1
	fi
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
install_prism
