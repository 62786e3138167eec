package core_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keydesk/keydesk/apicatalog"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/internal/openapigen"
)

const blockfrost = "../testdata/openapi/blockfrost-openapi.yaml"

// macSigner is an HMAC signer, as a data folder's.
type macSigner []byte

func (m macSigner) DigestSecret(s string) []byte { return m.SignRecord([]byte(s)) }
func (m macSigner) SignRecord(p []byte) []byte {
	h := hmac.New(sha256.New, m)
	h.Write(p)
	return h.Sum(nil)
}
func (m macSigner) VerifyRecord(p, mac []byte) bool { return hmac.Equal(m.SignRecord(p), mac) }

func importDoc(t testing.TB, prev *core.Catalog, path string) *core.Catalog {
	t.Helper()
	d, err := apicatalog.Load(context.Background(), path, apicatalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := apicatalog.Build([]*apicatalog.Document{d}, prev)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func generated(t testing.TB, n int) *core.Catalog {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gen.json")
	if err := os.WriteFile(p, openapigen.Document(n), 0o600); err != nil {
		t.Fatal(err)
	}
	return importDoc(t, nil, p)
}

// TestSealedCatalogRefusesEdits: whoever can write the store (the data
// file, the database) cannot make an operation read-only, move it into
// another section or swap in another catalog without the signing key.
func TestSealedCatalogRefusesEdits(t *testing.T) {
	c := importDoc(t, nil, blockfrost)
	signer := macSigner("store key")
	sealed, err := core.SealCatalog(c, signer)
	if err != nil {
		t.Fatal(err)
	}
	back, err := core.OpenCatalog(sealed, signer)
	if err != nil {
		t.Fatalf("open the sealed catalog: %v", err)
	}
	if back.OperationCount() != 129 {
		t.Fatalf("%d operations read back", back.OperationCount())
	}
	if op, _ := back.Operation("post-tx-submit"); op == nil || op.ReadOnly {
		t.Fatalf("post-tx-submit read back as %+v", op)
	}
	var stored struct {
		Catalog   json.RawMessage `json:"catalog"`
		Signature []byte          `json:"signature"`
	}
	if err := json.Unmarshal(sealed, &stored); err != nil {
		t.Fatal(err)
	}
	edits := map[string]func([]byte) []byte{
		"operation made read-only": func(b []byte) []byte {
			i := bytes.Index(b, []byte(`"id":"post-tx-submit"`))
			j := i + bytes.Index(b[i:], []byte(`"readOnly":false`))
			return append(append(append([]byte{}, b[:j]...), `"readOnly":true `...), b[j+len(`"readOnly":false`):]...)
		},
		"scope moved to another section": func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"cardano-transactions:postTxSubmit"`), []byte(`"cardano-pools:postTxSubmit"`), 1)
		},
	}
	for name, edit := range edits {
		t.Run(name, func(t *testing.T) {
			changed := edit(stored.Catalog)
			if bytes.Equal(changed, stored.Catalog) {
				t.Fatal("the edit changed nothing")
			}
			forged, _ := json.Marshal(map[string]any{"catalog": json.RawMessage(changed), "signature": stored.Signature})
			if _, err := core.OpenCatalog(forged, signer); !errors.Is(err, core.ErrCatalogForged) {
				t.Fatalf("edited catalog opened: %v", err)
			}
		})
	}
	if _, err := core.OpenCatalog(sealed, macSigner("another store")); !errors.Is(err, core.ErrCatalogForged) {
		t.Errorf("another store's key opened the catalog: %v", err)
	}
	// A key record's signature cannot pass for a catalog's.
	k := &core.Key{ID: "k", Name: "x"}
	recSig := signer.SignRecord(k.MACPayload())
	forged, _ := json.Marshal(map[string]any{"catalog": json.RawMessage(k.MACPayload()), "signature": recSig})
	if _, err := core.OpenCatalog(forged, signer); !errors.Is(err, core.ErrCatalogForged) {
		t.Errorf("a record signature passed for a catalog: %v", err)
	}
}

const extraPool = `paths:
  /pools/extra:
    get:
      tags: [Cardano » Pools]
      operationId: poolsExtra
      responses: {'200': {description: ok}}
`

// TestDiffNamesAffectedKeys: a re-import that adds an operation to a
// section names the keys with that section that gain it; one that drops an
// operation names the keys that named it.
func TestDiffNamesAffectedKeys(t *testing.T) {
	old := importDoc(t, nil, blockfrost)
	src, err := os.ReadFile(blockfrost)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(src), "paths:\n", extraPool, 1)
	// Drop GET /scripts.
	i := strings.Index(text, "\n  /scripts:\n")
	j := i + 1
	for {
		j += strings.IndexByte(text[j+1:], '\n') + 1
		if line := text[j+1:]; strings.HasPrefix(line, "  ") && line[2] != ' ' {
			break
		}
	}
	text = text[:i] + text[j:]
	p := filepath.Join(t.TempDir(), "bf.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	next := importDoc(t, old, p)
	scripts, _ := old.Operation("get-scripts")
	keys := []*core.Key{
		{ID: "3f2a000000000001", Name: "Pools reader", Scopes: []string{"cardano-pools:read"}},
		{ID: "3f2a000000000002", Name: "Pools admin", Scopes: []string{"cardano-pools:*"}},
		{ID: "9b00000000000003", Name: "Scripts", Scopes: []string{scripts.Scope()},
			Permissions: core.Permissions{Kind: core.KindOperations, Operations: []string{"get-scripts"}}},
		{ID: "9b00000000000004", Name: "Health", Scopes: []string{"health:read"}},
	}
	d := core.DiffCatalogs(old, next, keys)
	if len(d.OpsAdded) != 1 || d.OpsAdded[0].ID != "poolsExtra" {
		t.Errorf("added %+v", d.OpsAdded)
	}
	if len(d.OpsRemoved) != 1 || d.OpsRemoved[0].ID != "get-scripts" {
		t.Errorf("removed %+v", d.OpsRemoved)
	}
	if len(d.Widened) != 2 {
		t.Fatalf("widened %+v, want the pools read and full scopes", d.Widened)
	}
	lines := strings.Join(d.Lines(), "\n")
	for _, want := range []string{
		"1 key with Cardano » Pools · read-only will also be allowed: poolsExtra: Pools reader (3f2a…)",
		"1 key with Cardano » Pools · full access will also be allowed: poolsExtra: Pools admin (3f2a…)",
		"1 key names operations that no longer exist",
		"Scripts (9b00…) [" + scripts.Scope() + ", get-scripts]",
	} {
		if !strings.Contains(lines, want) {
			t.Errorf("diff lacks %q:\n%s", want, lines)
		}
	}
	if strings.Contains(lines, "Health") {
		t.Errorf("an unaffected key is named:\n%s", lines)
	}
}

// TestRouteIndexMatchesLinearScan compares the route index with a plain
// scan of every operation on the generated catalog.
func TestRouteIndexMatchesLinearScan(t *testing.T) {
	c := generated(t, 2000)
	for _, o := range c.Search("") {
		uri := o.FillPath(map[string]string{"id": "v42"})
		got, params, ok := c.MatchRoute(o.Method, uri)
		if !ok || got != o {
			t.Fatalf("%s %s matched %v, %v", o.Method, uri, got, ok)
		}
		if strings.Contains(o.Path, "{id}") && params["id"] != "v42" {
			t.Fatalf("%s: params %v", uri, params)
		}
		// Case-insensitive upstreams: an upper-cased literal must not
		// reach another operation (shadowing is still found).
		if got, _, ok := c.MatchRoute(o.Method, strings.ToUpper(uri)); ok && got != o {
			t.Fatalf("%s reached %s", strings.ToUpper(uri), got.ID)
		}
	}
	if _, _, ok := c.MatchRoute("GET", "/api/v3/t1/nothing"); ok {
		t.Error("an unknown path matched")
	}
}

// BenchmarkAuthRoutes measures the catalog's part of /v1/auth (route
// match and permission check) on today's small embedded catalog and on a
// 2,000-route imported one, alternating, and reports small/large: the
// target is at least 0.9 (no cost growing with the routes).
func BenchmarkAuthRoutes(b *testing.B) {
	small := core.DefaultCatalog()
	large := generated(b, 2000)
	smallURI, smallMethod := "/v2/conversations/channels/C0123/members/U42?notify=false", "DELETE"
	lo, _ := large.Operation(fmt.Sprintf("op-%d-%d", 1533%openapigen.Tags, 1533))
	largeURI := lo.FillPath(map[string]string{"id": "abc"}) + "?limit=3"
	scopes := []string{"x:read", lo.Scope()}
	run := func(c *core.Catalog, method, uri string, n int) time.Duration {
		start := time.Now()
		for range n {
			op, _, ok := c.MatchRoute(method, uri)
			if !ok {
				b.Fatal("no match")
			}
			sec, _ := c.Section(op.SectionID)
			core.Allows(scopes, op, sec)
		}
		return time.Since(start)
	}
	var ts, tl time.Duration
	for b.Loop() {
		ts += run(small, smallMethod, smallURI, 200)
		tl += run(large, lo.Method, largeURI, 200)
	}
	b.ReportMetric(float64(ts.Nanoseconds())/float64(b.N*200), "small-ns/match")
	b.ReportMetric(float64(tl.Nanoseconds())/float64(b.N*200), "2000-ns/match")
	b.ReportMetric(float64(ts)/float64(tl), "ratio")
}

// BenchmarkSearch2000 is the create dialog's operation search, one
// keystroke, on the 2,000-operation catalog (target: at most 30 ms).
func BenchmarkSearch2000(b *testing.B) {
	c := generated(b, 2000)
	queries := []string{"o", "op", "ope", "oper 1", "oper 15", "oper 153", "area 3 resource"}
	i := 0
	for b.Loop() {
		c.Search(queries[i%len(queries)])
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/keystroke")
}
