package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// FuzzVerifyHandler feeds arbitrary bodies to POST /v1/keys/verify over the
// real store: the answer is always 200, 400 or 413 with a JSON body, never a
// 500 or a panic. Run longer with
// go test -run '^$' -fuzz FuzzVerifyHandler -fuzztime 60s ./server/
func FuzzVerifyHandler(f *testing.F) {
	fx := newFixture(f)
	reader := fx.keys["reader"].Secret
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"key": 1}`, `{"key": null}`,
		`{"key": "` + reader + `"}`,
		`{"key": "` + reader + `", "operation": "messaging.channels.list"}`,
		`{"key": "` + reader + `", "operation": "users.list"}`,
		`{"key": "` + reader + `", "scope": "messaging:*"}`,
		`{"key": "` + reader + `", "operation": "x", "scope": "y"}`,
		`{"key": "` + badChecksum(reader) + `"}`,
		`{"key": "` + fx.keys["expired"].Secret + `"}`,
		`{"key": "` + fx.keys["tampered"].Secret + `"}`,
		`{"key": "kdk_\u0000\ud800"}`,
		`{"key": "a"} {"key": "b"}`,
		`{"KEY": "a", "Operation": "users.list"}`,
		`{"key": "a", "operation": {"$gt": ""}}`,
		strings.Repeat(`{"key":`, 1000),
		`{"key": "` + strings.Repeat("z", MaxBodyBytes) + `"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, PathVerify, bytes.NewReader(body))
		rec := httptest.NewRecorder()
		fx.srv.ServeHTTP(rec, req)
		if !slices.Contains([]int{200, 400, 413}, rec.Code) {
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type %q", ct)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("answer is not JSON: %q", rec.Body)
		}
		if rec.Code == 200 {
			var v VerifyResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || !slices.Contains(Reasons, v.Reason) || (v.Allowed && !v.Valid) {
				t.Fatalf("bad answer %s (%v)", rec.Body, err)
			}
			return
		}
		var e ErrorResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
			t.Fatalf("bad error answer %s (%v)", rec.Body, err)
		}
		if strings.Contains(rec.Body.String(), reader) {
			t.Fatalf("the error repeats the key: %s", rec.Body)
		}
	})
}

// FuzzAuthHandler feeds arbitrary forwarded methods, URIs (in one or both
// sets of headers) and Authorization headers to GET /v1/auth: the answer is
// always 200, 400, 401 or 403, and a 200 names a key and comes only when
// the two sets, if both are sent, name the same request.
func FuzzAuthHandler(f *testing.F) {
	fx := newFixture(f)
	reader := fx.keys["reader"].Secret
	f.Add("GET", "/v2/conversations/channels", "", "", "Bearer "+reader)
	f.Add("POST", "/v2/conversations/channels/direct?x=1", "", "", "Bearer "+fx.keys["global"].Secret)
	f.Add("GET", "/v2/conversations/channels/%2e%2e/", "", "", "bearer "+reader)
	f.Add("", "", "", "", "")
	f.Add("DELETE", "/v2/users/{userId}", "", "", "Basic x")
	f.Add("GET", "%zz/..//", "", "", "Bearer kdk_")
	f.Add("DELETE", "/v2/users/42", "GET", "/v2/users/42", "Bearer "+fx.keys["usersget"].Secret)
	f.Add("GET", "/v2/users/42", "GET", "/v2/users/42", "Bearer "+fx.keys["usersget"].Secret)
	f.Add("GET", "/v2/users", "", "/v2/users/42", "Bearer "+fx.keys["usersget"].Secret)
	f.Fuzz(func(t *testing.T, method, uri, fwdMethod, fwdURI, authz string) {
		req := httptest.NewRequest(http.MethodGet, PathAuth, nil)
		req.Header.Set("X-Original-Method", method)
		req.Header.Set("X-Original-URI", uri)
		forged := fwdMethod != "" || fwdURI != ""
		if forged {
			req.Header.Set("X-Forwarded-Method", fwdMethod)
			req.Header.Set("X-Forwarded-Uri", fwdURI)
		}
		req.Header.Set("Authorization", authz)
		rec := httptest.NewRecorder()
		fx.srv.ServeHTTP(rec, req)
		if !slices.Contains([]int{200, 400, 401, 403}, rec.Code) || !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("status %d for %q %q: %s", rec.Code, method, uri, rec.Body)
		}
		if rec.Code != 200 {
			return
		}
		if rec.Header().Get(HeaderKeyID) == "" {
			t.Fatal("200 without a key id")
		}
		if forged && (fwdMethod != method || fwdURI != uri) {
			t.Fatalf("200 for X-Original %q %q with X-Forwarded %q %q", method, uri, fwdMethod, fwdURI)
		}
	})
}
