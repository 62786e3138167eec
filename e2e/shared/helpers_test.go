package shared

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var (
	binary     string // the keydesk binary built for the tests
	clusterDir string // this package's own PostgreSQL cluster
	clusterURL string // its superuser URL
	skipReason string // why the tests skip, if they do
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	switch {
	case os.Getenv("KEYDESK_TEST_PG_URL") == "":
		skipReason = "KEYDESK_TEST_PG_URL is not set: run `make test-pg`"
	case os.Getenv("KEYDESK_KEYRING_TESTS") != "1":
		skipReason = "no Secret Service: run under scripts/with-keyring.sh (`make test-pg` does)"
	}
	if skipReason != "" {
		return m.Run()
	}
	tmp, err := os.MkdirTemp("", "keydesk-e2e-shared-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	binary = filepath.Join(tmp, "keydesk")
	build := exec.Command("go", "build", "-tags", "ci,migrated_fynedo", "-o", binary, "../..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build keydesk: %v\n%s", err, out)
		return 1
	}
	// A cluster of our own: the restart test stops it.
	clusterDir = fmt.Sprintf("/tmp/keydesk-e2e-pg.%d", os.Getpid())
	out, err := exec.Command("../../scripts/pg-cluster.sh", "start", clusterDir).Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "start PostgreSQL: %v\n", err)
		return 1
	}
	defer exec.Command("../../scripts/pg-cluster.sh", "stop", clusterDir).Run()
	clusterURL = strings.TrimSpace(string(out))
	return m.Run()
}

func need(t testing.TB) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// sqlExec runs statements on database db (empty: the maintenance one) as
// the superuser.
func sqlExec(t testing.TB, db string, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL(t, db, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// dbURL is the cluster's URL for database db as user (empty: postgres).
func dbURL(t testing.TB, db, user string) string {
	t.Helper()
	u, err := url.Parse(clusterURL)
	if err != nil {
		t.Fatal(err)
	}
	if db != "" {
		u.Path = "/" + db
	}
	if user != "" {
		u.User = url.User(user)
	}
	return u.String()
}

var dbCounter int

// newDB creates an empty database and returns its name.
func newDB(t testing.TB) string {
	t.Helper()
	dbCounter++
	name := fmt.Sprintf("kde2e_%d_%d", os.Getpid(), dbCounter)
	sqlExec(t, "", "CREATE DATABASE "+name)
	t.Cleanup(func() { sqlExec(t, "", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	return name
}

// keydesk runs the binary and returns stdout, stderr and the exit status.
func keydesk(t testing.TB, stdin string, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), append([]string{"LANG=C.UTF-8", "KEYDESK_STORE=", "KEYDESK_CREDENTIAL="}, env...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// mustKeydesk runs the binary and fails the test unless it succeeds.
func mustKeydesk(t testing.TB, env []string, args ...string) string {
	t.Helper()
	out, errs, code := keydesk(t, "", env, args...)
	if code != 0 {
		t.Fatalf("keydesk %v: exit %d\n%s%s", args, code, out, errs)
	}
	return out
}

// initStore runs store init on a new database and exports the verify-only
// credential; it returns the store URL and the credential file.
func initStore(t testing.TB) (storeURL, cred string) {
	t.Helper()
	storeURL = dbURL(t, newDB(t), "")
	mustKeydesk(t, nil, "--store", storeURL, "store", "init")
	cred = filepath.Join(t.TempDir(), "verify.json")
	mustKeydesk(t, nil, "--store", storeURL, "credential", "export", "--verify-only", "--out", cred)
	return storeURL, cred
}

// createKey creates a key through the admin command line and returns its
// id and secret.
func createKey(t testing.TB, storeURL, name string) (id, secret string) {
	t.Helper()
	out := mustKeydesk(t, nil, "--store", storeURL, "keys", "create", "--name", name, "--section", "messaging=read", "--expires", "30d", "--json")
	var k struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
		Key    string `json:"key"`
	}
	if err := json.Unmarshal([]byte(out), &k); err != nil {
		t.Fatalf("keys create --json: %v\n%s", err, out)
	}
	if k.Secret == "" {
		k.Secret = k.Key
	}
	if k.ID == "" || k.Secret == "" {
		t.Fatalf("keys create --json gave no id or secret: %s", out)
	}
	return k.ID, k.Secret
}

// replica is a running `keydesk --store URL serve`.
type replica struct {
	cmd    *exec.Cmd
	base   string
	stderr *bytes.Buffer
}

// startReplica starts a verification server on the store with env added.
func startReplica(t testing.TB, storeURL, cred string, env ...string) *replica {
	t.Helper()
	cmd := exec.Command(binary, "--store", storeURL, "serve", "--listen", "127.0.0.1:0", "--credential", cred)
	// A data folder of its own (where it keeps the store's generation),
	// unless env names one: the last setting wins.
	cmd.Env = append(os.Environ(), append([]string{"LANG=C.UTF-8", "KEYDESK_STORE=", "KEYDESK_CREDENTIAL=", "KEYDESK_DATA=" + t.TempDir()}, env...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = r.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	line := make([]byte, 0, 256)
	buf := make([]byte, 1)
	for {
		if _, err := stdout.Read(buf); err != nil {
			t.Fatalf("the replica did not start: %v\n%s", err, r.stderr)
		}
		if buf[0] == '\n' {
			break
		}
		line = append(line, buf[0])
	}
	go io.Copy(io.Discard, stdout)
	r.base = regexp.MustCompile(`http://\S+`).FindString(string(line))
	if r.base == "" {
		t.Fatalf("no address in %q", line)
	}
	return r
}

var client = &http.Client{Timeout: 5 * time.Second}

// verify asks the replica about secret and returns the reason.
func (r *replica) verify(t testing.TB, secret string) string {
	t.Helper()
	resp, err := client.Post(r.base+"/v1/keys/verify", "application/json", strings.NewReader(fmt.Sprintf(`{"key": %q}`, secret)))
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	defer resp.Body.Close()
	var v struct {
		Reason string `json:"reason"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("verify: %v", err)
	}
	return v.Reason
}

// metrics reads the replica's GET /metrics with Prometheus's text parser:
// the unlabelled samples by name.
func (r *replica) metrics(t testing.TB) map[string]float64 {
	t.Helper()
	resp, err := client.Get(r.base + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.Metric {
			if len(m.Label) != 0 {
				continue
			}
			switch {
			case m.Gauge != nil:
				out[name] = m.Gauge.GetValue()
			case m.Counter != nil:
				out[name] = m.Counter.GetValue()
			}
		}
	}
	return out
}

// health is a replica's /healthz answer.
type health struct {
	code           int
	Status         string  `json:"status"`
	DataAgeSeconds float64 `json:"dataAgeSeconds"`
	Problem        string  `json:"problem"`
	Follow         string  `json:"follow"`
}

func (r *replica) health(t testing.TB) health {
	t.Helper()
	resp, err := client.Get(r.base + "/healthz")
	if err != nil {
		t.Fatalf("healthz: %v", err)
	}
	defer resp.Body.Close()
	var h health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("healthz: %v", err)
	}
	h.code = resp.StatusCode
	return h
}

// eventually polls cond until it holds, failing after d (the bound the
// rule sets, e.g. 1 s for a change to reach a replica).
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
