package core

import "time"

// AuditAction names what an audit event records.
type AuditAction string

// Audit actions.
const (
	ActionCreate          AuditAction = "key.create"
	ActionRename          AuditAction = "key.rename"
	ActionDelete          AuditAction = "key.delete"
	ActionRoll            AuditAction = "key.roll"
	ActionDigestSent      AuditAction = "digest.sent"
	ActionDigestEmpty     AuditAction = "digest.nothing"
	ActionDigestFailed    AuditAction = "digest.failed"
	ActionSettingsChanged AuditAction = "settings.changed"
	ActionTestMail        AuditAction = "mail.test"
	// ActionBackup and ActionRestore record a backup taken and a store
	// restored from one (never the passphrase).
	ActionBackup  AuditAction = "store.backup"
	ActionRestore AuditAction = "store.restore"
	// ActionStoreMoved records a data folder moved into a shared store
	// (store init --from).
	ActionStoreMoved AuditAction = "store.moved"
	// ActionCatalogImport records a permission catalog imported from
	// OpenAPI documents (their titles, versions and digests);
	// ActionCatalogReset the return to the embedded catalog.
	ActionCatalogImport AuditAction = "catalog.import"
	ActionCatalogReset  AuditAction = "catalog.reset"
)

// AuditActions lists every audit action this Keydesk records.
var AuditActions = []AuditAction{
	ActionCreate, ActionRename, ActionDelete, ActionRoll,
	ActionDigestSent, ActionDigestEmpty, ActionDigestFailed,
	ActionSettingsChanged, ActionTestMail,
	ActionBackup, ActionRestore, ActionStoreMoved,
	ActionCatalogImport, ActionCatalogReset,
}

// AuditEvent is one line of the audit log. It never holds a secret.
type AuditEvent struct {
	Seq     uint64      `json:"seq,omitempty"`
	Time    time.Time   `json:"time"`
	Actor   string      `json:"actor"`
	Action  AuditAction `json:"action"`
	KeyID   string      `json:"keyId,omitempty"`
	KeyName string      `json:"keyName,omitempty"`
	Detail  string      `json:"detail,omitempty"`
	// Unverified is set on a shared store's entry that carries no valid
	// admin signature: a verification server wrote it (the digest's
	// entries), it predates signed entries, or someone who can write the
	// database inserted it. Who labels it.
	Unverified bool `json:"unverified,omitempty"`
}

// ServerAction reports whether a verification server writes entries of
// this action (the digest's): its entries carry no admin signature.
func (a AuditAction) ServerAction() bool {
	return a == ActionDigestSent || a == ActionDigestEmpty || a == ActionDigestFailed
}

// Who names who wrote the entry, for people: its actor, unless the entry
// is Unverified. Then a server's action is labelled as a server's, and any
// other action, which only an admin's signed entry can record, as
// unsigned: no admin's Keydesk wrote it (or one before entries were
// signed).
func (e AuditEvent) Who() string {
	switch {
	case !e.Unverified:
		return e.Actor
	case e.Action.ServerAction():
		return e.Actor + " (server)"
	}
	return e.Actor + " (unsigned)"
}
