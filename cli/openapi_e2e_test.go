package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const blockfrostDoc = "../testdata/openapi/blockfrost-openapi.yaml"

// keyfileStore is a data folder keeping its signing key in keydesk.key,
// so that the test needs no Secret Service.
type keyfileStore struct {
	t   *testing.T
	dir string
	env []string
}

func newKeyfileStore(t *testing.T) *keyfileStore {
	t.Helper()
	pp := filepath.Join(t.TempDir(), "passphrase")
	if err := os.WriteFile(pp, []byte("correct horse battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &keyfileStore{t: t, dir: filepath.Join(t.TempDir(), "data"), env: []string{"KEYDESK_PASSPHRASE_FILE=" + pp}}
}

func (s *keyfileStore) args(a ...string) []string {
	return append([]string{"--data", s.dir, "--keyfile"}, a...)
}

func (s *keyfileStore) kd(stdin string, a ...string) result {
	s.t.Helper()
	return run(s.t, stdin, s.env, s.args(a...)...)
}

func (s *keyfileStore) ok(stdin string, a ...string) string {
	s.t.Helper()
	r := s.kd(stdin, a...)
	if r.code != 0 {
		s.t.Fatalf("keydesk %s: exit %d, stderr %q", strings.Join(a, " "), r.code, r.stderr)
	}
	return r.stdout
}

// bad runs a command that must be refused as bad input: exit 2 and one
// sentence on stderr.
func (s *keyfileStore) bad(stdin, want string, a ...string) {
	s.t.Helper()
	r := s.kd(stdin, a...)
	if r.code != 2 || !strings.Contains(strings.ToLower(r.stderr), strings.ToLower(want)) || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		s.t.Fatalf("keydesk %s: exit %d, stderr %q; want exit 2 and one line with %q", strings.Join(a, " "), r.code, r.stderr, want)
	}
}

// TestOpenAPIImportVerifyAndRequest is issue 20 end to end through the
// binary: import Blockfrost's document, create a key on an imported
// section, verify it through /v1/auth with the gateway's forwarded URI
// (base path included), and send a real request with it to a Prism mock of
// the document.
func TestOpenAPIImportVerifyAndRequest(t *testing.T) {
	s := newKeyfileStore(t)
	s.ok("", "keys", "create", "--name", "Old messaging", "--section", "messaging=full")

	// A script must confirm; nothing changes without --yes.
	s.bad("", "without confirmation", "catalog", "import", blockfrostDoc)
	if out := s.ok("", "catalog", "--search", "pools"); strings.Contains(out, "cardano") {
		t.Fatalf("the refused import changed the catalog:\n%s", out)
	}
	dry := s.ok("", "catalog", "import", blockfrostDoc, "--dry-run")
	for _, want := range []string{"Blockfrost.io ~ API Documentation 0.1.93", "129 operations",
		"1 key names operations that no longer exist", "Old messaging ("} {
		if !strings.Contains(dry, want) {
			t.Errorf("dry run lacks %q:\n%s", want, dry)
		}
	}
	var rep struct {
		Imported   bool `json:"imported"`
		Operations int  `json:"operations"`
		Documents  []struct {
			Digest string `json:"digest"`
		} `json:"documents"`
	}
	if err := json.Unmarshal([]byte(s.ok("", "catalog", "import", blockfrostDoc, "--yes", "--json")), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Imported || rep.Operations != 129 || len(rep.Documents) != 1 {
		t.Fatalf("import report %+v", rep)
	}
	audit := s.ok("", "audit")
	if !strings.Contains(audit, "catalog.import") || !strings.Contains(audit, rep.Documents[0].Digest) {
		t.Errorf("no catalog.import audit entry with the digest:\n%s", audit)
	}
	if list := s.ok("", "keys", "list"); !strings.Contains(list, "Old messaging  [Not in catalog]") {
		t.Errorf("the orphaned key is not marked:\n%s", list)
	}

	var key struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	}
	if err := json.Unmarshal([]byte(s.ok("", "keys", "create", "--name", "Pools reader", "--section", "cardano-pools=read", "--json")), &key); err != nil {
		t.Fatal(err)
	}

	// /v1/auth: the gateway forwards the path with the base path.
	base, stop := s.serve()
	auth := func(method, uri string) (int, string) {
		req, _ := http.NewRequest("GET", base+"/v1/auth", nil)
		req.Header.Set("Authorization", "Bearer "+key.Key)
		req.Header.Set("X-Forwarded-Method", method)
		req.Header.Set("X-Forwarded-Uri", uri)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("X-Keydesk-Operation")
	}
	if code, op := auth("GET", "/api/v0/pools/pool1xyz?x=1"); code != 200 || op != "get-pools-pool-id" {
		t.Errorf("GET /api/v0/pools/pool1xyz: %d %q, want 200 get-pools-pool-id", code, op)
	}
	if code, _ := auth("GET", "/pools/pool1xyz"); code != 403 {
		t.Errorf("without the base path: %d, want 403", code)
	}
	if code, _ := auth("GET", "/api/v0/blocks/latest"); code != 403 {
		t.Errorf("another section: %d, want 403", code)
	}
	stop() // it holds the data folder

	// Send API Request, against Prism (which checks the project_id header).
	mock := startPrism(t, blockfrostDoc)
	out := s.ok(key.Key+"\n", "request", "get-pools", "--query", "count=2", "--server", mock, "--json")
	var resp struct {
		Status int             `json:"status"`
		Body   json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if resp.Status != 200 || len(resp.Body) == 0 || resp.Body[0] != '[' {
		t.Errorf("request: status %d body %.200s", resp.Status, resp.Body)
	}
	if strings.Contains(out, key.Key) {
		t.Error("the key is in the request output")
	}
	curl := s.ok("", "request", "get-pools-pool-id", "--param", "pool_id=pool1xyz", "--curl")
	if !strings.Contains(curl, `'project_id: '"$KEYDESK_KEY"`) || !strings.Contains(curl, "https://cardano-mainnet.blockfrost.io/api/v0/pools/pool1xyz") {
		t.Errorf("curl: %s", curl)
	}
	// Sending is not a use of the key.
	if list := s.ok("", "keys", "list", "--json"); !strings.Contains(list, `"lastUsedAt": null`) {
		t.Errorf("the request counted as a use:\n%s", list)
	}

	// Bad input of request: one sentence, exit 2.
	s.bad(key.Key+"\n", "No operation with this id", "request", "no-such-op")
	s.bad(key.Key+"\n", `needs the path parameter "pool_id"`, "request", "get-pools-pool-id", "--server", mock)
	s.bad(key.Key+"\n", "not read-only", "request", "post-tx-submit", "--server", mock, "--body", "{}")
	s.bad(key.Key+"\n", "not HTTPS", "request", "get-pools", "--server", "http://example.com")

	// Reset: back to the embedded catalog; the imported key is orphaned.
	s.ok("", "catalog", "reset", "--yes")
	if list := s.ok("", "keys", "list"); !strings.Contains(list, "Pools reader  [Not in catalog]") {
		t.Errorf("after reset the imported key is not marked:\n%s", list)
	}
}

// TestCatalogImportBadInput: every refusal is one sentence, exit 2, and
// changes nothing.
func TestCatalogImportBadInput(t *testing.T) {
	s := newKeyfileStore(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct{ name, src, want string }{
		{"not openapi", write("a.yaml", "hello: world\n"), "is not an OpenAPI or Swagger document"},
		{"newer", write("b.yaml", "openapi: 4.0.0\ninfo: {title: x, version: '1'}\npaths: {}\n"), "newer OpenAPI version"},
		{"ref", write("c.yaml", "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    $ref: 'gone.yaml#/a'\n"), "cannot be resolved"},
		{"duplicate", write("d.yaml", "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get: {operationId: x, responses: {'200': {description: ok}}}\n    post: {operationId: x, responses: {'200': {description: ok}}}\n"), "two operations with the same id"},
		{"empty", write("e.yaml", "openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths: {}\n"), "has no operations"},
		{"http", "http://example.com/openapi.yaml", "is not HTTPS"},
		{"unfetchable", "https://127.0.0.1:1/openapi.yaml", "cannot be fetched"},
	}
	for _, c := range cases {
		s.bad("", c.want, "catalog", "import", c.src, "--yes")
	}
	if out := s.ok("", "audit"); strings.Contains(out, "catalog.import") {
		t.Errorf("a refused import left an audit entry:\n%s", out)
	}
}

// serve starts `keydesk serve` on this store and returns its URL and a
// function that stops it.
func (s *keyfileStore) serve() (string, func()) {
	t := s.t
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, binary, s.args("serve", "--listen", "127.0.0.1:0")...)
	cmd.Env = append(os.Environ(), append(s.env, "LANG=C.UTF-8", "KEYDESK_DATA=")...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := sync.OnceFunc(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		cancel()
	})
	t.Cleanup(stop)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("serve: no address line: %v", err)
	}
	u := regexp.MustCompile(`http://\S+`).FindString(line)
	if u == "" {
		t.Fatalf("serve: no URL in %q", line)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return strings.TrimRight(u, "/."), stop
}

// startPrism runs Stoplight Prism's mock server of doc on loopback and
// returns its URL. Without prism the test is skipped, except under CI,
// where scripts/install-deps.sh installs it.
func startPrism(t *testing.T, doc string) string {
	t.Helper()
	prism, err := exec.LookPath("prism")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("prism is not installed: run scripts/install-deps.sh (npm install -g @stoplight/prism-cli)")
		}
		t.Skip("prism (npm @stoplight/prism-cli) is not installed; scripts/install-deps.sh installs it")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, prism, "mock", doc, "-p", fmt.Sprint(port), "-h", "127.0.0.1")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	// Prism takes seconds to read the document: wait until it answers
	// (any HTTP answer), for at most a minute.
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			return base
		}
		if time.Now().After(deadline) {
			t.Fatalf("prism did not start on %s: %v", base, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
