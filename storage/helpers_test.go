package storage

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/seal"
	berrors "go.etcd.io/bbolt/errors"
)

// childEnv selects a child-process mode of the test binary (see TestMain).
const childEnv = "KEYDESK_STORAGE_TEST_CHILD"

// TestMain lets tests re-execute the test binary as a separate process:
// bbolt's file lock is per process, and a crash needs a process to kill.
func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	os.Exit(m.Run())
}

// Child exit codes.
const (
	childOK       = 0
	childUnwanted = 3
	childFailed   = 4
)

func runChild(mode string) int {
	dir := os.Getenv("KEYDESK_TEST_DIR")
	switch mode {
	case "open":
		// Try to open a folder that the parent holds.
		s, err := Open(dir, Options{Timeout: 200 * time.Millisecond})
		if err == nil {
			s.Close()
			fmt.Println("opened")
			return childUnwanted
		}
		fmt.Println(err)
		if errors.Is(err, ErrAlreadyOpen) {
			return childOK
		}
		return childFailed
	case "create":
		// Create keys until killed, printing "id secret" after each
		// Create has returned (is committed).
		master, err := hex.DecodeString(os.Getenv("KEYDESK_TEST_MASTER"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return childFailed
		}
		s, err := Open(dir, Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return childFailed
		}
		signer, err := seal.NewSigner(master)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return childFailed
		}
		svc, err := core.NewService(s, signer, core.SystemClock{}, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return childFailed
		}
		svc.Actor = "crash-test"
		for i := 0; ; i++ {
			k, secret, err := svc.Create(keytest.SectionRequest(fmt.Sprintf("crash key %d", i)))
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return childFailed
			}
			fmt.Printf("%s %s\n", k.ID, secret)
		}
	case "keyring-locked":
		// Create a master key, lock the keyring, then use it again.
		return lockedKeyringChild()
	case "keyring-create":
		// Create a master key with whatever keyring the environment gives.
		_, err := CreateKeyring("child-" + hex.EncodeToString(randomBytes(4)))
		fmt.Println(err)
		if errors.Is(err, ErrKeyringUnavailable) {
			return childOK
		}
		return childUnwanted
	}
	fmt.Fprintln(os.Stderr, "unknown child mode", mode)
	return childFailed
}

// child returns a command running the test binary in mode with dir.
func child(t *testing.T, mode, dir string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, "KEYDESK_TEST_DIR="+dir)
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

// testMaster is a fixed master key for tests that are not about the keyring.
var testMaster = bytes.Repeat([]byte{0x5a}, MasterKeySize)

func testSigner(t *testing.T) *seal.Signer {
	t.Helper()
	s, err := seal.NewSigner(testMaster)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// openStore opens a store in a fresh folder under t.TempDir(). At the end
// of the test it checks the database (bbolt's page checks and the store's
// own, Store.Check) unless the test closed it, then closes it, as bbolt's
// btesting does.
func openStore(t *testing.T) (*Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	checkOnCleanup(t, s)
	return s, dir
}

// checkOnCleanup checks s at the end of the test (if still open) and
// closes it.
func checkOnCleanup(t *testing.T, s *Store) {
	t.Helper()
	t.Cleanup(func() {
		if err := s.Check(); errors.Is(err, berrors.ErrDatabaseNotOpen) {
			return // the test closed it
		} else if err != nil {
			t.Errorf("database check at the end of the test: %v", err)
		}
		if err := checkSealState(s); err != nil {
			t.Errorf("sealed state at the end of the test: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("close at the end of the test: %v", err)
		}
	})
}

// checkSealState checks that a sealed store's in-memory state (generation,
// record count, accumulator) is what the file's records give and that the
// file's state MAC matches it: the O(1) updates of every change add up.
func checkSealState(s *Store) error {
	if !s.Sealed() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, err := s.scan(s.signer)
	if err != nil {
		return err
	}
	st, mac := sc.state, sc.mac
	if sc.format != stateV4 {
		return errors.New("a sealed store is not at the current schema")
	}
	if st != s.state {
		return fmt.Errorf("records give generation %d, %d records; the store tracked %d, %d (or another set of the same size)",
			st.gen, st.set.Count, s.state.gen, s.state.set.Count)
	}
	if !bytes.Equal(mac, st.mac(s.signer, s.storeID)) {
		return errors.New("the state MAC in the file does not match the records")
	}
	return nil
}

// openSealedIn opens a sealed store in a fresh folder (checked at the end
// of the test), with its keyring entries in backend (NewMemoryKeyring for
// tests not about the OS keyring).
func openSealedIn(t *testing.T, backend KeyringBackend) (*Store, *Keyring, string) {
	t.Helper()
	s, dir := openStore(t)
	kr, err := CreateKeyringIn(backend, s.StoreID())
	if err != nil {
		t.Fatalf("CreateKeyringIn: %v", err)
	}
	t.Cleanup(func() { kr.Forget() })
	if err := s.Seal(kr); err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return s, kr, dir
}

func newService(t *testing.T, s core.Store, now time.Time) *core.Service {
	t.Helper()
	svc, err := core.NewService(s, testSigner(t), core.FixedClock(now), nil)
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	svc.Actor = "tester"
	return svc
}

func event(action core.AuditAction, id string) core.AuditEvent {
	return core.AuditEvent{Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Actor: "tester", Action: action, KeyID: id}
}

func auditLen(t *testing.T, s *Store) int {
	t.Helper()
	evs, err := s.Audit()
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}
