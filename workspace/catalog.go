package workspace

import (
	"context"
	"fmt"
	"strings"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/pgstore"
	"github.com/keydesk/keydesk/seal"
)

// catalogSigner signs the stored catalog: the admins' Ed25519 key on the
// shared store, the data folder's MAC key otherwise.
func (w *Workspace) catalogSigner() (core.Signer, error) {
	if s, ok := w.store.(edSigned); ok {
		return s.Signer(), nil
	}
	return w.keyring.Signer(), nil
}

// StoredCatalog reads the catalog kept in the store again and checks its
// signature: the imported one, else the embedded default. It must also be
// the one the store's signed state names: on the shared store see
// sharedCatalog; a data folder's state MAC names it (storage.Store.Setting
// fails with storage.ErrCatalogMismatch otherwise).
func (w *Workspace) StoredCatalog() (*core.Catalog, error) {
	if ss, ok := w.store.(*pgstore.SealedStore); ok {
		seen, err := w.keyring.SharedGeneration()
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), SharedTimeout)
		defer cancel()
		return sharedCatalog(ctx, ss.Store, ss.Signer().Verifier(), seen)
	}
	s, err := w.catalogSigner()
	if err != nil {
		return nil, err
	}
	return core.StoredCatalog(w.store, s)
}

// sharedCatalog reads the shared store's catalog with its signed state,
// not older than generation seen, and checks it against the catalog the
// state names (pgstore.Store.SignedCatalog: a catalog written back or
// removed fails with pgstore.ErrCatalogMismatch, which is also
// core.ErrCatalogForged, so that an import or reset replaces it) and
// against its own signature.
func sharedCatalog(ctx context.Context, st *pgstore.Store, v *seal.EdVerifier, seen uint64) (*core.Catalog, error) {
	raw, err := st.SignedCatalog(ctx, v, seen)
	if err != nil {
		return nil, err
	}
	return core.OpenStoredCatalog(raw, v)
}

// CatalogSource says which documents an imported catalog came from, for
// its audit entry.
func CatalogSource(c *core.Catalog) string {
	var parts []string
	for _, a := range c.APIs {
		parts = append(parts, fmt.Sprintf("%s %s (%s, sha256 %s)", a.Title, a.Version, a.Source, a.Digest))
	}
	return fmt.Sprintf("%d sections, %d operations from %s", len(c.Sections), c.OperationCount(), strings.Join(parts, "; "))
}

// ImportCatalog stores c, signed, as the store's catalog, with a
// catalog.import audit entry naming its documents, in one change (on the
// shared store, replicas and other admins get it through the change log;
// the change also advances the store's signed state, which names the
// catalog: see pgstore.SealedStore.PutSetting and, for a data folder,
// storage.Store.PutSetting).
// The running service keeps its catalog: reopen the workspace to use it.
func (w *Workspace) ImportCatalog(c *core.Catalog) error {
	s, err := w.catalogSigner()
	if err != nil {
		return err
	}
	sealed, err := core.SealCatalog(c, s)
	if err != nil {
		return err
	}
	ev := core.AuditEvent{Time: w.clock.Now().UTC(), Actor: w.service.Actor, Action: core.ActionCatalogImport, Detail: CatalogSource(c)}
	if err := w.store.PutSetting(core.CatalogSetting, sealed, ev); err != nil {
		return fmt.Errorf("import the catalog: %w", err)
	}
	return nil
}

// ResetCatalog removes the imported catalog, so the store goes back to the
// embedded one, with a catalog.reset audit entry.
func (w *Workspace) ResetCatalog() error {
	ev := core.AuditEvent{Time: w.clock.Now().UTC(), Actor: w.service.Actor, Action: core.ActionCatalogReset,
		Detail: "back to the embedded catalog"}
	if err := w.store.PutSetting(core.CatalogSetting, nil, ev); err != nil {
		return fmt.Errorf("reset the catalog: %w", err)
	}
	return nil
}
