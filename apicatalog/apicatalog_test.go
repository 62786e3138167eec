package apicatalog_test

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
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/openapigen"
)

const blockfrost = "../testdata/openapi/blockfrost-openapi.yaml"

func load(t *testing.T, src string) *apicatalog.Document {
	t.Helper()
	d, err := apicatalog.Load(context.Background(), src, apicatalog.Options{})
	if err != nil {
		t.Fatalf("load %s: %v", src, err)
	}
	return d
}

func build(t *testing.T, prev *core.Catalog, srcs ...string) *core.Catalog {
	t.Helper()
	var docs []*apicatalog.Document
	for _, s := range srcs {
		docs = append(docs, load(t, s))
	}
	c, err := apicatalog.Build(docs, prev)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return c
}

func writeDoc(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBlockfrost(t *testing.T) {
	c := build(t, nil, blockfrost)
	if n := c.OperationCount(); n != 129 {
		t.Errorf("%d operations, want 129", n)
	}
	api := c.APIs[0]
	if api.BasePath != "/api/v0" || api.Servers[0] != "https://cardano-mainnet.blockfrost.io/api/v0" {
		t.Errorf("base path %q, servers %v", api.BasePath, api.Servers)
	}
	if s := api.Schemes["project_id"]; s == nil || s.Type != "apiKey" || s.In != "header" || s.Name != "project_id" {
		t.Errorf("project_id scheme = %+v", s)
	}
	// Sections come from the first tag, with its title.
	sec, ok := c.Section("cardano-pools")
	if !ok || sec.Title != "Cardano » Pools" {
		t.Fatalf("section cardano-pools = %+v, %v", sec, ok)
	}
	op, ok := c.Operation("get-pools-pool-id")
	if !ok {
		t.Fatal("no operation get-pools-pool-id (derived from GET /pools/{pool_id})")
	}
	if op.SectionID != "cardano-pools" || !op.ReadOnly || op.Path != "/api/v0/pools/{pool_id}" || op.Request.Template != "/pools/{pool_id}" {
		t.Errorf("operation = %+v", op)
	}
	// The route includes the base path: what the gateway forwards.
	if got, _, ok := c.MatchRoute("GET", "/api/v0/pools/pool1abc?x=1"); !ok || got != op {
		t.Errorf("MatchRoute(/api/v0/pools/pool1abc) = %v, %v", got, ok)
	}
	if _, _, ok := c.MatchRoute("GET", "/pools/pool1abc"); ok {
		t.Error("a path without the base path matched")
	}
	post, _ := c.Operation("post-tx-submit")
	if post == nil || post.ReadOnly {
		t.Errorf("POST /tx/submit = %+v, want not read-only", post)
	}
}

func TestPetstore31AndSwagger2(t *testing.T) {
	for _, src := range []string{"testdata/oas-examples/petstore-3.1.json", "testdata/oas-examples/petstore-2.0.json"} {
		t.Run(filepath.Base(src), func(t *testing.T) {
			c := build(t, nil, src)
			if c.OperationCount() != 20 || len(c.Sections) != 3 {
				t.Errorf("%d operations in %d sections, want 20 in 3", c.OperationCount(), len(c.Sections))
			}
			add, ok := c.Operation("addPet")
			if !ok || add.SectionID != "pet" || add.ReadOnly || add.Path != "/v2/pet" {
				t.Fatalf("addPet = %+v", add)
			}
			// The document's own scopes, per operation.
			if got := strings.Join(add.DocumentScopes(), " "); got != "write:pets read:pets" {
				t.Errorf("addPet document scopes %q", got)
			}
			if add.Request.BodyExample == nil {
				t.Error("addPet has no body example")
			}
			get, _ := c.Operation("getPetById")
			if get.Request.Security[0].Scheme != "api_key" {
				t.Errorf("getPetById security %+v", get.Request.Security)
			}
		})
	}
}

func TestSeveralDocumentsMakeOneCatalog(t *testing.T) {
	c := build(t, nil, blockfrost, "testdata/oas-examples/petstore-3.1.json")
	if c.OperationCount() != 149 || len(c.APIs) != 2 {
		t.Errorf("%d operations from %d APIs, want 149 from 2", c.OperationCount(), len(c.APIs))
	}
}

const tiny = `openapi: 3.0.3
info: {title: Tiny, version: "1"}
servers: [{url: "https://{host}.example.com/base", variables: {host: {default: api}}}]
paths:
  /items:
    get: {operationId: listItems, responses: {"200": {description: ok}}}
    post:
      operationId: makeItem
      x-keydesk-read-only: true
      x-keydesk-section: Special
      responses: {"200": {description: ok}}
  /items/{id}:
    delete: {x-keydesk-id: items/remove, responses: {"200": {description: ok}}}
    patch: {responses: {"200": {description: ok}}}
`

func TestMappingRulesAndExtensions(t *testing.T) {
	c := build(t, nil, writeDoc(t, "tiny.yaml", tiny))
	if s := c.APIs[0].Servers[0]; s != "https://api.example.com/base" {
		t.Errorf("server %q, want the variable's default filled in", s)
	}
	list, _ := c.Operation("listItems")
	if list == nil || list.SectionID != "items" || !list.ReadOnly {
		t.Errorf("untagged GET /items = %+v, want section items (first path segment), read-only", list)
	}
	mk, _ := c.Operation("makeItem")
	if mk == nil || mk.SectionID != "special" || !mk.ReadOnly {
		t.Errorf("makeItem = %+v, want x-keydesk-section and x-keydesk-read-only applied", mk)
	}
	if _, ok := c.Operation("items/remove"); !ok {
		t.Error("x-keydesk-id not applied")
	}
	if _, ok := c.Operation("patch-items-id"); !ok {
		t.Error("no id derived from method and path (patch-items-id)")
	}
}

func TestReimportIsStableAndNeverRevives(t *testing.T) {
	first := build(t, nil, writeDoc(t, "tiny.yaml", tiny))
	again := build(t, first, writeDoc(t, "tiny.yaml", tiny))
	for _, o := range first.Search("") {
		o2, ok := again.Operation(o.ID)
		if !ok || o2.Scope() != o.Scope() || o2.SectionID != o.SectionID {
			t.Errorf("%s: scope %q became %v", o.ID, o.Scope(), o2)
		}
	}
	// Drop listItems, then bring it back: its old scope stays retired, so
	// a key that held it is not revived.
	without := strings.Replace(tiny, "    get: {operationId: listItems, responses: {\"200\": {description: ok}}}\n", "", 1)
	second := build(t, again, writeDoc(t, "tiny.yaml", without))
	old, _ := first.Operation("listItems")
	if _, ok := second.Operation("listItems"); ok {
		t.Fatal("listItems still there")
	}
	third := build(t, second, writeDoc(t, "tiny.yaml", tiny))
	back, _ := third.Operation("listItems")
	if back.Scope() == old.Scope() {
		t.Errorf("listItems came back with its retired scope %s", old.Scope())
	}
	key := &core.Key{ID: "k1", Name: "Old", Scopes: []string{old.Scope()}}
	if ok, _ := third.AllowsOperation(key.Scopes, "listItems"); ok {
		t.Error("a key naming the retired scope is allowed the returned operation")
	}
	if got := third.UnknownScopes(key); len(got) != 1 {
		t.Errorf("UnknownScopes = %v, want the retired scope", got)
	}
}

func TestBadInput(t *testing.T) {
	tls := httptest.NewTLSServer(http.NotFoundHandler())
	defer tls.Close()
	cases := []struct {
		name, src string
		want      error
	}{
		{"not openapi", writeDoc(t, "x.yaml", "hello: world\n"), apicatalog.ErrNotOpenAPI},
		{"not json or yaml", writeDoc(t, "x.json", "{not json"), apicatalog.ErrNotOpenAPI},
		{"newer major", writeDoc(t, "x.yaml", "openapi: 4.0.0\ninfo: {title: x, version: '1'}\npaths: {}\n"), apicatalog.ErrNewerVersion},
		{"newer swagger", writeDoc(t, "x.yaml", "swagger: '3.0'\ninfo: {title: x, version: '1'}\npaths: {}\n"), apicatalog.ErrNewerVersion},
		{"unresolved ref", writeDoc(t, "x.yaml", "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get:\n      responses:\n        '200': {$ref: '#/components/responses/Missing'}\n"), apicatalog.ErrUnresolvedRef},
		{"unresolved file ref", writeDoc(t, "x.yaml", "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    $ref: 'missing.yaml#/a'\n"), apicatalog.ErrUnresolvedRef},
		{"duplicate id", writeDoc(t, "x.yaml", "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get: {operationId: same, responses: {'200': {description: ok}}}\n  /b:\n    get: {operationId: same, responses: {'200': {description: ok}}}\n"), apicatalog.ErrDuplicateID},
		{"no operations", writeDoc(t, "x.yaml", "openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths: {}\n"), apicatalog.ErrNoOperations},
		{"missing file", filepath.Join(t.TempDir(), "none.yaml"), nil},
		{"http url", "http://example.com/openapi.json", apicatalog.ErrNotHTTPS},
		{"unfetchable url", tls.URL + "/openapi.json", apicatalog.ErrFetch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := apicatalog.Load(context.Background(), c.src, apicatalog.Options{Client: tls.Client()})
			if err == nil {
				_, err = apicatalog.Build([]*apicatalog.Document{d}, nil)
			}
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			t.Log(err)
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestLoadFromLocalhostURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte(tiny))
	}))
	defer srv.Close()
	d, err := apicatalog.Load(context.Background(), srv.URL+"/openapi.yaml", apicatalog.Options{})
	if err != nil {
		t.Fatalf("http://127.0.0.1 refused: %v", err)
	}
	if d.Title != "Tiny" {
		t.Errorf("title %q", d.Title)
	}
}

func TestGeneratedLarge(t *testing.T) {
	p := writeDoc(t, "big.json", string(openapigen.Document(2000)))
	c := build(t, nil, p)
	if c.OperationCount() != 2000 || len(c.Sections) != openapigen.Tags {
		t.Errorf("%d operations in %d sections", c.OperationCount(), len(c.Sections))
	}
}

// BenchmarkImport2000 imports the generated 2,000-operation document
// (issue 20: at most 2 s).
func BenchmarkImport2000(b *testing.B) {
	p := filepath.Join(b.TempDir(), "big.json")
	if err := os.WriteFile(p, openapigen.Document(2000), 0o600); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		d, err := apicatalog.Load(context.Background(), p, apicatalog.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := apicatalog.Build([]*apicatalog.Document{d}, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/import")
}
