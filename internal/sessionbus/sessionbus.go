// Package sessionbus keeps Keydesk from starting a D-Bus session bus.
//
// The OS keyring (github.com/zalando/go-keyring, through
// github.com/godbus/dbus) and Fyne reach the Secret Service and the desktop
// over the session bus. Without one (no DBUS_SESSION_BUS_ADDRESS and no
// $XDG_RUNTIME_DIR/bus), godbus auto-launches a bus with dbus-launch, and
// the dbus-daemon it starts, with a gnome-keyring-daemon it may activate,
// outlives Keydesk. NoAutolaunch turns that off: without a session bus the
// keyring is simply unavailable, as it is, and Keydesk says so.
package sessionbus

import (
	"os"
	"path/filepath"
	"runtime"
)

// Disabled is the bus address NoAutolaunch sets: a transport godbus does not
// know, so that connecting fails at once instead of launching a bus.
const Disabled = "disabled:"

// NoAutolaunch sets DBUS_SESSION_BUS_ADDRESS to Disabled when it is unset
// (or "autolaunch:") and no session bus can be found where godbus looks for
// one ($XDG_RUNTIME_DIR/bus or $XDG_RUNTIME_DIR/dbus-session); it reports
// whether it did. Call it at the start of main, before any goroutine reads
// the environment. It does nothing on Windows and macOS, whose keyrings do
// not use D-Bus.
func NoAutolaunch() bool {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		return false
	}
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return false
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		for _, name := range []string{"bus", "dbus-session"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				return false
			}
		}
	}
	os.Setenv("DBUS_SESSION_BUS_ADDRESS", Disabled)
	return true
}
