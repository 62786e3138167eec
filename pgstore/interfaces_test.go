package pgstore

import (
	"github.com/keydesk/keydesk/internal/storetest"
	"github.com/keydesk/keydesk/mail"
)

// The store serves the digest (settings, digest state) and the Activity view
// like the local store does.
var (
	_ mail.Store                 = (*Store)(nil)
	_ storetest.Auditor          = (*Store)(nil)
	_ storetest.SettingsStore    = (*Store)(nil)
	_ storetest.DigestStateStore = (*Store)(nil)
)
