package apirequest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keydesk/keydesk/apicatalog"
	"github.com/keydesk/keydesk/apirequest"
	"github.com/keydesk/keydesk/core"
)

const secret = "kdk_TESTSECRETvalue123"

const doc = `openapi: 3.0.3
info: {title: Shop, version: "2"}
servers: [{url: "https://shop.example.com/api"}]
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
    header: {type: apiKey, in: header, name: X-Api-Key}
    query: {type: apiKey, in: query, name: api_key}
paths:
  /orders/{id}:
    get:
      operationId: getOrder
      security: [{header: []}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string, example: o-1}}
        - {name: expand, in: query, schema: {type: boolean}}
      responses: {"200": {description: ok}}
  /orders:
    post:
      operationId: createOrder
      security: [{bearer: []}]
      requestBody:
        content: {application/json: {schema: {type: object, properties: {item: {type: string, example: pen}}}}}
      responses: {"200": {description: ok}}
  /search:
    get:
      operationId: search
      security: [{query: []}]
      responses: {"200": {description: ok}}
`

func catalog(t *testing.T) *core.Catalog {
	t.Helper()
	p := filepath.Join(t.TempDir(), "shop.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := apicatalog.Load(context.Background(), p, apicatalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := apicatalog.Build([]*apicatalog.Document{d}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestKeyGoesWhereTheSchemeSays sends each operation to a TLS server and
// checks where the key arrived, and that curl masks it.
func TestKeyGoesWhereTheSchemeSays(t *testing.T) {
	var got *http.Request
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true,"n":[1,2]}`))
	}))
	defer srv.Close()
	c := catalog(t)
	cases := []struct {
		op    string
		in    apirequest.Input
		check func(r *http.Request) bool
	}{
		{"getOrder", apirequest.Input{Params: map[string]string{"id": "o 1"}, Query: map[string]string{"expand": "true"}},
			func(r *http.Request) bool {
				return r.Header.Get("X-Api-Key") == secret && r.URL.EscapedPath() == "/api/orders/o%201" && r.URL.Query().Get("expand") == "true"
			}},
		{"createOrder", apirequest.Input{Body: []byte(`{"item":"pen"}`)},
			func(r *http.Request) bool {
				return r.Header.Get("Authorization") == "Bearer "+secret && r.Method == "POST" && r.Header.Get("Content-Type") == "application/json"
			}},
		{"search", apirequest.Input{},
			func(r *http.Request) bool { return r.URL.Query().Get("api_key") == secret }},
	}
	for _, tc := range cases {
		tc.in.Server = srv.URL + "/api"
		req, err := apirequest.Prepare(c, tc.op, tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.op, err)
		}
		resp, err := apirequest.Send(context.Background(), req, secret, apirequest.Options{Client: srv.Client()})
		if err != nil {
			t.Fatalf("%s: %v", tc.op, err)
		}
		if !tc.check(got) {
			t.Errorf("%s: the key is not where the scheme says: %v %v", tc.op, got.Header, got.URL)
		}
		if resp.Status != 200 || !resp.JSON || !strings.Contains(string(resp.Body), "\n  \"ok\": true") {
			t.Errorf("%s: response %d %q", tc.op, resp.Status, resp.Body)
		}
		if curl := req.Curl(); strings.Contains(curl, secret) || !strings.Contains(curl, apirequest.KeyPlaceholder) {
			t.Errorf("%s: curl %s", tc.op, curl)
		}
	}
}

// TestSafety: no plain HTTP off this computer, TLS verified, no
// redirects followed, the body capped, and the key never in an error.
func TestSafety(t *testing.T) {
	c := catalog(t)
	if _, err := apirequest.Prepare(c, "search", apirequest.Input{Server: "http://shop.example.com"}); !errors.Is(err, apirequest.ErrBadServer) {
		t.Errorf("plain http to another host: %v", err)
	}
	if _, err := apirequest.Prepare(c, "getOrder", apirequest.Input{}); !errors.Is(err, apirequest.ErrMissingParam) {
		t.Errorf("missing path parameter: %v", err)
	}
	if _, err := apirequest.Prepare(c, "nope", apirequest.Input{}); !errors.Is(err, apirequest.ErrUnknownOperation) {
		t.Errorf("unknown operation: %v", err)
	}
	if _, err := apirequest.Prepare(c, "createOrder", apirequest.Input{Body: []byte("{")}); !errors.Is(err, apirequest.ErrBadBody) {
		t.Errorf("bad body: %v", err)
	}
	if _, err := apirequest.Prepare(core.DefaultCatalog(), "users.list", apirequest.Input{}); !errors.Is(err, apirequest.ErrNotImported) {
		t.Errorf("embedded operation: %v", err)
	}

	var elsewhere bool
	other := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere = true }))
	defer other.Close()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/search":
			http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
		default:
			w.Write([]byte(strings.Repeat("x", apirequest.MaxResponse+10)))
		}
	}))
	defer srv.Close()
	req, _ := apirequest.Prepare(c, "search", apirequest.Input{Server: srv.URL})
	resp, err := apirequest.Send(context.Background(), req, secret, apirequest.Options{Client: srv.Client()})
	if err != nil || resp.Status != http.StatusFound || elsewhere {
		t.Errorf("redirect: %v %v, followed %v", resp, err, elsewhere)
	}
	req, _ = apirequest.Prepare(c, "getOrder", apirequest.Input{Server: srv.URL, Params: map[string]string{"id": "1"}})
	resp, err = apirequest.Send(context.Background(), req, secret, apirequest.Options{Client: srv.Client()})
	if err != nil || !resp.Truncated || len(resp.Body) != apirequest.MaxResponse {
		t.Errorf("cap: truncated %v, %d bytes, %v", resp != nil && resp.Truncated, len(resp.Body), err)
	}
	// The default client verifies TLS: the test server's certificate is
	// not trusted, and the error does not hold the key (sent in the query).
	req, _ = apirequest.Prepare(c, "search", apirequest.Input{Server: srv.URL})
	_, err = apirequest.Send(context.Background(), req, secret, apirequest.Options{})
	if err == nil || !errors.Is(err, apirequest.ErrSend) {
		t.Fatalf("untrusted certificate accepted: %v", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("the key is in the error: %v", err)
	}
	// Cancel.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := apirequest.Send(ctx, req, secret, apirequest.Options{Client: srv.Client()}); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("cancelled: %v", err)
	}
}
