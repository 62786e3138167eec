package httpfetch

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCheckURL(t *testing.T) {
	cases := []struct {
		in   string
		want error
	}{
		{"https://api.example.com/openapi.json", nil},
		{"HTTPS://api.example.com/", nil},
		{"http://localhost:8080/spec.yaml", nil},
		{"http://127.0.0.1:9/", nil},
		{"http://[::1]:9/", nil},
		{"http://api.example.com/openapi.json", ErrNotHTTPS},
		{"http://10.0.0.1/", ErrNotHTTPS},
		{"http://localhost.example.com/", ErrNotHTTPS},
		{"ftp://example.com/x", ErrNotHTTPS},
		{"file:///etc/passwd", ErrNotAbsolute},
		{"api.example.com/openapi.json", ErrNotAbsolute},
		{"/openapi.json", ErrNotAbsolute},
		{"https://", ErrNotAbsolute},
		{"https://bad host/", ErrNotAbsolute},
	}
	for _, c := range cases {
		u, err := CheckURL(c.in)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("CheckURL(%q) = %v, want %v", c.in, err, c.want)
		}
		if err == nil && u.Host == "" {
			t.Errorf("CheckURL(%q) returned a URL without a host", c.in)
		}
	}
}

func TestReadLimited(t *testing.T) {
	const limit = 16
	cases := []struct {
		size      int
		truncated bool
	}{{0, false}, {limit - 1, false}, {limit, false}, {limit + 1, true}, {10 * limit, true}}
	for _, c := range cases {
		in := bytes.Repeat([]byte{'a'}, c.size)
		data, truncated, err := ReadLimited(bytes.NewReader(in), limit)
		if err != nil {
			t.Fatal(err)
		}
		if truncated != c.truncated || len(data) != min(c.size, limit) {
			t.Errorf("%d bytes: got %d bytes, truncated %v; want %d, %v", c.size, len(data), truncated, min(c.size, limit), c.truncated)
		}
	}
	// It stops reading one byte past the limit, however much the source
	// holds.
	r := &countingReader{}
	if _, truncated, _ := ReadLimited(r, limit); !truncated || r.n > limit+1 {
		t.Errorf("an endless source: truncated %v after reading %d bytes (limit %d)", truncated, r.n, limit)
	}
	// A read error is returned, with no data.
	boom := errors.New("connection reset")
	if data, _, err := ReadLimited(&failingReader{err: boom}, limit); !errors.Is(err, boom) || data != nil {
		t.Errorf("failing source: %q, %v", data, err)
	}
}

type countingReader struct{ n int }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	r.n += len(p)
	return len(p), nil
}

type failingReader struct{ err error }

func (r *failingReader) Read([]byte) (int, error) { return 0, r.err }

// TestClientRedirects: with follow false the 3xx answer comes back and the
// target is never asked (Send API Request keeps the key on the server it
// named); with follow true the redirect is followed (the OpenAPI import).
// The caller's client is never changed.
func TestClientRedirects(t *testing.T) {
	var reached int
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		reached++
		_, _ = w.Write([]byte("target"))
	}))
	defer target.Close()
	from := httptest.NewServer(http.RedirectHandler(target.URL+"/moved", http.StatusFound))
	defer from.Close()

	resp, err := Client(nil, time.Minute, false).Get(from.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || reached != 0 {
		t.Errorf("follow false: status %d, target reached %d times", resp.StatusCode, reached)
	}

	mine := &http.Client{Timeout: time.Minute}
	resp, err = Client(mine, 0, false).Get(from.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || reached != 0 || mine.CheckRedirect != nil {
		t.Errorf("follow false over the caller's client: status %d, target reached %d times, caller's client changed %v",
			resp.StatusCode, reached, mine.CheckRedirect != nil)
	}

	resp, err = Client(mine, 0, true).Get(from.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _, _ := ReadLimited(resp.Body, 64)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "target" || reached != 1 {
		t.Errorf("follow true: status %d, body %q, target reached %d times", resp.StatusCode, body, reached)
	}
}

// TestClientTimeout: the client made for a nil one gives up after its
// timeout on a server that never answers; a caller's client keeps its own.
func TestClientTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	c := Client(nil, 50*time.Millisecond, false)
	if c.Timeout != 50*time.Millisecond {
		t.Fatalf("client timeout %v", c.Timeout)
	}
	_, err := c.Get(srv.URL)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("a server that never answers: %v, want a timeout", err)
	}
	if !strings.Contains(err.Error(), "Timeout") && !strings.Contains(err.Error(), "timeout") {
		t.Errorf("timeout error says %q", err)
	}
	if got := Client(&http.Client{Timeout: time.Hour}, time.Second, true).Timeout; got != time.Hour {
		t.Errorf("a caller's client got timeout %v, want its own hour", got)
	}
}
