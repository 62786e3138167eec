package pgstore

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/keytest"
	"github.com/keydesk/keydesk/seal"
)

// The tests run on a real PostgreSQL: `make test-pg` starts a throw-away
// cluster with scripts/pg-cluster.sh and sets these.
const (
	urlEnv = "KEYDESK_TEST_PG_URL" // the cluster's superuser URL
	dirEnv = "KEYDESK_TEST_PG_DIR" // the cluster's folder (for stopping it)
)

// childEnv selects a child-process mode of the test binary (see TestMain).
const childEnv = "KEYDESK_PGSTORE_TEST_CHILD"

// TestMain lets tests re-execute the test binary as separate processes
// (several admins at once, a digest claim from two computers).
func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	os.Exit(m.Run())
}

// testMaster is a fixed master key: these tests are not about the keyring.
var testMaster = bytes.Repeat([]byte{0x5a}, seal.MasterKeySize)

func newSigner() *seal.Signer {
	s, err := seal.NewSigner(testMaster)
	if err != nil {
		panic(err)
	}
	return s
}

// runChild runs one child mode; the store's URL is in KEYDESK_TEST_STORE.
// Children print "ready", wait for a line on stdin, then act.
func runChild(mode string) int {
	ctx := context.Background()
	s, err := Open(ctx, os.Getenv("KEYDESK_TEST_STORE"), Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 4
	}
	defer s.Close()
	in := bufio.NewReader(os.Stdin)
	fmt.Println("ready")
	if _, err := in.ReadString('\n'); err != nil {
		return 4
	}
	switch mode {
	case "create25":
		svc, err := core.NewService(s, newSigner(), core.SystemClock{}, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 4
		}
		svc.Actor = "admin " + os.Getenv("KEYDESK_TEST_N")
		for i := range 25 {
			k, secret, err := svc.Create(keytest.SectionRequest(fmt.Sprintf("admin %s key %d", os.Getenv("KEYDESK_TEST_N"), i)))
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 4
			}
			fmt.Printf("%s %s\n", k.ID, secret)
		}
		return 0
	case "claim":
		slot, err := time.Parse(time.RFC3339, os.Getenv("KEYDESK_TEST_SLOT"))
		if err != nil {
			return 4
		}
		claimed, release, err := s.ClaimSlot(ctx, slot)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 4
		}
		if !claimed {
			fmt.Println("not claimed")
			return 0
		}
		fmt.Println("claimed")
		// Hold the claim until told (or killed).
		line, _ := in.ReadString('\n')
		if err := release(strings.TrimSpace(line) == "delivered"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 4
		}
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown child mode", mode)
	return 4
}

// child is a running child process of the test binary.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startChild starts the test binary in mode on the store at storeURL and
// waits until it is ready.
func startChild(t *testing.T, mode, storeURL string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, "KEYDESK_TEST_STORE="+storeURL)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	if line := c.line(t); line != "ready" {
		t.Fatalf("child %s: %q, want ready", mode, line)
	}
	return c
}

// line reads one line of the child's output.
func (c *child) line(t *testing.T) string {
	t.Helper()
	l, err := c.out.ReadString('\n')
	if err != nil {
		t.Fatalf("child output: %v", err)
	}
	return strings.TrimSpace(l)
}

func (c *child) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(c.stdin, line+"\n"); err != nil {
		t.Fatal(err)
	}
}

// wait waits for the child to exit successfully.
func (c *child) wait(t *testing.T) {
	t.Helper()
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
}

// serverURL returns the test cluster's URL, skipping the test without one.
func serverURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(urlEnv)
	if u == "" {
		t.Skipf("%s is not set: run `make test-pg` (scripts/pg-cluster.sh starts a throw-away PostgreSQL)", urlEnv)
	}
	return u
}

// withDatabase returns base with its database replaced by name.
func withDatabase(t testing.TB, base, name string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", urlEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

// withUser returns base with its user replaced by user.
func withUser(t testing.TB, base, user string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(user)
	return u.String()
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// adminExec runs SQL on the cluster's maintenance database as superuser.
func adminExec(t testing.TB, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverURL(t))
	if err != nil {
		t.Fatalf("connect to the test cluster: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// newDatabase creates an empty database for one test, dropped afterwards,
// and returns its URL.
func newDatabase(t testing.TB) string {
	t.Helper()
	base := serverURL(t)
	name := randomName("kdtest_")
	adminExec(t, "CREATE DATABASE "+name)
	t.Cleanup(func() { adminExec(t, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	return withDatabase(t, base, name)
}

// newStore initialises a store in a new database.
func newStore(t testing.TB) (*Store, string) {
	t.Helper()
	u := newDatabase(t)
	s, err := Init(context.Background(), u, InitOptions{Options: Options{OSUser: "tester", Host: "test-host"}})
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, u
}

// within waits for a value on ch, failing the test after d.
func within[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
	var zero T
	return zero
}
