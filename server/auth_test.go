package server

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
)

func TestAuthEveryReason(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		key    string
		method string
		uri    string
		status int
		reason core.Reason
		op     string // expected X-Keydesk-Operation on 200
	}{
		{"no key", "", "GET", "/v2/conversations/channels", 401, ReasonMissingKey, ""},
		{"malformed", malformedKey, "GET", "/v2/conversations/channels", 401, core.ReasonMalformed, ""},
		{"bad checksum", badChecksum(secretOf(t, f, "reader")), "GET", "/v2/conversations/channels", 401, core.ReasonBadChecksum, ""},
		{"unknown", unknownKey(t), "GET", "/v2/conversations/channels", 401, core.ReasonUnknown, ""},
		{"expired", secretOf(t, f, "expired"), "GET", "/v2/conversations/channels", 401, core.ReasonExpired, ""},
		{"tampered", secretOf(t, f, "tampered"), "GET", "/v2/conversations/channels", 401, core.ReasonTampered, ""},
		{"forbidden", secretOf(t, f, "reader"), "GET", "/v2/users", 403, core.ReasonForbidden, ""},
		{"forbidden method", secretOf(t, f, "reader"), "POST", "/v2/conversations/channels", 403, core.ReasonForbidden, ""},
		{"forbidden write for read-only section", secretOf(t, f, "msgread"), "DELETE", "/v2/conversations/channels/c1", 403, core.ReasonForbidden, ""},
		{"ok", secretOf(t, f, "reader"), "GET", "/v2/conversations/channels", 200, core.ReasonOK, "messaging.channels.list"},
		{"ok section read", secretOf(t, f, "msgread"), "GET", "/v2/conversations/channels/c1/members", 200, core.ReasonOK, "messaging.members.list"},
		{"ok global write", secretOf(t, f, "global"), "POST", "/v2/users", 200, core.ReasonOK, "users.create"},
		{"no route, valid key", secretOf(t, f, "global"), "GET", "/v2/nowhere", 403, ReasonNoRoute, ""},
		{"no route, wrong method", secretOf(t, f, "global"), "PATCH", "/v2/users", 403, ReasonNoRoute, ""},
		{"no route, invalid key", unknownKey(t), "GET", "/v2/nowhere", 401, core.ReasonUnknown, ""},
	}
	for _, traefik := range []bool{false, true} {
		proxy := "nginx headers"
		if traefik {
			proxy = "traefik headers"
		}
		for _, tc := range tests {
			t.Run(proxy+"/"+tc.name, func(t *testing.T) {
				r := f.getAuth(t, tc.key, tc.method, tc.uri, traefik)
				checkAuth(t, f, r, tc.status, tc.reason, tc.op)
			})
		}
	}
}

// checkAuth checks an answer of /v1/auth: status, reason header and body,
// WWW-Authenticate on 401 and the key and operation headers on 200.
func checkAuth(t *testing.T, f *fixture, r response, status int, reason core.Reason, op string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if got := r.Header.Get(HeaderReason); got != string(reason) {
		t.Errorf("%s %q, want %q", HeaderReason, got, reason)
	}
	var body AuthResponse
	r.json(t, &body)
	if body.Reason != reason || body.Allowed != (status == 200) || body.Message == "" {
		t.Errorf("body %+v, want reason %q", body, reason)
	}
	www := r.Header.Get("WWW-Authenticate")
	switch status {
	case 401:
		if !strings.HasPrefix(www, "Bearer ") {
			t.Errorf("WWW-Authenticate %q", www)
		}
		if reason != ReasonMissingKey && !strings.Contains(www, `error="invalid_token"`) {
			t.Errorf("WWW-Authenticate %q lacks invalid_token", www)
		}
		if r.Header.Get(HeaderKeyID) != "" {
			t.Error("a refused request names a key")
		}
	case 200:
		id := r.Header.Get(HeaderKeyID)
		if id == "" || id != body.KeyID {
			t.Errorf("%s %q, body keyId %q", HeaderKeyID, id, body.KeyID)
		}
		if got := r.Header.Get(HeaderOperation); got != op {
			t.Errorf("%s %q, want %q", HeaderOperation, got, op)
		}
	}
	for _, k := range f.keys {
		if strings.Contains(string(r.Body), k.Secret) || strings.Contains(r.Header.Get("WWW-Authenticate"), k.Secret) {
			t.Errorf("the answer repeats a key: %s", r.Body)
		}
	}
	if core.KeyPattern.Match(r.Body) {
		t.Errorf("the answer holds a key: %s", r.Body)
	}
}

func TestAuthRouteMatching(t *testing.T) {
	f := newFixture(t)
	reader, global := secretOf(t, f, "reader"), secretOf(t, f, "global")
	tests := []struct {
		name   string
		key    string
		method string
		uri    string
		status int
		op     string
	}{
		{"template", reader, "GET", "/v2/conversations/channels/C0123", 200, "messaging.channels.get"},
		{"trailing slash on list", reader, "GET", "/v2/conversations/channels/", 200, "messaging.channels.list"},
		{"trailing slash on template", reader, "GET", "/v2/conversations/channels/C0123/", 200, "messaging.channels.get"},
		{"query string", reader, "GET", "/v2/conversations/channels?limit=10&cursor=abc", 200, "messaging.channels.list"},
		{"query string after trailing slash", reader, "GET", "/v2/conversations/channels/C0123/?fields=name", 200, "messaging.channels.get"},
		{"query string holding a path", reader, "GET", "/v2/conversations/channels?next=/v2/users", 200, "messaging.channels.list"},
		{"escaped parameter", reader, "GET", "/v2/conversations/channels/C%41123", 200, "messaging.channels.get"},
		{"escaped space in a parameter", reader, "GET", "/v2/conversations/channels/C%20123", 403, ""},
		{"lower-case method", reader, "get", "/v2/conversations/channels", 403, ""},
		{"HEAD is GET", reader, "HEAD", "/v2/conversations/channels", 200, "messaging.channels.list"},
		{"literal beats template", global, "POST", "/v2/conversations/channels/direct", 200, "messaging.channels.getOrCreateDirect"},
		{"template with the literal's method mismatch", global, "GET", "/v2/conversations/channels/direct", 200, "messaging.channels.get"},
		{"nested template", reader, "GET", "/v2/conversations/channels/C1/members", 403, ""},
		{"empty parameter", global, "GET", "/v2/conversations/channels//members", 403, ""},
		{"too many segments", global, "GET", "/v2/conversations/channels/C1/members/M1/extra", 403, ""},
		{"dot-dot segment", global, "GET", "/v2/conversations/channels/../channels", 403, ""},
		{"dot segment", reader, "GET", "/v2/conversations/./channels", 403, ""},
		{"encoded slash", global, "GET", "/v2/conversations/channels/a%2Fmembers", 403, ""},
		{"encoded dot-dot", global, "GET", "/v2/conversations/channels/%2e%2e", 403, ""},
		{"backslash", global, "GET", `/v2/users\bots`, 403, ""},
		{"prefix only", global, "GET", "/v2", 403, ""},
		{"root", global, "GET", "/", 403, ""},
		{"absolute URL", global, "GET", "http://example.com/v2/users", 403, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.getAuth(t, tc.key, tc.method, tc.uri, false)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if got := r.Header.Get(HeaderOperation); got != tc.op {
				t.Errorf("operation %q, want %q", got, tc.op)
			}
		})
	}
}

func TestAuthRequestShapes(t *testing.T) {
	f := newFixture(t)
	reader := secretOf(t, f, "reader")
	t.Run("scheme in any case", func(t *testing.T) {
		r := do(t, "GET", f.url+PathAuth, nil, map[string]string{"Authorization": "bearer   " + reader, "X-Original-Method": "GET", "X-Original-URI": "/v2/conversations/channels"})
		checkAuth(t, f, r, 200, core.ReasonOK, "messaging.channels.list")
	})
	t.Run("basic auth is no key", func(t *testing.T) {
		r := do(t, "GET", f.url+PathAuth, nil, map[string]string{"Authorization": "Basic dXNlcjpwYXNz", "X-Original-Method": "GET", "X-Original-URI": "/v2/conversations/channels"})
		checkAuth(t, f, r, 401, ReasonMissingKey, "")
	})
	t.Run("empty bearer", func(t *testing.T) {
		r := do(t, "GET", f.url+PathAuth, nil, map[string]string{"Authorization": "Bearer ", "X-Original-Method": "GET", "X-Original-URI": "/v2/conversations/channels"})
		checkAuth(t, f, r, 401, ReasonMissingKey, "")
	})
	t.Run("HEAD request", func(t *testing.T) {
		r := do(t, "HEAD", f.url+PathAuth, nil, map[string]string{"Authorization": "Bearer " + reader, "X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/v2/conversations/channels"})
		if r.Status != 200 || r.Header.Get(HeaderKeyID) != f.keys["reader"].ID {
			t.Fatalf("HEAD: %d %v", r.Status, r.Header)
		}
	})
	for _, h := range []map[string]string{
		{},
		{"X-Original-Method": "GET"},
		{"X-Forwarded-Uri": "/v2/users"},
		{"X-Original-Method": " ", "X-Original-URI": "/v2/users"},
		{"X-Forwarded-Method": "GET", "X-Original-URI": "/v2/users"},
	} {
		t.Run("missing forwarded headers", func(t *testing.T) {
			h["Authorization"] = "Bearer " + reader
			r := do(t, "GET", f.url+PathAuth, nil, h)
			if r.Status != 400 {
				t.Fatalf("status %d, want 400", r.Status)
			}
			var e ErrorResponse
			r.json(t, &e)
			mustContain(t, e.Error, "X-Forwarded-Method")
		})
	}
	t.Run("envoy: original method and path under the prefix", func(t *testing.T) {
		r := do(t, "GET", f.url+PathAuth+"/v2/conversations/channels/C1?x=1", nil, map[string]string{"Authorization": "Bearer " + reader})
		checkAuth(t, f, r, 200, core.ReasonOK, "messaging.channels.get")
		r = do(t, "DELETE", f.url+PathAuth+"/v2/conversations/channels/C1", nil, map[string]string{"Authorization": "Bearer " + reader})
		checkAuth(t, f, r, 403, core.ReasonForbidden, "")
		r = do(t, "POST", f.url+PathAuth+"/v2/conversations/channels", strings.NewReader(`{"name":"x"}`), map[string]string{"Authorization": "Bearer " + secretOf(t, f, "global")})
		checkAuth(t, f, r, 200, core.ReasonOK, "messaging.channels.create")
		r = do(t, "GET", f.url+PathAuth+"/v2/conversations/channels/%2e%2e/x", nil, map[string]string{"Authorization": "Bearer " + secretOf(t, f, "global")})
		checkAuth(t, f, r, 403, ReasonNoRoute, "")
		r = do(t, "GET", f.url+PathAuth+"/v2/users/..;", nil, map[string]string{"Authorization": "Bearer " + secretOf(t, f, "usersget")})
		checkAuth(t, f, r, 403, ReasonNoRoute, "")
	})
}

// TestAuthLastUsed checks that only allowed requests count as a use.
func TestAuthLastUsed(t *testing.T) {
	f := newFixture(t)
	lastUsed := func(name string) time.Time {
		for _, k := range f.svc.List() {
			if k.ID == f.keys[name].ID {
				return k.LastUsedAt
			}
		}
		t.Fatalf("no key %s", name)
		return time.Time{}
	}
	f.getAuth(t, secretOf(t, f, "global"), "GET", "/v2/nowhere", false)
	f.getAuth(t, secretOf(t, f, "reader"), "GET", "/v2/users", false)
	if !lastUsed("global").IsZero() || !lastUsed("reader").IsZero() {
		t.Fatal("a refused request was recorded as a use")
	}
	now := f.clock.Now()
	if r := f.getAuth(t, secretOf(t, f, "reader"), "GET", "/v2/conversations/channels", false); r.Status != http.StatusOK {
		t.Fatalf("status %d", r.Status)
	}
	if got := lastUsed("reader"); !got.Equal(now) {
		t.Fatalf("last used %v, want %v", got, now)
	}
}

// TestAuthForwardedHeadersSpoofing plays a client behind a gateway that adds
// forwarded headers of its own, which nginx (and Traefik, for X-Original-*)
// pass into the auth request next to the ones the gateway sets. The real
// request is DELETE /v2/users/42 and the key may only GET a user: no
// combination of headers may get it a 200.
func TestAuthForwardedHeadersSpoofing(t *testing.T) {
	f := newFixture(t)
	key := secretOf(t, f, "usersget")
	h := func(kv ...string) http.Header {
		out := http.Header{"Authorization": {"Bearer " + key}}
		for i := 0; i < len(kv); i += 2 {
			out.Add(kv[i], kv[i+1])
		}
		return out
	}
	realNginx := []string{"X-Original-Method", "DELETE", "X-Original-URI", "/v2/users/42"}
	realTraefik := []string{"X-Forwarded-Method", "DELETE", "X-Forwarded-Uri", "/v2/users/42"}
	tests := []struct {
		name   string
		header http.Header
		status int
	}{
		{"nginx, client adds both X-Forwarded headers", h(append(realNginx, "X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/v2/users/42")...), 400},
		{"nginx, client adds X-Forwarded-Method only", h(append(realNginx, "X-Forwarded-Method", "GET")...), 400},
		{"nginx, client adds X-Forwarded-Uri only", h("X-Original-Method", "GET", "X-Original-URI", "/v2/users", "X-Forwarded-Uri", "/v2/users/42"), 400},
		{"nginx, client adds empty X-Forwarded headers", h(append(realNginx, "X-Forwarded-Method", "", "X-Forwarded-Uri", "")...), 400},
		{"traefik, client adds both X-Original headers", h(append(realTraefik, "X-Original-Method", "GET", "X-Original-URI", "/v2/users/42")...), 400},
		{"traefik, client adds X-Original-Method only", h(append(realTraefik, "X-Original-Method", "GET")...), 400},
		{"nginx, client repeats X-Original-Method", h("X-Original-Method", "GET", "X-Original-Method", "DELETE", "X-Original-URI", "/v2/users/42"), 400},
		{"nginx, client repeats X-Original-URI", h("X-Original-Method", "GET", "X-Original-URI", "/v2/users/42", "X-Original-URI", "/v2/users"), 400},
		{"both sets naming the same request", h(append(realNginx, realTraefik...)...), 403},
		{"nginx, no forged header", h(realNginx...), 403},
		{"traefik, no forged header", h(realTraefik...), 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := doHeader(t, http.MethodGet, f.url+PathAuth, nil, tc.header)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if tc.status == 403 {
				checkAuth(t, f, r, 403, core.ReasonForbidden, "")
				return
			}
			var e ErrorResponse
			r.json(t, &e)
			if !strings.Contains(e.Error, "X-Forwarded") || r.Header.Get(HeaderKeyID) != "" {
				t.Errorf("answer %v %s", r.Header, r.Body)
			}
		})
	}
	t.Run("both sets naming the same allowed request", func(t *testing.T) {
		r := doHeader(t, http.MethodGet, f.url+PathAuth, nil, h("X-Original-Method", "GET", "X-Original-URI", "/v2/users/42", "X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/v2/users/42"))
		checkAuth(t, f, r, 200, core.ReasonOK, "users.get")
	})
	// Envoy puts the original method and path in the request line; headers
	// there are the client's and are ignored.
	t.Run("envoy, client adds both sets", func(t *testing.T) {
		r := doHeader(t, http.MethodDelete, f.url+PathAuth+"/v2/users/42", nil, h("X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/v2/users/42", "X-Original-Method", "GET", "X-Original-URI", "/v2/users/42"))
		checkAuth(t, f, r, 403, core.ReasonForbidden, "")
	})
	t.Run("envoy, client adds a path the key may use", func(t *testing.T) {
		r := doHeader(t, http.MethodGet, f.url+PathAuth+"/v2/users", nil, h("X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/v2/users/42"))
		checkAuth(t, f, r, 403, core.ReasonForbidden, "")
	})
	if n := f.srv.Stats().Verifications[core.ReasonOK]; n != 1 {
		t.Errorf("%d requests allowed, want 1", n)
	}
}

// TestAuthAmbiguousPaths sends the path forms that upstreams read as another
// path, with a key that may get a user, as nginx, Traefik and Envoy would
// forward them: none is allowed (the matcher's own table is in core).
func TestAuthAmbiguousPaths(t *testing.T) {
	f := newFixture(t)
	key := secretOf(t, f, "usersget")
	for _, uri := range []string{
		"/v2/users/..;",
		"/v2/users/42#/../../company",
		"/v2/users/%C0%AE%C0%AE",
		"/v2/users/..%09",
		"/v2/users/%20..",
		"/v2/users/..%3B",
		"/v2/users/%2e%2e",
		"/v2/users/a%2Fb",
		"/v2/users/a%5Cb",
		"/v2/users/BOTS",
	} {
		for _, traefik := range []bool{false, true} {
			r := f.getAuth(t, key, "GET", uri, traefik)
			if r.Status != 403 || r.Header.Get(HeaderReason) != string(ReasonNoRoute) {
				t.Errorf("GET %q (traefik %v): %d %s, want 403 no_route", uri, traefik, r.Status, r.Body)
			}
		}
	}
	// The same key is allowed the plain form.
	checkAuth(t, f, f.getAuth(t, key, "GET", "/v2/users/42", false), 200, core.ReasonOK, "users.get")
}
