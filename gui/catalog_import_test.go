package gui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/gui/internal/guitest"
	"github.com/keydesk/keydesk/workspace"
)

// blockfrostSpec is the real published Blockfrost document (issue #20's
// test material), named relative to the package so the preview's images
// hold the same source everywhere.
const blockfrostSpec = "../testdata/openapi/blockfrost-openapi.yaml"

// ciFixture is a window on a real data folder holding three keys of the
// built-in catalog, opened at guitest.Now.
type ciFixture struct {
	w  fyne.Window
	s  *session
	bg *testRunner
}

func newCIFixture(t *testing.T, variant fyne.ThemeVariant) *ciFixture {
	t.Helper()
	if _, err := os.Stat(blockfrostSpec); err != nil {
		t.Fatalf("the Blockfrost document: %v", err)
	}
	dir, kr := filepath.Join(t.TempDir(), "data"), workspace.NewMemoryKeyring()
	opts := workspace.Options{Dir: dir, Now: guitest.Now, Keyring: kr}
	b, err := workspace.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	svc := guitest.Service(t, b, guitest.Now, 3)
	guitest.Create(t, svc, "CRM sync", core.Lifetime{}, core.Permissions{Kind: core.KindSections, Sections: map[string]core.Access{"messaging": core.AccessFull}})
	guitest.Create(t, svc, "Channel reader", core.Lifetime{}, core.Permissions{Kind: core.KindOperations, Operations: []string{"messaging.channels.list"}})
	guitest.Create(t, svc, "Local dev", core.Lifetime{}, core.Permissions{Kind: core.KindGlobal})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	a := guitest.App(t, variant)
	w := test.NewTempWindow(t, nil)
	w.Resize(fyne.NewSize(1280, 800))
	env := newAppEnv(a, w)
	bg := &testRunner{}
	env.bg = bg
	s := newSession(w, env, func() (*workspace.Workspace, error) { return workspace.Open(opts) })
	s.start()
	bg.wait()
	<-s.shown
	t.Cleanup(func() {
		if err := s.finish(); err != nil {
			t.Errorf("finish: %v", err)
		}
	})
	if s.catalog == nil {
		t.Fatal("no catalog items in the File menu")
	}
	return &ciFixture{w: w, s: s, bg: bg}
}

// preview opens Import API Catalog…, gives sources and presses Preview.
func (f *ciFixture) preview(t *testing.T, sources string) *catalogChooser {
	t.Helper()
	f.s.catalog.showChooser()
	c := f.s.catalog.chooser
	test.Type(c.sources, sources)
	test.Tap(c.preview)
	f.bg.wait()
	return c
}

// inUse is the catalog the window's screens use now: the service of the
// workspace the window shows.
func (f *ciFixture) inUse(t *testing.T) *core.Catalog {
	t.Helper()
	ws := f.s.workspace()
	if ws == nil {
		t.Fatal("the window shows no workspace")
	}
	return ws.Service().Catalog()
}

// TestCatalogImportPreviewThenImport: the preview names the documents and
// the keys the change affects (golden); Cancel changes nothing; Import
// stores the catalog and the window uses it at once; Reset, after its own
// preview, brings the built-in catalog back.
func TestCatalogImportPreviewThenImport(t *testing.T) {
	for _, v := range kvVariants {
		t.Run(v.name, func(t *testing.T) {
			f := newCIFixture(t, v.variant)
			f.preview(t, blockfrostSpec)
			p := f.s.catalog.preview
			if p == nil {
				t.Fatalf("no preview; the chooser says %q", f.s.catalog.chooser.msg.Text)
			}
			all := strings.Join(p.lines, "\n")
			for _, want := range []string{"Channel reader", "no longer exist", "sections added", "sections removed"} {
				if !strings.Contains(all, want) {
					t.Errorf("the preview does not say %q:\n%s", want, all)
				}
			}
			f.w.Canvas().Unfocus()
			test.AssertImageMatches(t, "catalog_import_preview_"+v.name+".png", f.w.Canvas().Capture())

			// Cancel: nothing changes.
			p.dlg.Hide()
			if f.inUse(t).Imported() {
				t.Fatal("the catalog changed before Import")
			}

			f.preview(t, blockfrostSpec)
			test.Tap(f.s.catalog.preview.apply)
			f.bg.wait()
			cat := f.inUse(t)
			if !cat.Imported() {
				t.Fatal("after Import the window still uses the built-in catalog")
			}
			if _, ok := cat.API("blockfrost-api"); !ok && len(cat.APIs) != 1 {
				t.Errorf("APIs in use: %+v", cat.APIs)
			}
			if stored, err := f.s.workspace().StoredCatalog(); err != nil || !stored.Imported() {
				t.Errorf("stored catalog imported=%v, %v", stored != nil && stored.Imported(), err)
			}

			f.s.catalog.previewReset()
			f.bg.wait()
			r := f.s.catalog.preview
			if r == p || r == nil || !r.change.reset {
				t.Fatal("no reset preview")
			}
			test.Tap(r.apply)
			f.bg.wait()
			if f.inUse(t).Imported() {
				t.Error("after Reset the window still uses the imported catalog")
			}
		})
	}
}

// TestCatalogImportBadDocument: a file that is not OpenAPI is one sentence
// under the field, and nothing changes.
func TestCatalogImportBadDocument(t *testing.T) {
	f := newCIFixture(t, kvVariants[0].variant)
	bad := filepath.Join(t.TempDir(), "notes.yaml")
	if err := os.WriteFile(bad, []byte("title: my notes\nitems: [a, b]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := f.preview(t, bad)
	if f.s.catalog.preview != nil {
		t.Fatal("a preview for a document that is not OpenAPI")
	}
	if c.msg.Text == "" || strings.Count(c.msg.Text, ".") > 3 {
		t.Errorf("message %q, want one sentence", c.msg.Text)
	}
	if f.inUse(t).Imported() {
		t.Error("the catalog changed")
	}
}

// petstoreSpec is the OpenAPI 3.1 Petstore, whose operations list OAuth
// scopes of their own.
const petstoreSpec = "../apicatalog/testdata/oas-examples/petstore-3.1.json"

// TestCatalogImportedCreateDialogAndMarks: after importing Blockfrost and
// the Petstore, the keys table marks the keys naming the built-in
// catalog's operations (golden), and the create dialog shows the imported
// sections with their descriptions and the operations with their
// document's scopes (goldens).
func TestCatalogImportedCreateDialogAndMarks(t *testing.T) {
	for _, v := range kvVariants {
		t.Run(v.name, func(t *testing.T) {
			f := newCIFixture(t, v.variant)
			f.preview(t, petstoreSpec+"\n"+blockfrostSpec)
			if f.s.catalog.preview == nil {
				t.Fatalf("no preview: %q", f.s.catalog.chooser.msg.Text)
			}
			test.Tap(f.s.catalog.preview.apply)
			f.bg.wait()
			var keys *keysView
			kvWalk(f.w.Content(), func(o fyne.CanvasObject) {
				if k, ok := o.(*keysView); ok {
					keys = k
				}
			})
			if keys == nil {
				t.Fatal("the keys screen is not shown after the import")
			}
			marked := 0
			for _, k := range keys.svc.List() {
				if len(f.inUse(t).UnknownScopes(k)) > 0 {
					marked++
				}
			}
			if marked != 2 {
				t.Errorf("%d keys name scopes not in the catalog, want 2", marked)
			}
			test.AssertImageMatches(t, "catalog_imported_keys_"+v.name+".png", f.w.Canvas().Capture())

			d := keys.openCreate(nil)
			test.Type(d.name, "Wallet tracker")
			d.tabs.Select(d.tabItems[1])
			f.w.Canvas().Unfocus()
			test.AssertImageMatches(t, "catalog_imported_create_sections_"+v.name+".png", f.w.Canvas().Capture())

			d.tabs.Select(d.tabItems[2])
			test.Type(d.opSearch, "pet")
			found := false
			for _, g := range d.groups {
				for _, o := range g.ops {
					if !o.check.Hidden && strings.Contains(o.check.Text, "document scopes: ") {
						found = true
					}
				}
			}
			if !found {
				t.Error("no operation shows its document's scopes")
			}
			f.w.Canvas().Unfocus()
			test.AssertImageMatches(t, "catalog_imported_create_operations_"+v.name+".png", f.w.Canvas().Capture())
		})
	}
}
