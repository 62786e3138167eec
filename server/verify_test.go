package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/syncbuf"
)

func TestVerifyEveryReason(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name      string
		fields    map[string]any
		valid     bool
		allowed   bool
		reason    core.Reason
		keyName   string // "" means "key": null
		keyScopes []string
	}{
		{"ok by operation", map[string]any{"key": secretOf(t, f, "reader"), "operation": "messaging.channels.list"}, true, true, core.ReasonOK, "reader", []string{"messaging:GetChannel", "messaging:ListChannels"}},
		{"ok by scope", map[string]any{"key": secretOf(t, f, "msgread"), "scope": "messaging:read"}, true, true, core.ReasonOK, "msgread", []string{"messaging:read"}},
		{"ok by operation scope held through section read", map[string]any{"key": secretOf(t, f, "msgread"), "scope": "messaging:GetChannel"}, true, true, core.ReasonOK, "msgread", nil},
		{"ok validity only", map[string]any{"key": secretOf(t, f, "reader")}, true, true, core.ReasonOK, "reader", nil},
		{"ok global", map[string]any{"key": secretOf(t, f, "global"), "operation": "users.delete"}, true, true, core.ReasonOK, "global", []string{"*:*"}},
		{"forbidden by operation", map[string]any{"key": secretOf(t, f, "reader"), "operation": "users.list"}, true, false, core.ReasonForbidden, "reader", nil},
		{"forbidden write with read-only section", map[string]any{"key": secretOf(t, f, "msgread"), "operation": "messaging.channels.create"}, true, false, core.ReasonForbidden, "msgread", nil},
		{"forbidden by scope", map[string]any{"key": secretOf(t, f, "reader"), "scope": "messaging:*"}, true, false, core.ReasonForbidden, "reader", nil},
		{"expired", map[string]any{"key": secretOf(t, f, "expired"), "operation": "messaging.channels.list"}, false, false, core.ReasonExpired, "expired", nil},
		{"tampered", map[string]any{"key": secretOf(t, f, "tampered"), "operation": "messaging.channels.list"}, false, false, core.ReasonTampered, "tampered (renamed by hand)", nil},
		{"unknown", map[string]any{"key": unknownKey(t), "operation": "messaging.channels.list"}, false, false, core.ReasonUnknown, "", nil},
		{"bad checksum", map[string]any{"key": badChecksum(secretOf(t, f, "reader"))}, false, false, core.ReasonBadChecksum, "", nil},
		{"malformed", map[string]any{"key": malformedKey}, false, false, core.ReasonMalformed, "", nil},
		{"empty key", map[string]any{"key": ""}, false, false, core.ReasonMalformed, "", nil},
		{"key with spaces", map[string]any{"key": " " + secretOf(t, f, "reader") + " "}, false, false, core.ReasonMalformed, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.postVerify(t, tc.fields)
			if r.Status != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", r.Status, r.Body)
			}
			var got VerifyResponse
			r.json(t, &got)
			if got.Valid != tc.valid || got.Allowed != tc.allowed || got.Reason != tc.reason {
				t.Fatalf("got valid=%v allowed=%v reason=%q, want %v %v %q", got.Valid, got.Allowed, got.Reason, tc.valid, tc.allowed, tc.reason)
			}
			if got.Message != tc.reason.Explain() {
				t.Errorf("message %q, want %q", got.Message, tc.reason.Explain())
			}
			if tc.keyName == "" {
				if got.Key != nil {
					t.Fatalf("key = %+v, want null", got.Key)
				}
				if !bytes.Contains(r.Body, []byte(`"key":null`)) {
					t.Errorf("body %s lacks \"key\":null", r.Body)
				}
				return
			}
			if got.Key == nil || got.Key.Name != tc.keyName {
				t.Fatalf("key = %+v, want the record named %q", got.Key, tc.keyName)
			}
			base := strings.SplitN(tc.keyName, " ", 2)[0]
			if got.Key.ID != f.keys[base].ID {
				t.Errorf("key id %q, want %q", got.Key.ID, f.keys[base].ID)
			}
			if got.Key.ExpiresAt.IsZero() || got.Key.ExpiresAt.Location() != time.UTC {
				t.Errorf("expiresAt %v, want a UTC time", got.Key.ExpiresAt)
			}
			if tc.keyScopes != nil && strings.Join(got.Key.Scopes, " ") != strings.Join(tc.keyScopes, " ") {
				t.Errorf("scopes %v, want %v", got.Key.Scopes, tc.keyScopes)
			}
			if bytes.Contains(r.Body, []byte("kdk_")) || bytes.Contains(r.Body, []byte("digest")) || bytes.Contains(r.Body, []byte("mac")) {
				t.Errorf("the answer tells more than it should: %s", r.Body)
			}
		})
	}
	st := f.srv.Stats()
	want := map[core.Reason]uint64{core.ReasonOK: 5, core.ReasonForbidden: 3, core.ReasonExpired: 1, core.ReasonTampered: 1, core.ReasonUnknown: 1, core.ReasonBadChecksum: 1, core.ReasonMalformed: 3}
	for reason, n := range want {
		if st.Verifications[reason] != n {
			t.Errorf("stats count %d %s, want %d (%+v)", st.Verifications[reason], reason, n, st)
		}
	}
}

func TestVerifyBadRequests(t *testing.T) {
	f := newFixture(t)
	key := secretOf(t, f, "reader")
	tests := []struct {
		name    string
		body    string
		status  int
		mention string
	}{
		{"empty body", "", 400, "empty"},
		{"not JSON", "key=" + key, 400, "not valid JSON"},
		{"truncated JSON", `{"key": "` + key, 400, "not valid JSON"},
		{"array", `[]`, 400, "JSON object"},
		{"string", `"` + key + `"`, 400, "JSON object"},
		{"null", `null`, 400, `no "key"`},
		{"no key", `{"operation": "users.list"}`, 400, `no "key"`},
		{"key is a number", `{"key": 42}`, 400, `"key" must be a string`},
		{"key is an object", `{"key": {"` + key + `": 1}}`, 400, `"key" must be a string`},
		{"unknown field", `{"key": "` + key + `", "operationId": "users.list"}`, 400, "other than"},
		{"unknown field named like a key", `{"key": "x", "` + key + `": 1}`, 400, "other than"},
		{"unknown operation", `{"key": "` + key + `", "operation": "users.fly"}`, 400, `"users.fly"`},
		{"operation that looks like a key", `{"key": "x", "operation": "` + key + `"}`, 400, "Unknown operation;"},
		{"both operation and scope", `{"key": "` + key + `", "operation": "users.list", "scope": "users:read"}`, 400, "not both"},
		{"empty scope", `{"key": "` + key + `", "scope": ""}`, 400, "empty"},
		{"trailing object", `{"key": "` + key + `"} {}`, 400, "nothing after"},
		{"trailing garbage", `{"key": "` + key + `"} x`, 400, "not valid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, http.MethodPost, f.url+PathVerify, strings.NewReader(tc.body), nil)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			var e ErrorResponse
			r.json(t, &e)
			mustContain(t, e.Error, tc.mention)
			if !strings.HasSuffix(e.Error, ".") || strings.Count(e.Error, ". ") > 0 {
				t.Errorf("error %q is not one sentence", e.Error)
			}
			if strings.Contains(string(r.Body), key) {
				t.Errorf("the error repeats the key: %s", r.Body)
			}
		})
	}
	if n := f.srv.Stats().BadRequests; n != uint64(len(tests)) {
		t.Errorf("badRequests = %d, want %d", n, len(tests))
	}
}

func TestVerifyBodyLimit(t *testing.T) {
	f := newFixture(t)
	key := secretOf(t, f, "reader")
	// Padding inside the JSON: exactly at the limit is fine, one byte more
	// is refused, with and without a Content-Length.
	body := func(size int) string {
		head := `{"key": "` + key + `", "operation": "messaging.channels.list"`
		return head + strings.Repeat(" ", size-len(head)-1) + "}"
	}
	atLimit, overLimit := body(MaxBodyBytes), body(MaxBodyBytes+1)
	if len(atLimit) != MaxBodyBytes || len(overLimit) != MaxBodyBytes+1 {
		t.Fatal("bad test bodies")
	}
	tests := []struct {
		name   string
		body   io.Reader
		status int
	}{
		{"at limit", strings.NewReader(atLimit), 200},
		{"over limit with length", strings.NewReader(overLimit), 413},
		{"over limit chunked", io.MultiReader(strings.NewReader(overLimit)), 413},
		{"huge chunked", io.MultiReader(strings.NewReader(`{"key": "`), io.LimitReader(neverEnding('x'), 10<<20)), 413},
		{"huge invalid JSON fails early", io.LimitReader(neverEnding('x'), 10<<20), 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, http.MethodPost, f.url+PathVerify, tc.body, nil)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			switch tc.status {
			case 413:
				var e ErrorResponse
				r.json(t, &e)
				mustContain(t, e.Error, "64 KiB")
			case 400:
				var e ErrorResponse
				r.json(t, &e)
			default:
				var v VerifyResponse
				r.json(t, &v)
				if !v.Allowed {
					t.Fatalf("the request at the limit was not answered: %s", r.Body)
				}
			}
		})
	}
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func TestMethodsPathsAndHeaders(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", PathVerify, 405, "POST"},
		{"PUT", PathVerify, 405, "POST"},
		{"OPTIONS", PathVerify, 405, "POST"},
		{"POST", PathAuth, 405, "GET, HEAD"},
		{"DELETE", PathAuth, 405, "GET, HEAD"},
		{"POST", PathHealthz, 405, "GET, HEAD"},
		{"POST", PathStats, 405, "GET, HEAD"},
		{"GET", "/", 404, ""},
		{"GET", "/v1/keys", 404, ""},
		{"GET", "/v1/keys/verify/extra", 404, ""},
		{"GET", "/v1/authx", 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := do(t, tc.method, f.url+tc.path, nil, nil)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if got := r.Header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
			var e ErrorResponse
			r.json(t, &e)
			if e.Error == "" {
				t.Error("no error sentence")
			}
		})
	}

	t.Run("healthz", func(t *testing.T) {
		r := do(t, "GET", f.url+PathHealthz, nil, nil)
		if r.Status != 200 || string(r.Body) != "ok\n" {
			t.Fatalf("healthz: %d %q", r.Status, r.Body)
		}
	})

	t.Run("huge headers", func(t *testing.T) {
		r := do(t, "GET", f.url+PathHealthz, nil, map[string]string{"X-Padding": strings.Repeat("a", MaxHeaderBytes+8<<10)})
		if r.Status != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("status %d, want 431", r.Status)
		}
	})

	t.Run("headers under the limit", func(t *testing.T) {
		r := do(t, "GET", f.url+PathHealthz, nil, map[string]string{"X-Padding": strings.Repeat("a", MaxHeaderBytes/2)})
		if r.Status != 200 {
			t.Fatalf("status %d, want 200", r.Status)
		}
	})

	t.Run("a key in the path is not logged", func(t *testing.T) {
		// testLogger fails the test if the key reaches the log.
		r := do(t, "GET", f.url+"/"+secretOf(t, f, "reader")+"x", nil, nil)
		if r.Status != 404 {
			t.Fatalf("status %d", r.Status)
		}
	})
}

func TestHTTPServerLimits(t *testing.T) {
	hs := New(nil, Options{}).HTTPServer()
	if hs.ReadHeaderTimeout <= 0 || hs.ReadTimeout <= 0 || hs.WriteTimeout <= 0 || hs.IdleTimeout <= 0 || hs.MaxHeaderBytes != MaxHeaderBytes {
		t.Fatalf("timeouts or header limit unset: %+v", hs)
	}
}

func TestStatsEndpoint(t *testing.T) {
	f := newFixture(t)
	f.postVerify(t, map[string]any{"key": malformedKey})
	f.postVerify(t, map[string]any{"key": secretOf(t, f, "reader")})
	f.getAuth(t, "", "GET", "/v2/users", false)
	f.getAuth(t, secretOf(t, f, "global"), "GET", "/v2/nowhere", false)
	do(t, "POST", f.url+PathVerify, strings.NewReader("{"), nil)
	r := do(t, "GET", f.url+PathStats, nil, nil)
	if r.Status != 200 {
		t.Fatalf("status %d", r.Status)
	}
	var st Stats
	r.json(t, &st)
	if len(st.Verifications) != len(Reasons) || st.Verifications[core.ReasonMalformed] != 1 || st.Verifications[core.ReasonOK] != 1 ||
		st.MissingKey != 1 || st.NoRoute != 1 || st.BadRequests != 1 || st.Failed() != 3 {
		t.Fatalf("stats %+v", st)
	}
}

// panicVerifier stands for a bug in the verifier.
type panicVerifier struct{}

func (panicVerifier) Verify(string, core.Target) core.Verification { panic("bug") }
func (panicVerifier) Catalog() *core.Catalog                       { return core.DefaultCatalog() }

// TestPanicIsContained checks the last-resort recovery: a bug answers 500
// with JSON and is logged, and the server goes on answering.
func TestPanicIsContained(t *testing.T) {
	var logs syncbuf.Buffer
	srv := New(panicVerifier{}, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for range 2 {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("POST", PathVerify, strings.NewReader(`{"key": "x"}`)))
		if rec.Code != 500 || !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("status %d body %s", rec.Code, rec.Body)
		}
	}
	if !strings.Contains(logs.String(), "internal error") {
		t.Fatalf("the panic was not logged: %s", logs.String())
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", PathHealthz, nil))
	if rec.Code != 200 {
		t.Fatalf("healthz after a panic: %d", rec.Code)
	}
}
