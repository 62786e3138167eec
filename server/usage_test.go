package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/keydesk/keydesk/core"
)

// TestUsageCountsBothEndpoints: with Options.Usage, answers of
// /v1/keys/verify and /v1/auth are counted per key (allowed, denied for a
// forbidden operation or a request matching no route, expired) and per
// day for unknown keys; a request without a key is not counted.
func TestUsageCountsBothEndpoints(t *testing.T) {
	f := newFixture(t)
	rec, err := core.NewUsageRecorder(f.b.Store(), core.LocalUsageWriter, f.clock)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(New(f.svc, Options{Logger: testLogger(t), Usage: rec}))
	defer ts.Close()
	g := &fixture{url: ts.URL, keys: f.keys}
	reader := secretOf(t, f, "reader")
	for _, c := range []struct {
		r      response
		status int
	}{
		{g.getAuth(t, reader, http.MethodGet, "/v2/conversations/channels", false), 200},
		{g.getAuth(t, reader, http.MethodGet, "/v2/users/42", true), 403},
		{g.getAuth(t, reader, http.MethodGet, "/nowhere", false), 403},
		{g.getAuth(t, "", http.MethodGet, "/v2/conversations/channels", false), 401},
		{g.postVerify(t, map[string]any{"key": secretOf(t, f, "expired")}), 200},
		{g.postVerify(t, map[string]any{"key": unknownKey(t)}), 200},
	} {
		if c.r.Status != c.status {
			t.Fatalf("status %d, want %d", c.r.Status, c.status)
		}
	}
	if err := rec.Flush(); err != nil {
		t.Fatal(err)
	}
	ids := []string{f.keys["reader"].ID, f.keys["expired"].ID}
	tot, err := core.ReadUsageTotals(f.b.Store(), ids, f.clock.Now(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := tot.Keys[ids[0]]; got != (core.UsageCounts{Allowed: 1, Denied: 2}) {
		t.Errorf("reader: %+v, want allowed 1, denied 2", got)
	}
	if got := tot.Keys[ids[1]]; got != (core.UsageCounts{Expired: 1}) {
		t.Errorf("expired key: %+v, want expired 1", got)
	}
	if tot.Unknown != 1 || tot.Malformed != 0 {
		t.Errorf("unknown %d, malformed %d; want 1 and 0", tot.Unknown, tot.Malformed)
	}
}
