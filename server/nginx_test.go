package server

import (
	"bufio"
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
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// nginxBinary is where Debian's nginx-light puts nginx (.ci/run installs it).
const nginxBinary = "/usr/sbin/nginx"

// nginxConf is the frame around the README's nginx block: nginx in the
// foreground in a temporary prefix, one server on {{listen}} holding the
// README's two locations.
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

{{locations}}
    }
}
`

// The addresses the README's configurations use for Keydesk and for the
// protected service.
const (
	readmeKeydesk  = "127.0.0.1:8765"
	readmeUpstream = "127.0.0.1:3000"
)

// readmeNginx returns the README's nginx block (the one fenced as nginx),
// so that the configuration tested is the one people copy.
func readmeNginx(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatalf("read the README: %v", err)
	}
	blocks := strings.Split(string(data), "```nginx\n")
	if len(blocks) != 2 {
		t.Fatalf("the README has %d nginx blocks, want 1", len(blocks)-1)
	}
	block, _, ok := strings.Cut(blocks[1], "```")
	if !ok {
		t.Fatal("the README's nginx block is not closed")
	}
	for _, addr := range []string{readmeKeydesk, readmeUpstream} {
		if n := strings.Count(block, addr); n != 1 {
			t.Fatalf("the README's nginx block names %s %d times, want 1", addr, n)
		}
	}
	return block
}

// withoutClearing removes the README's lines that drop the client's
// X-Forwarded-Method and X-Forwarded-Uri: a gateway configured as the README
// used to say, which Keydesk must still hold.
func withoutClearing(t *testing.T, block string) string {
	t.Helper()
	var kept []string
	removed := 0
	for line := range strings.Lines(block) {
		if strings.Contains(line, "X-Forwarded-Method \"\"") || strings.Contains(line, "X-Forwarded-Uri \"\"") {
			removed++
			continue
		}
		kept = append(kept, line)
	}
	if removed != 2 {
		t.Fatalf("found %d lines clearing X-Forwarded-* in the README's nginx block, want 2", removed)
	}
	return strings.Join(kept, "")
}

// upstreamSeen is what the upstream service behind nginx received.
type upstreamSeen struct {
	Method, URI, KeyID, Operation, Body string
}

// nginxProxy is a real nginx in front of a small upstream, asking the
// fixture's Keydesk about every request.
type nginxProxy struct {
	url  string
	addr string
	mu   sync.Mutex
	seen []upstreamSeen
}

// upstreamSaw returns the requests the upstream received since n of them.
func (p *nginxProxy) upstreamSaw(n int) []upstreamSeen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen[n:])
}

func (p *nginxProxy) upstreamCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.seen)
}

// startNginxProxy starts the upstream and nginx with the given locations
// (the README's block) pointing at f's Keydesk.
func startNginxProxy(t *testing.T, f *fixture, locations string) *nginxProxy {
	t.Helper()
	if _, err := os.Stat(nginxBinary); err != nil {
		t.Skipf("nginx is not installed at %s (apt-get install nginx-light; CI installs it): %v", nginxBinary, err)
	}
	p := &nginxProxy{}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.seen = append(p.seen, upstreamSeen{r.Method, r.RequestURI, r.Header.Get(HeaderKeyID), r.Header.Get(HeaderOperation), string(body)})
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"upstream": true}`)
	}))
	t.Cleanup(upstream.Close)
	locations = strings.NewReplacer(
		readmeKeydesk, strings.TrimPrefix(f.url, "http://"),
		readmeUpstream, strings.TrimPrefix(upstream.URL, "http://"),
	).Replace(locations)
	p.url = startNginx(t, locations)
	p.addr = strings.TrimPrefix(p.url, "http://")
	return p
}

// TestNginxAuthRequest runs a real nginx on loopback with the README's
// configuration, in front of a small upstream: keys open and close the
// upstream operation by operation.
func TestNginxAuthRequest(t *testing.T) {
	f := newFixture(t)
	p := startNginxProxy(t, f, readmeNginx(t))
	proxy := p.url

	reader, global := secretOf(t, f, "reader"), secretOf(t, f, "global")
	tests := []struct {
		name   string
		key    string
		method string
		uri    string
		body   string
		status int
		reason string // the refusal's reason, or on 200 the operation
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
		{"key with the scope", reader, "GET", "/v2/conversations/channels", "", 200, "messaging.channels.list"},
		{"key with the scope, query string", reader, "GET", "/v2/conversations/channels?limit=5&cursor=a%2Fb", "", 200, "messaging.channels.list"},
		{"key with the scope, template and trailing slash", reader, "GET", "/v2/conversations/channels/C0123/", "", 200, "messaging.channels.get"},
		{"section read key", secretOf(t, f, "msgread"), "GET", "/v2/conversations/channels/C1/members", "", 200, "messaging.members.list"},
		{"global key, write with a body", global, "POST", "/v2/users", `{"name":"Ana"}`, 200, "users.create"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := p.upstreamCount()
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
			after := p.upstreamSaw(before)
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
			if got.Method != tc.method || got.URI != tc.uri || got.Body != tc.body || got.KeyID != wantID || got.Operation != tc.reason {
				t.Fatalf("upstream saw %+v, want %s %s body %q from key %s for %s", got, tc.method, tc.uri, tc.body, wantID, tc.reason)
			}
		})
	}
}

// TestNginxForwardedHeaderSpoofing plays a client behind the README's nginx
// that adds forwarded headers of its own (nginx passes the client's headers
// into the auth_request subrequest) or path forms that the upstream reads as
// another path. The key may only get a user; the client wants to delete one.
// With the README's configuration nginx drops the forged set and Keydesk
// refuses with 403; with a configuration that forgets to (as the README's
// did), Keydesk refuses the two sets that disagree with 400, which nginx
// turns into a 500. Either way the upstream never sees the request.
func TestNginxForwardedHeaderSpoofing(t *testing.T) {
	f := newFixture(t)
	key := secretOf(t, f, "usersget")
	block := readmeNginx(t)
	type hdr = [2]string
	tests := []struct {
		name   string
		method string
		target string
		header []hdr
		status int    // with the README's configuration
		reason string // X-Keydesk-Reason then
		old    int    // with the configuration that keeps the client's X-Forwarded-*
	}{
		{"delete, no forged header", "DELETE", "/v2/users/42", nil, 403, "forbidden", 403},
		{"delete, forged X-Forwarded-Method and -Uri", "DELETE", "/v2/users/42", []hdr{{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/v2/users/42"}}, 403, "forbidden", 500},
		{"delete, forged X-Forwarded-Method", "DELETE", "/v2/users/42", []hdr{{"X-Forwarded-Method", "GET"}}, 403, "forbidden", 500},
		{"list, forged X-Forwarded-Uri", "GET", "/v2/users", []hdr{{"X-Forwarded-Uri", "/v2/users/42"}}, 403, "forbidden", 500},
		{"delete, forged X-Original-Method and -URI", "DELETE", "/v2/users/42", []hdr{{"X-Original-Method", "GET"}, {"X-Original-URI", "/v2/users/42"}}, 403, "forbidden", 403},
		{"delete, every forged header twice", "DELETE", "/v2/users/42", []hdr{{"X-Forwarded-Method", "GET"}, {"X-Forwarded-Method", "GET"}, {"X-Forwarded-Uri", "/v2/users/42"}, {"X-Forwarded-Uri", "/v2/users/42"}, {"X-Original-Method", "GET"}, {"X-Original-URI", "/v2/users/42"}}, 403, "forbidden", 500},
		{"dot-dot and semicolon", "GET", "/v2/users/..;", nil, 403, "no_route", 403},
		{"fragment holding dot segments", "GET", "/v2/users/42#/../../company", nil, 403, "no_route", 403},
		{"overlong UTF-8 dots", "GET", "/v2/users/%C0%AE%C0%AE", nil, 403, "no_route", 403},
		{"dot-dot and encoded tab", "GET", "/v2/users/..%09", nil, 403, "no_route", 403},
		{"encoded space and dot-dot", "GET", "/v2/users/%20..", nil, 403, "no_route", 403},
		{"get, allowed", "GET", "/v2/users/42", []hdr{{"X-Keydesk-Operation", "users.delete"}, {"X-Keydesk-Key-Id", "forged"}}, 200, "", 200},
	}
	for _, cfg := range []struct {
		name      string
		locations string
	}{
		{"README", block},
		{"without clearing X-Forwarded", withoutClearing(t, block)},
	} {
		t.Run(cfg.name, func(t *testing.T) {
			p := startNginxProxy(t, f, cfg.locations)
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					want := tc.status
					if cfg.name != "README" {
						want = tc.old
					}
					before := p.upstreamCount()
					header := append([]hdr{{"Authorization", "Bearer " + key}}, tc.header...)
					resp, body := rawRequest(t, p.addr, tc.method, tc.target, header)
					if resp.StatusCode != want {
						t.Fatalf("nginx answered %d, want %d: %s", resp.StatusCode, want, body)
					}
					saw := p.upstreamSaw(before)
					if want != 200 {
						if len(saw) != 0 {
							t.Fatalf("a refused request reached the upstream: %+v", saw)
						}
						if want == 403 && resp.Header.Get(HeaderReason) != tc.reason {
							t.Errorf("reason %q, want %q", resp.Header.Get(HeaderReason), tc.reason)
						}
						return
					}
					if len(saw) != 1 || saw[0].Method != tc.method || saw[0].URI != tc.target ||
						saw[0].KeyID != f.keys["usersget"].ID || saw[0].Operation != "users.get" {
						t.Fatalf("upstream saw %+v, want one %s %s by key %s for users.get", saw, tc.method, tc.target, f.keys["usersget"].ID)
					}
				})
			}
		})
	}
}

// rawRequest sends one HTTP/1.1 request written byte for byte (so that the
// target may hold what a URL parser would change, such as "#", and headers
// may repeat) and reads the answer.
func rawRequest(t *testing.T, addr, method, target string, header [][2]string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var req strings.Builder
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, target, addr)
	for _, h := range header {
		fmt.Fprintf(&req, "%s: %s\r\n", h[0], h[1])
	}
	req.WriteString("\r\n")
	if _, err := io.WriteString(conn, req.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read nginx's answer to %s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// startNginx writes the configuration with the given locations into a
// temporary prefix, starts nginx in the foreground and waits until it
// accepts connections. It returns the proxy's base URL; the test's cleanup
// stops nginx.
func startNginx(t *testing.T, locations string) string {
	t.Helper()
	dir := t.TempDir()
	listen := freeLoopbackAddr(t)
	conf := strings.NewReplacer("{{dir}}", dir, "{{listen}}", listen, "{{locations}}", locations).Replace(nginxConf)
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
