package workspace

import (
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/storage"
)

// UsageStore returns the store that keeps usage counts: the data folder's,
// or the shared store.
func (w *Workspace) UsageStore() core.UsageStore { return w.store }

// UsageRecorder returns a recorder counting the uses answered by this
// process's verification API (serve, or the window's). On a data folder
// it writes as core.LocalUsageWriter (one process holds the folder); on a
// shared store as this computer's writer id, kept in the data folder.
func (w *Workspace) UsageRecorder() (*core.UsageRecorder, error) {
	writer := core.LocalUsageWriter
	if w.kind == KindShared {
		dir := w.dir
		if dir == "" {
			var err error
			if dir, err = DefaultDir(); err != nil {
				return nil, err
			}
		}
		var err error
		if writer, err = storage.UsageWriterID(dir, w.store.StoreID()); err != nil {
			return nil, err
		}
	}
	return core.NewUsageRecorder(w.UsageStore(), writer, w.clock)
}

// DeniedSelector returns the digest's fourth list for mail.Deliverer:
// svc's keys with denied attempts in the 24 hours before a slot, from the
// usage counts in st.
func DeniedSelector(st core.UsageStore, svc *core.Service) func(slot time.Time) ([]core.DeniedKey, error) {
	return func(slot time.Time) ([]core.DeniedKey, error) {
		return core.SelectDenied(st, svc.List(), slot)
	}
}
