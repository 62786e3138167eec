package cli

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/zalando/go-keyring"
)

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// By default /metrics is on the API's listener; --metrics-listen moves it
// to a listener of its own (announced on the address line), and the API's
// listener then has none.
func TestServeMetricsListeners(t *testing.T) {
	keyring.MockInit()
	dir := filepath.Join(t.TempDir(), "data")

	s := startServe(t, "--data", dir, "serve", "--listen", "127.0.0.1:0")
	code, body := get(t, s.url+"/metrics")
	if code != 200 || !strings.Contains(body, "# HELP keydesk_verifications_total") || !strings.Contains(body, `keydesk_keys{state="active"} 0`) {
		t.Fatalf("/metrics on the API's listener: %d\n%s", code, body)
	}
	s.stop()
	if code := <-s.code; code != 0 {
		t.Fatalf("serve exited %d: %s", code, s.stderr.String())
	}

	s = startServe(t, "--data", dir, "serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0")
	murl := regexp.MustCompile(`metrics on (http://\S+/metrics)`).FindStringSubmatch(s.line)
	if murl == nil {
		t.Fatalf("the address line does not give the metrics' address: %q", s.line)
	}
	if strings.HasPrefix(murl[1], s.url+"/") {
		t.Fatalf("the metrics are on the API's listener: %s", murl[1])
	}
	resp, err := http.Post(s.url+"/v1/keys/verify", "application/json", strings.NewReader(`{"key": "kdk_not_a_key"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	code, body = get(t, murl[1])
	if code != 200 || !strings.Contains(body, `keydesk_verifications_total{endpoint="verify",result="malformed"} 1`) {
		t.Fatalf("/metrics on its own listener: %d\n%s", code, body)
	}
	if code, _ := get(t, s.url+"/metrics"); code != 404 {
		t.Errorf("/metrics on the API's listener with --metrics-listen: %d, want 404", code)
	}
	if code, _ := get(t, strings.TrimSuffix(murl[1], "/metrics")+"/v1/stats"); code != 404 {
		t.Errorf("the metrics listener answers the API's paths: %d, want 404", code)
	}
	s.stop()
	if code := <-s.code; code != 0 {
		t.Fatalf("serve exited %d: %s", code, s.stderr.String())
	}
}

// A non-loopback --metrics-listen is refused (exit 2, one sentence, nothing
// created) unless --metrics-allow-remote; metrics never follow the API onto
// a network-reachable listener unless asked for.
func TestServeMetricsRemoteNeedsFlag(t *testing.T) {
	keyring.MockInit()
	dir := filepath.Join(t.TempDir(), "data")
	for _, tc := range []struct {
		args    []string
		mention string
	}{
		{[]string{"serve", "--metrics-listen", "0.0.0.0:0"}, "--metrics-allow-remote"},
		{[]string{"serve", "--metrics-listen", ":9765"}, "--metrics-allow-remote"},
		{[]string{"serve", "--metrics-listen", "192.0.2.1:9765", "--allow-remote"}, "--metrics-allow-remote"},
		{[]string{"serve", "--metrics-listen", "metrics.example:9765"}, "--metrics-allow-remote"},
		{[]string{"serve", "--metrics-listen", "nonsense"}, "host:port"},
		{[]string{"serve", "--metrics-listen", "127.0.0.1:notaport"}, "port"},
	} {
		var out, errb bytes.Buffer
		code := Main(append([]string{"--data", dir}, tc.args...), &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
		msg := strings.TrimSpace(errb.String())
		if code != ExitUsage || !strings.Contains(msg, tc.mention) || strings.Count(msg, "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d, one sentence mentioning %q", tc.args, code, msg, ExitUsage, tc.mention)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("%v created the data folder before refusing", tc.args)
		}
	}

	// The API on every interface: no /metrics there unless asked for.
	s := startServe(t, "--data", dir, "serve", "--listen", "0.0.0.0:0", "--allow-remote")
	if !strings.Contains(s.stderr.String(), "GET /metrics is not served") {
		t.Errorf("no note about /metrics on stderr: %q", s.stderr.String())
	}
	if code, _ := get(t, s.url+"/metrics"); code != 404 {
		t.Errorf("/metrics on a network-reachable API listener: %d, want 404", code)
	}
	s.stop()
	if code := <-s.code; code != 0 {
		t.Fatalf("exit %d: %s", code, s.stderr.String())
	}
	s = startServe(t, "--data", dir, "serve", "--listen", "0.0.0.0:0", "--allow-remote", "--metrics-allow-remote")
	if code, _ := get(t, s.url+"/metrics"); code != 200 {
		t.Errorf("/metrics with --metrics-allow-remote: %d, want 200", code)
	}
	s.stop()
	if code := <-s.code; code != 0 {
		t.Fatalf("exit %d: %s", code, s.stderr.String())
	}
}
