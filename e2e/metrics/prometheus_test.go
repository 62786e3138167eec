package metrics

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var binary string // the keydesk binary built for the tests

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "keydesk-e2e-metrics-")
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
	return m.Run()
}

// need returns the path of a Prometheus program (prometheus, promtool):
// missing, the test skips, or fails under CI=true.
func need(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		msg := name + " is not installed (Debian package prometheus; scripts/install-deps.sh installs it)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg + ": skipped outside CI")
	}
	return p
}

// readmeYAML returns the YAML blocks of the README's Metrics section, in
// order: the scrape configuration, then the alert rules.
func readmeYAML(t *testing.T) []string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	start := strings.Index(s, "\n### Metrics\n")
	if start < 0 {
		t.Fatal("the README has no Metrics section")
	}
	s = s[start+1:]
	if end := strings.Index(s[4:], "\n#"); end >= 0 {
		s = s[:end+4]
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(s, -1) {
		blocks = append(blocks, m[1])
	}
	if len(blocks) != 2 {
		t.Fatalf("the README's Metrics section has %d YAML blocks, want 2 (scrape configuration, rules)", len(blocks))
	}
	return blocks
}

// TestReadmeRulesCheck: the README's alert rules pass promtool.
func TestReadmeRulesCheck(t *testing.T) {
	promtool := need(t, "promtool")
	rules := filepath.Join(t.TempDir(), "keydesk-rules.yml")
	if err := os.WriteFile(rules, []byte(readmeYAML(t)[1]), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "rules", rules).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS: 2 rules found") {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

// freeLoopbackAddr returns a loopback address with a port free a moment
// ago (Prometheus takes its address as a flag).
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// passphrase protects the test's key file (--keyfile: no Secret Service
// needed).
const passphrase = "metrics end-to-end: vivid walrus paints seven quiet lanterns"

// keydesk runs the binary on dir and returns its stdout; it fails the test
// unless it succeeds.
func keydesk(t *testing.T, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("keydesk %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// TestPrometheusScrapesServe: Prometheus scrapes a real `keydesk serve`
// every second with the README's configuration (and loads its rules); after
// verifications of every result, the query API reports them.
func TestPrometheusScrapesServe(t *testing.T) {
	need(t, "prometheus")
	need(t, "promtool")
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "data")
	pf := filepath.Join(tmp, "pass")
	if err := os.WriteFile(pf, []byte(passphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"LANG=C.UTF-8", "KEYDESK_DATA=", "KEYDESK_PASSPHRASE_FILE=" + pf,
		"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(tmp, "no-bus")}
	secretOf := func(out string) string {
		t.Helper()
		var k struct{ Key string }
		if err := json.Unmarshal([]byte(out), &k); err != nil || !strings.HasPrefix(k.Key, "kdk_") {
			t.Fatalf("keys create --json printed no key (%v)", err)
		}
		return k.Key
	}
	reader := secretOf(keydesk(t, env, "--data", dir, "--keyfile", "keys", "create", "--name", "Reader", "--op", "messaging.channels.list", "--json"))
	// A key that expired an hour ago: created three hours ago (relative
	// to the real clock) for two hours.
	past := time.Now().UTC().Add(-3 * time.Hour).Format(time.RFC3339)
	expired := secretOf(keydesk(t, append(env, "KEYDESK_ALLOW_NOW=1"), "--data", dir, "--keyfile", "--now", past,
		"keys", "create", "--name", "Expired", "--op", "messaging.channels.list", "--expires", "2h", "--json"))

	// keydesk serve, with its metrics on a listener of their own.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv := exec.CommandContext(ctx, binary, "--data", dir, "--keyfile", "serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0")
	srv.Env = append(os.Environ(), env...)
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var srvErr bytes.Buffer
	srv.Stderr = &srvErr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		_ = srv.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("serve printed no address: %v\n%s", err, srvErr.String())
	}
	m := regexp.MustCompile(`^Keydesk verification API on (http://\S+) .*metrics on http://(\S+)/metrics`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no API and metrics addresses in %q", line)
	}
	api, metricsAddr := m[1], m[2]

	// Prometheus, with the README's scrape configuration pointed at the
	// metrics listener and scraping every second, and the README's rules.
	blocks := readmeYAML(t)
	scrape := strings.Replace(blocks[0], `"127.0.0.1:8765"`, strconv.Quote(metricsAddr), 1)
	scrape = strings.Replace(scrape, "scrape_interval: 15s", "scrape_interval: 1s", 1)
	if !strings.Contains(scrape, metricsAddr) || !strings.Contains(scrape, "scrape_interval: 1s") {
		t.Fatalf("the README's scrape configuration has no target 127.0.0.1:8765 or interval 15s:\n%s", blocks[0])
	}
	promDir := filepath.Join(tmp, "prometheus")
	if err := os.MkdirAll(promDir, 0o755); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(promDir, "prometheus.yml")
	if err := os.WriteFile(config, []byte("global:\n  evaluation_interval: 1s\n"+scrape), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(promDir, "keydesk-rules.yml"), []byte(blocks[1]), 0o644); err != nil {
		t.Fatal(err)
	}
	promAddr := freeLoopbackAddr(t)
	prom := exec.CommandContext(ctx, "../../scripts/prometheus.sh", config, filepath.Join(promDir, "data"), promAddr)
	var promOut bytes.Buffer
	prom.Stdout, prom.Stderr = &promOut, &promOut
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = prom.Process.Signal(syscall.SIGTERM)
		_ = prom.Wait()
	})
	promURL := "http://" + promAddr

	// The verifications: 3 ok, 2 denied, 1 expired, 1 unknown, 2
	// malformed on /v1/keys/verify; 1 ok and 1 denied on /v1/auth.
	post := func(key, op string) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"key": key, "operation": op})
		resp, err := http.Post(api+"/v1/keys/verify", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("verify: status %d", resp.StatusCode)
		}
	}
	for range 3 {
		post(reader, "messaging.channels.list")
	}
	post(reader, "users.list")
	post(reader, "users.delete")
	post(expired, "messaging.channels.list")
	post("kdk_"+strings.Repeat("0", 43)+"3UatDX", "messaging.channels.list") // well formed, never issued
	post("not-a-key", "messaging.channels.list")
	// The reader key with its last character changed (to x, or to y when
	// it is x: the same key would verify): a bad checksum.
	last := "x"
	if strings.HasSuffix(reader, "x") {
		last = "y"
	}
	post(reader[:len(reader)-1]+last, "messaging.channels.list")
	for path, status := range map[string]int{"/v2/conversations/channels": 200, "/v2/users": 403} {
		req, _ := http.NewRequest("GET", api+"/v1/auth", nil)
		req.Header.Set("Authorization", "Bearer "+reader)
		req.Header.Set("X-Forwarded-Method", "GET")
		req.Header.Set("X-Forwarded-Uri", path)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Fatalf("auth %s: status %d, want %d", path, resp.StatusCode, status)
		}
	}

	// Read back through Prometheus once a scrape after the requests has
	// been stored (polled, with a deadline).
	want := map[string]float64{
		`keydesk_verifications_total{endpoint="verify",result="ok"}`:        3,
		`keydesk_verifications_total{endpoint="verify",result="denied"}`:    2,
		`keydesk_verifications_total{endpoint="verify",result="expired"}`:   1,
		`keydesk_verifications_total{endpoint="verify",result="unknown"}`:   1,
		`keydesk_verifications_total{endpoint="verify",result="malformed"}`: 2,
		`keydesk_verifications_total{endpoint="verify",result="tampered"}`:  0,
		`keydesk_verifications_total{endpoint="auth",result="ok"}`:          1,
		`keydesk_verifications_total{endpoint="auth",result="denied"}`:      1,
		`keydesk_request_duration_seconds_count{endpoint="verify"}`:         9,
		`keydesk_keys{state="active"}`:                                      1,
		`keydesk_keys{state="expired"}`:                                     1,
		`keydesk_keys{state="idle"}`:                                        0,
		`sum(keydesk_digest_deliveries_total)`:                              1,
		`up{job="keydesk"}`:                                                 1,
	}
	deadline := time.Now().Add(90 * time.Second)
	var got map[string]float64
	for {
		got = map[string]float64{}
		for q := range want {
			if v, ok := query(promURL, q); ok {
				got[q] = v
			}
		}
		if equal(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus's values after 90 s:\n%v\nwant\n%v\nPrometheus said:\n%s\nkeydesk said:\n%s", got, want, promOut.String(), srvErr.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
	// The README's rules loaded and evaluate without error.
	var rules struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name, Health, LastError string
				}
			}
		}
	}
	if err := getJSON(promURL+"/api/v1/rules", &rules); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range rules.Data.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health != "ok" {
				t.Errorf("rule %s: health %q %s", r.Name, r.Health, r.LastError)
			}
		}
	}
	if n != 2 {
		t.Errorf("Prometheus loaded %d rules, want the README's 2", n)
	}
}

// query asks Prometheus's HTTP API for an instant vector of one sample.
func query(base, q string) (float64, bool) {
	var r struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := getJSON(base+"/api/v1/query?query="+url.QueryEscape(q), &r); err != nil || r.Status != "success" || len(r.Data.Result) != 1 {
		return 0, false
	}
	s, ok := r.Data.Result[0].Value[1].(string)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

func getJSON(u string, v any) error {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: status %d: %s", u, resp.StatusCode, body)
	}
	return json.Unmarshal(body, v)
}

func equal(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if w, ok := a[k]; !ok || w != v {
			return false
		}
	}
	return true
}
