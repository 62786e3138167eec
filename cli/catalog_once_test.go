package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/keydesk/keydesk/assets"
	"github.com/keydesk/keydesk/workspace"
)

// --catalog is read and parsed once per run: the catalog checked before
// anything opens is the one the workspace opens with, even if the file
// has changed or gone since.
func TestCatalogFileIsReadOnce(t *testing.T) {
	file := filepath.Join(t.TempDir(), "catalog.json")
	if err := os.WriteFile(file, assets.CatalogJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	env := &Env{CatalogFile: file, Demo: true}
	checked, err := loadCatalog(env)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	again, err := loadCatalog(env)
	if err != nil || again != checked {
		t.Fatalf("loadCatalog again = %p, %v; want the catalog already read (%p)", again, err, checked)
	}
	b, err := workspace.Open(env.Options())
	if err != nil {
		t.Fatalf("the workspace read --catalog a second time: %v", err)
	}
	defer b.Close()
	if b.Service().Catalog() != checked {
		t.Error("the workspace does not use the catalog checked before opening")
	}
}
