package workspace

import "github.com/keydesk/keydesk/credential"

// Credential returns the store's credential for another computer: with
// admin, the master key (it may issue and change keys); else only the
// verifying key (it may only verify).
func (w *Workspace) Credential(admin bool) (*credential.Credential, error) {
	if admin {
		master, err := w.keyring.Master()
		if err != nil {
			return nil, err
		}
		return credential.Admin(w.keyring.StoreID(), master), nil
	}
	ed, err := w.keyring.EdSigner()
	if err != nil {
		return nil, err
	}
	return credential.VerifyOnly(w.keyring.StoreID(), ed.Material()), nil
}
