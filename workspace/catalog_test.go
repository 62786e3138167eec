package workspace

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/keydesk/keydesk/apicatalog"
	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/storage"
)

func blockfrostCatalog(t *testing.T, prev *core.Catalog) *core.Catalog {
	t.Helper()
	d, err := apicatalog.Load(context.Background(), "../testdata/openapi/blockfrost-openapi.yaml", apicatalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := apicatalog.Build([]*apicatalog.Document{d}, prev)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestImportedCatalogLivesInTheStore: an imported catalog is what the data
// folder opens with next time, keys are created on it, and a reset goes
// back to the embedded one; each change has its audit entry.
func TestImportedCatalogLivesInTheStore(t *testing.T) {
	kr := storage.NewMemoryKeyring()
	dir := filepath.Join(t.TempDir(), "data")
	b := open(t, Options{Keyring: kr, Dir: dir, Now: t0})
	if err := b.ImportCatalog(blockfrostCatalog(t, b.Service().Catalog())); err != nil {
		t.Fatal(err)
	}
	b.Close()

	b = open(t, Options{Keyring: kr, Dir: dir, Now: t0})
	if n := b.Service().Catalog().OperationCount(); n != 129 {
		t.Fatalf("reopened with %d operations, want the imported 129", n)
	}
	if _, _, err := b.Service().Create(core.CreateRequest{Name: "Pools", Permissions: core.Permissions{
		Kind: core.KindSections, Sections: map[string]core.Access{"cardano-pools": core.AccessRead}}}); err != nil {
		t.Fatalf("create on an imported section: %v", err)
	}
	if err := b.ResetCatalog(); err != nil {
		t.Fatal(err)
	}
	audit, err := b.Audit()
	if err != nil {
		t.Fatal(err)
	}
	var actions []core.AuditAction
	for _, ev := range audit {
		actions = append(actions, ev.Action)
	}
	if !bytes.Contains([]byte(fmtActions(actions)), []byte("catalog.import")) || !bytes.Contains([]byte(fmtActions(actions)), []byte("catalog.reset")) {
		t.Errorf("audit actions %v", actions)
	}
	b.Close()
	b = open(t, Options{Keyring: kr, Dir: dir, Now: t0})
	if b.Service().Catalog().Imported() {
		t.Error("still imported after reset")
	}
}

func fmtActions(a []core.AuditAction) string {
	var s []byte
	for _, x := range a {
		s = append(s, x...)
		s = append(s, ' ')
	}
	return string(s)
}

// TestForgedCatalogIsRefused: someone who can write the data file makes
// an operation read-only in the stored catalog; the folder does not open
// with it.
func TestForgedCatalogIsRefused(t *testing.T) {
	kr := storage.NewMemoryKeyring()
	dir := filepath.Join(t.TempDir(), "data")
	b := open(t, Options{Keyring: kr, Dir: dir, Now: t0})
	if err := b.ImportCatalog(blockfrostCatalog(t, b.Service().Catalog())); err != nil {
		t.Fatal(err)
	}
	raw, err := b.Store().Setting(core.CatalogSetting)
	if err != nil {
		t.Fatal(err)
	}
	// post-tx-submit is POST /tx/submit: not read-only.
	i := bytes.Index(raw, []byte(`"id":"post-tx-submit"`))
	if i < 0 {
		t.Fatalf("post-tx-submit not found in the stored catalog")
	}
	j := i + bytes.Index(raw[i:], []byte(`"readOnly":false`))
	forged := append(append(append([]byte{}, raw[:j]...), []byte(`"readOnly":true `)...), raw[j+len(`"readOnly":false`):]...)
	if err := b.Store().PutSetting(core.CatalogSetting, forged, core.AuditEvent{Time: t0, Actor: "attacker", Action: core.ActionSettingsChanged}); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := Open(Options{Keyring: kr, Dir: dir, Now: t0}); !errors.Is(err, core.ErrCatalogForged) {
		t.Fatalf("opened with a forged catalog: %v", err)
	}
	// catalog reset still works: it opens with the embedded catalog.
	b = open(t, Options{Keyring: kr, Dir: dir, Now: t0, SkipStoredCatalog: true})
	if _, err := b.StoredCatalog(); !errors.Is(err, core.ErrCatalogForged) {
		t.Fatalf("StoredCatalog: %v", err)
	}
	if err := b.ResetCatalog(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	b = open(t, Options{Keyring: kr, Dir: dir, Now: t0})
	if b.Service().Catalog() != core.DefaultCatalog() {
		t.Error("not back to the embedded catalog")
	}
}
