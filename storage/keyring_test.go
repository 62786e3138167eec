package storage

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	dbus "github.com/godbus/dbus/v5"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/seal"
	"github.com/zalando/go-keyring"
)

// newStoreID returns a fresh id and removes its keyring entries at the end.
func newStoreID(t *testing.T) string {
	t.Helper()
	id, err := seal.NewStoreID()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		keyring.Delete(KeyringService, masterUser(id))
		keyring.Delete(KeyringService, smtpUser(id))
	})
	return id
}

// createOSKeyring skips unless the real OS keyring is to be used, then
// creates the signing material of a fresh store id in it (removed at the
// end of the test).
func createOSKeyring(t *testing.T) (*Keyring, string) {
	t.Helper()
	keytest.RequireKeyring(t)
	id := newStoreID(t)
	kr, err := CreateKeyring(id)
	if err != nil {
		t.Fatalf("CreateKeyring: %v", err)
	}
	return kr, id
}

func TestKeyringMasterKeyCreatedOnceAndReused(t *testing.T) {
	created, id := createOSKeyring(t)
	stored, err := keyring.Get(KeyringService, "master:"+id)
	if err != nil {
		t.Fatalf("master key not in the OS keyring: %v", err)
	}
	if m, err := base64.StdEncoding.DecodeString(stored); err != nil || len(m) != MasterKeySize {
		t.Fatalf("stored master key is not %d bytes of base64", MasterKeySize)
	}
	const secret = "kdk_7FqZ0b1c2d3e4f5g6h7i8j9k0lAmBnCoDpEqFrGsHt000000"
	want := created.Signer().DigestSecret(secret)
	for i := range 2 {
		kr, err := OpenKeyring(id)
		if err != nil {
			t.Fatalf("OpenKeyring #%d: %v", i+1, err)
		}
		if got := kr.Signer().DigestSecret(secret); !bytes.Equal(got, want) {
			t.Fatalf("OpenKeyring #%d digests differently: the master key was not reused", i+1)
		}
		rec := []byte("record")
		if !kr.Signer().VerifyRecord(rec, created.Signer().SignRecord(rec)) {
			t.Fatalf("OpenKeyring #%d does not verify records signed at creation", i+1)
		}
	}
	if after, _ := keyring.Get(KeyringService, "master:"+id); after != stored {
		t.Fatal("opening the keyring replaced the master key")
	}
	// Another store gets another master key.
	other, err := CreateKeyring(newStoreID(t))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(other.Signer().DigestSecret(secret), want) {
		t.Fatal("two stores share signing material")
	}
}

func TestKeyringDerivedKeysDifferFromMaster(t *testing.T) {
	kr, id := createOSKeyring(t)
	stored, _ := keyring.Get(KeyringService, "master:"+id)
	master, _ := base64.StdEncoding.DecodeString(stored)
	msg := "kdk_same input for both keys"
	digest := kr.Signer().DigestSecret(msg)
	record := kr.Signer().SignRecord([]byte(msg))
	m := hmac.New(sha256.New, master)
	m.Write([]byte(msg))
	raw := m.Sum(nil)
	if bytes.Equal(digest, record) || bytes.Equal(digest, raw) || bytes.Equal(record, raw) {
		t.Fatal("the digest key, the record key and the master key must be independent")
	}
}

func TestKeyringMissingMasterKey(t *testing.T) {
	kr, id := createOSKeyring(t)
	if err := kr.Forget(); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenKeyring(id); !errors.Is(err, ErrMasterKeyMissing) || errors.Is(err, ErrKeyringUnavailable) {
		t.Fatalf("OpenKeyring after Forget = %v, want ErrMasterKeyMissing", err)
	}
	if err := keyring.Set(KeyringService, "master:"+id, "not base64 of 32 bytes"); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenKeyring(id); !errors.Is(err, ErrMasterKeyInvalid) {
		t.Fatalf("OpenKeyring of a damaged entry = %v, want ErrMasterKeyInvalid", err)
	}
}

func TestKeyringMailPassword(t *testing.T) {
	keytest.RequireKeyring(t)
	kr, err := CreateKeyring(newStoreID(t))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct{ set, want string }{
		{"", ""},
		{"s3cret pass wörd", "s3cret pass wörd"},
		{"changed", "changed"},
		{"", ""},
	}
	for _, st := range steps {
		if err := kr.SetMailPassword(st.set); err != nil {
			t.Fatalf("SetMailPassword(%q): %v", st.set, err)
		}
		got, err := kr.MailPassword()
		if err != nil || got != st.want {
			t.Fatalf("MailPassword after setting %q = %q, %v", st.set, got, err)
		}
	}
}

// TestKeyringUnavailable points the Secret Service client at a dead D-Bus
// socket in a child process: creating a master key must fail with
// ErrKeyringUnavailable and its one sentence.
func TestKeyringUnavailable(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("uses the D-Bus Secret Service")
	}
	cmd := child(t, "keyring-create", t.TempDir(), "DBUS_SESSION_BUS_ADDRESS=unix:path="+t.TempDir()+"/no-such-bus")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != ErrKeyringUnavailable.Error() {
		t.Fatalf("error = %q, want %q", got, ErrKeyringUnavailable)
	}
}

// TestKeyringLocked locks the Secret Service's default collection (in a
// private D-Bus session of its own, so other tests' keyring stays
// unlocked) and checks that using a store's keyring entries then fails with
// ErrKeyringUnavailable instead of hanging or succeeding.
func TestKeyringLocked(t *testing.T) {
	keytest.RequireKeyring(t)
	for _, cmd := range []string{"dbus-run-session", "gnome-keyring-daemon"} {
		if _, err := exec.LookPath(cmd); err != nil {
			t.Skipf("%s is not installed", cmd)
		}
	}
	script := `echo pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec "$0" -test.run='^$'`
	cmd := exec.Command("dbus-run-session", "--", "sh", "-c", script, os.Args[0])
	// A daemon of its own: drop what would lead gnome-keyring-daemon to
	// an already running one, and any display, so that the unlock prompt
	// fails instead of opening a window.
	home := t.TempDir()
	runtimeDir := t.TempDir()
	for _, kv := range os.Environ() {
		switch name, _, _ := strings.Cut(kv, "="); name {
		case "GNOME_KEYRING_CONTROL", "GNOME_KEYRING_PID", "SSH_AUTH_SOCK", "DISPLAY", "WAYLAND_DISPLAY",
			"DBUS_SESSION_BUS_ADDRESS", "HOME", "XDG_RUNTIME_DIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME":
		default:
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, childEnv+"=keyring-locked", "HOME="+home, "XDG_RUNTIME_DIR="+runtimeDir,
		"XDG_DATA_HOME="+home+"/.local/share", "XDG_CONFIG_HOME="+home+"/.config", "XDG_CACHE_HOME="+home+"/.cache")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("locked keyring child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "locked: "+ErrKeyringUnavailable.Error()) {
		t.Fatalf("locked keyring child said:\n%s", out)
	}
}

// lockedKeyringChild runs inside TestKeyringLocked's private session.
func lockedKeyringChild() int {
	id, err := seal.NewStoreID()
	if err != nil {
		fmt.Println(err)
		return childFailed
	}
	if _, err := CreateKeyring(id); err != nil {
		fmt.Println("create:", err)
		return childFailed
	}
	conn, err := dbus.SessionBus()
	if err != nil {
		fmt.Println(err)
		return childFailed
	}
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets").
		Call("org.freedesktop.Secret.Service.Lock", 0, []dbus.ObjectPath{"/org/freedesktop/secrets/aliases/default"}).
		Store(&locked, &prompt); err != nil || len(locked) == 0 {
		fmt.Println("lock:", err, locked)
		return childFailed
	}
	kr, err := OpenKeyring(id)
	fmt.Println("locked:", err)
	if !errors.Is(err, ErrKeyringUnavailable) || kr != nil {
		return childUnwanted
	}
	return childOK
}
