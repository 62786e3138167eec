package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/syncbuf"
	"github.com/keydesk/keydesk/workspace"
	"github.com/zalando/go-keyring"
)

// serving is a `keydesk serve` running in-process.
type serving struct {
	url    string
	line   string // the address line
	stop   context.CancelFunc
	code   chan int
	stdout *syncbuf.Buffer
	stderr *syncbuf.Buffer
}

// startServe runs Main with args (which end in serve ...) and waits for the
// line announcing the address. The test stops it through Env.Context.
func startServe(t *testing.T, args ...string) *serving {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())

	pr, pw := io.Pipe()
	s := &serving{stop: cancel, code: make(chan int, 1), stdout: &syncbuf.Buffer{}, stderr: &syncbuf.Buffer{}}
	go func() {
		code := Main(args, &Env{Stdin: strings.NewReader(""), Stdout: pw, Stderr: s.stderr, Getenv: allowNow, Context: ctx})
		pw.Close()
		s.code <- code
	}()
	t.Cleanup(func() {
		cancel()
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	go func() { _, _ = io.Copy(s.stdout, pr) }()
	if err != nil {
		t.Fatalf("serve printed no address (exit %d): %v\n%s", <-s.code, err, s.stderr.String())
	}
	m := regexp.MustCompile(`http://\S+`).FindString(line)
	if m == "" {
		t.Fatalf("no URL in %q", line)
	}
	s.url, s.line = m, line
	return s
}

func TestServeCommand(t *testing.T) {
	keyring.MockInit()
	dir := filepath.Join(t.TempDir(), "data")
	created := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	b, err := workspace.Open(workspace.Options{Dir: dir, Now: created})
	if err != nil {
		t.Fatal(err)
	}
	k, secret, err := b.Service().Create(core.CreateRequest{Name: "users reader", Permissions: core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"users": core.AccessRead}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	now := created.Add(time.Hour)
	s := startServe(t, "--data", dir, "--now", now.Format(time.RFC3339), "serve", "--listen", "127.0.0.1:0")

	resp, err := http.Get(s.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, body)
	}

	reqBody, _ := json.Marshal(map[string]string{"key": secret, "operation": "users.list"})
	resp, err = http.Post(s.url+"/v1/keys/verify", "application/json", bytes.NewReader(reqBody))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Allowed bool
		Reason  string
		Key     struct{ ID string }
	}
	err = json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	if err != nil || !v.Allowed || v.Reason != "ok" || v.Key.ID != k.ID {
		t.Fatalf("verify: %v %+v", err, v)
	}

	req, _ := http.NewRequest("GET", s.url+"/v1/auth", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("X-Forwarded-Method", "DELETE")
	req.Header.Set("X-Forwarded-Uri", "/v2/users/u1")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("auth for a write with a read-only key: %d", resp.StatusCode)
	}

	s.stop()
	if code := <-s.code; code != 0 {
		t.Fatalf("serve exited %d: %s", code, s.stderr.String())
	}
	if strings.Contains(s.stderr.String(), secret) || strings.Contains(s.stdout.String(), secret) {
		t.Fatal("the key reached the output")
	}

	// The use was saved on shutdown.
	b, err = workspace.Open(workspace.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, err := b.Store().GetKey(k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastUsedAt.Equal(now) {
		t.Fatalf("last used %v, want %v", got.LastUsedAt, now)
	}
}

func TestServeRemoteNeedsFlag(t *testing.T) {
	keyring.MockInit()
	dir := filepath.Join(t.TempDir(), "data")
	for _, args := range [][]string{
		{"serve", "--listen", "0.0.0.0:0"},
		{"serve", "--listen", ":8765"},
		{"serve", "--listen", "192.0.2.1:8765"},
	} {
		var out, errb bytes.Buffer
		code := Main(append([]string{"--data", dir}, args...), &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
		if code != ExitUsage || !strings.Contains(errb.String(), "--allow-remote") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("%v created the data folder before refusing", args)
		}
	}

	s := startServe(t, "--data", dir, "serve", "--listen", "0.0.0.0:0", "--allow-remote")
	if !strings.Contains(s.stderr.String(), "warning") || !strings.Contains(s.stderr.String(), "reachable from the network") {
		t.Errorf("no warning on stderr: %q", s.stderr.String())
	}
	s.stop()
	if code := <-s.code; code != 0 {
		t.Fatalf("exit %d: %s", code, s.stderr.String())
	}
}

// A follow URL that does not parse is refused before anything connects,
// in one sentence that does not quote it (it may hold a password).
func TestServeBadFollowURL(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main([]string{"--store", "postgres://127.0.0.1:1/keydesk", "serve", "--follow-url", "postgres://u:secret@127.0.0.1:notaport/x"},
		&Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
	msg := strings.TrimSpace(errb.String())
	if code != ExitUsage || !strings.Contains(msg, "KEYDESK_FOLLOW_URL") || strings.Contains(msg, "secret") || strings.Count(msg, "\n") != 0 {
		t.Fatalf("exit %d, stderr %q; want exit %d, one sentence naming the follow URL", code, msg, ExitUsage)
	}
}

func TestServeBadUsage(t *testing.T) {
	keyring.MockInit()
	dir := filepath.Join(t.TempDir(), "data")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		args    []string
		code    int
		mention string
	}{
		{[]string{"serve", "--listen", "nonsense"}, ExitUsage, "host:port"},
		{[]string{"serve", "--listen", "127.0.0.1:notaport"}, ExitUsage, "port"},
		{[]string{"serve", "extra"}, ExitUsage, "extra"},
		{[]string{"serve", "--port", "1"}, ExitUsage, "port"},
		{[]string{"serve", "--listen", busy.Addr().String()}, ExitFailed, "ould not listen on"},
		{[]string{"serve", "--follow-url", "postgres://127.0.0.1/keydesk"}, ExitUsage, "--follow-url is for a shared store"},
	}
	for _, tc := range tests {
		var out, errb bytes.Buffer
		code := Main(append([]string{"--data", dir}, tc.args...), &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
		if code != tc.code || !strings.Contains(errb.String(), tc.mention) || strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q in one line", tc.args, code, errb.String(), tc.code, tc.mention)
		}
	}
}
