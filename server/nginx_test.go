package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// nginxBinary is where Debian's nginx-light puts nginx (.ci/run installs it).
const nginxBinary = "/usr/sbin/nginx"

// nginxConf puts nginx in front of an upstream, asking Keydesk's /v1/auth
// about every request with auth_request: the configuration the README shows.
const nginxConf = `daemon off;
master_process off;
worker_processes 1;
pid {{dir}}/nginx.pid;
error_log {{dir}}/error.log info;
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path {{dir}}/client_body;
    proxy_temp_path {{dir}}/proxy;
    fastcgi_temp_path {{dir}}/fastcgi;
    uwsgi_temp_path {{dir}}/uwsgi;
    scgi_temp_path {{dir}}/scgi;

    server {
        listen {{listen}};

        location = /_keydesk {
            internal;
            proxy_pass http://{{keydesk}}/v1/auth;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header Authorization $http_authorization;
        }

        location / {
            auth_request /_keydesk;
            auth_request_set $keydesk_key_id $upstream_http_x_keydesk_key_id;
            auth_request_set $keydesk_reason $upstream_http_x_keydesk_reason;
            proxy_set_header X-Keydesk-Key-Id $keydesk_key_id;
            add_header X-Keydesk-Reason $keydesk_reason always;
            proxy_pass http://{{upstream}};
        }
    }
}
`

// upstreamSeen is what the upstream service behind nginx received.
type upstreamSeen struct {
	Method, URI, KeyID, Body string
}

// TestNginxAuthRequest runs a real nginx on loopback with auth_request
// pointing at Keydesk, in front of a small upstream: keys open and close the
// upstream operation by operation.
func TestNginxAuthRequest(t *testing.T) {
	if _, err := os.Stat(nginxBinary); err != nil {
		t.Skipf("nginx is not installed at %s (apt-get install nginx-light; CI installs it): %v", nginxBinary, err)
	}
	f := newFixture(t)

	var mu sync.Mutex
	var seen []upstreamSeen
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, upstreamSeen{r.Method, r.RequestURI, r.Header.Get(HeaderKeyID), string(body)})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"upstream": true}`)
	}))
	defer upstream.Close()

	proxy := startNginx(t, strings.TrimPrefix(f.url, "http://"), strings.TrimPrefix(upstream.URL, "http://"))

	reader, global := secretOf(t, f, "reader"), secretOf(t, f, "global")
	tests := []struct {
		name   string
		key    string
		method string
		uri    string
		body   string
		status int
		reason string
	}{
		{"no key", "", "GET", "/v2/conversations/channels", "", 401, "missing_key"},
		{"malformed key", malformedKey, "GET", "/v2/conversations/channels", "", 401, "malformed"},
		{"mistyped key", badChecksum(reader), "GET", "/v2/conversations/channels", "", 401, "bad_checksum"},
		{"unknown key", unknownKey(t), "GET", "/v2/conversations/channels", "", 401, "unknown"},
		{"expired key", secretOf(t, f, "expired"), "GET", "/v2/conversations/channels", "", 401, "expired"},
		{"tampered key", secretOf(t, f, "tampered"), "GET", "/v2/conversations/channels", "", 401, "tampered"},
		{"key lacking the scope", reader, "GET", "/v2/users", "", 403, "forbidden"},
		{"key lacking the scope for the method", reader, "POST", "/v2/conversations/channels", `{"name":"general"}`, 403, "forbidden"},
		{"read-only section, write", secretOf(t, f, "msgread"), "DELETE", "/v2/conversations/channels/C1", "", 403, "forbidden"},
		{"no such operation", global, "GET", "/v2/admin/secrets", "", 403, "no_route"},
		{"dot segments", reader, "GET", "/v2/conversations/channels/../../users", "", 403, "no_route"},
		{"key with the scope", reader, "GET", "/v2/conversations/channels", "", 200, "ok"},
		{"key with the scope, query string", reader, "GET", "/v2/conversations/channels?limit=5&cursor=a%2Fb", "", 200, "ok"},
		{"key with the scope, template and trailing slash", reader, "GET", "/v2/conversations/channels/C0123/", "", 200, "ok"},
		{"section read key", secretOf(t, f, "msgread"), "GET", "/v2/conversations/channels/C1/members", "", 200, "ok"},
		{"global key, write with a body", global, "POST", "/v2/users", `{"name":"Ana"}`, 200, "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			before := len(seen)
			mu.Unlock()
			req, err := http.NewRequest(tc.method, proxy+tc.uri, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.key != "" {
				req.Header.Set("Authorization", "Bearer "+tc.key)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("nginx answered %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status != 200 {
				if got := resp.Header.Get(HeaderReason); got != tc.reason {
					t.Errorf("reason %q, want %q", got, tc.reason)
				}
			}
			mu.Lock()
			after := seen[before:]
			mu.Unlock()
			if tc.status != 200 {
				if len(after) != 0 {
					t.Fatalf("a refused request reached the upstream: %+v", after)
				}
				if tc.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("nginx did not pass WWW-Authenticate on: %v", resp.Header)
				}
				return
			}
			var up map[string]bool
			if err := json.Unmarshal(body, &up); err != nil || !up["upstream"] {
				t.Fatalf("the answer did not come from the upstream: %s", body)
			}
			if len(after) != 1 {
				t.Fatalf("the upstream saw %d requests, want 1", len(after))
			}
			got := after[0]
			wantID := f.keys["reader"].ID
			switch tc.key {
			case global:
				wantID = f.keys["global"].ID
			case secretOf(t, f, "msgread"):
				wantID = f.keys["msgread"].ID
			}
			if got.Method != tc.method || got.URI != tc.uri || got.Body != tc.body || got.KeyID != wantID {
				t.Fatalf("upstream saw %+v, want %s %s body %q from key %s", got, tc.method, tc.uri, tc.body, wantID)
			}
		})
	}
}

// startNginx writes the configuration into a temporary prefix, starts nginx
// in the foreground and waits until it accepts connections. It returns the
// proxy's base URL; the test's cleanup stops nginx.
func startNginx(t *testing.T, keydesk, upstream string) string {
	t.Helper()
	dir := t.TempDir()
	listen := freeLoopbackAddr(t)
	conf := strings.NewReplacer("{{dir}}", dir, "{{listen}}", listen, "{{keydesk}}", keydesk, "{{upstream}}", upstream).Replace(nginxConf)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(nginxBinary, "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	errorLog := func() string {
		data, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return out.String() + string(data)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT) // graceful stop
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("nginx output and error log:\n%s", errorLog())
		}
	})

	// Poll the port: up to 250 connection attempts, 20 ms apart (5 s).
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for attempt := 0; ; attempt++ {
		c, err := net.DialTimeout("tcp", listen, time.Second)
		if err == nil {
			c.Close()
			return "http://" + listen
		}
		if attempt == 250 {
			t.Fatalf("nginx did not accept connections on %s: %v\n%s", listen, err, errorLog())
		}
		select {
		case err := <-exited:
			t.Fatalf("nginx exited before accepting connections: %v\n%s", err, errorLog())
		case <-tick.C:
		}
	}
}

// freeLoopbackAddr returns a loopback address with a port that was free a
// moment ago (nginx binds it itself).
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr())
}
