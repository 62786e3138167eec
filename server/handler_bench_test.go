package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// discardWriter is an http.ResponseWriter that keeps nothing, so that a
// benchmark measures the handler alone (net/http's response costs the same
// for every handler).
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(status int)      { d.status = status }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkServeHTTPVerify is one POST /v1/keys/verify of an allowed key
// answered in process (no network), with the server's metrics, next to the
// same request answered by the bare handler of BenchmarkHTTPVerify: what
// the handler itself costs in time and allocations per request.
func BenchmarkServeHTTPVerify(b *testing.B) {
	f := newFixture(b)
	body, _ := json.Marshal(map[string]string{"key": secretOf(b, f, "reader"), "operation": "messaging.channels.get"})
	fixed := []byte(`{"valid":true,"allowed":true,"reason":"ok","message":"The key is valid and allowed.","key":{"id":"0123456789abcdef","name":"bench key 1","scopes":["messaging:GetChannel","messaging:ListChannels"],"expiresAt":"2027-01-01T00:00:00Z"}}` + "\n")
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(fixed)
	})
	rd := bytes.NewReader(body)
	req, err := http.NewRequest(http.MethodPost, PathVerify, nil)
	if err != nil {
		b.Fatal(err)
	}
	w := &discardWriter{h: http.Header{}}
	serve := func(h http.Handler) {
		rd.Reset(body)
		req.Body = io.NopCloser(rd)
		req.ContentLength = int64(len(body))
		clear(w.h)
		h.ServeHTTP(w, req)
		if w.status != 0 && w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
	for _, h := range []struct {
		name string
		h    http.Handler
	}{{"keydesk", f.srv}, {"bare", bare}} {
		b.Run(h.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serve(h.h)
			}
		})
	}
}
