package shared

import "github.com/keydesk/keydesk/pgstore"

// serverGrants are the README's GRANTs for the server role.
func serverGrants(role string) []string { return pgstore.ServerGrants(role) }
