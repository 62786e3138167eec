//go:build !windows && !darwin

package sessionbus

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/zalando/go-keyring"
)

// fakeLaunch puts a dbus-launch first on PATH that only leaves a mark (the
// real one would start a dbus-daemon that outlives the test) and returns
// the mark's path.
func fakeLaunch(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	mark := filepath.Join(t.TempDir(), "launched")
	script := "#!/bin/sh\n: > " + mark + "\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "dbus-launch"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	return mark
}

// Without a session bus, a keyring call after NoAutolaunch fails without
// launching a bus (issue 22: every run without one left a dbus-daemon
// behind); without NoAutolaunch the keyring library runs dbus-launch.
func TestNoAutolaunchKeepsTheKeyringFromLaunchingABus(t *testing.T) {
	mark := fakeLaunch(t)
	if !NoAutolaunch() {
		t.Fatal("NoAutolaunch did nothing without a session bus")
	}
	if got := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); got != Disabled {
		t.Fatalf("DBUS_SESSION_BUS_ADDRESS = %q, want %q", got, Disabled)
	}
	if _, err := keyring.Get("keydesk-test", "nobody"); err == nil || errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("keyring.Get without a bus: %v, want a connection error", err)
	}
	if _, err := os.Stat(mark); err == nil {
		t.Fatal("dbus-launch ran although auto-launching was turned off")
	}
}

// The test above can fail: without NoAutolaunch the same call runs
// dbus-launch.
func TestWithoutNoAutolaunchTheBusIsLaunched(t *testing.T) {
	mark := fakeLaunch(t)
	keyring.Get("keydesk-test", "nobody")
	if _, err := os.Stat(mark); err != nil {
		t.Fatalf("dbus-launch did not run (%v): the test of NoAutolaunch proves nothing", err)
	}
}

// A session bus that exists is left alone.
func TestNoAutolaunchLeavesAKnownBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/1000/bus")
	if NoAutolaunch() || os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "unix:path=/run/user/1000/bus" {
		t.Fatal("NoAutolaunch changed a session bus address that was set")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bus"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", dir)
	if NoAutolaunch() || os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		t.Fatal("NoAutolaunch disabled the bus at $XDG_RUNTIME_DIR/bus")
	}
}
