package pgstore

import (
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ServerGrants returns the statements that let role run verification
// servers (replicas) on the store in the current database and nothing
// more: read the keys, settings, digest state and changes (with the change
// sequence's position), follow changes, write last-used times (that column
// only), claim digest slots and record deliveries with their audit entries
// (the change row through keydesk_digest_changed, which numbers it from the
// sequence), and write its usage counts (key_usage). It cannot insert, rename, delete or otherwise change a key
// record, nor change settings, nor write a change row of its own. Admins
// use the role that owns the schema (the one that ran Init).
func ServerGrants(role string) []string {
	r := pgx.Identifier{role}.Sanitize()
	return []string{
		fmt.Sprintf(`GRANT SELECT ON schema_version, store_meta, keys, settings, digest_state, digest_slots, changes TO %s`, r),
		fmt.Sprintf(`GRANT UPDATE (last_used_ns) ON keys TO %s`, r),
		fmt.Sprintf(`GRANT INSERT, UPDATE ON digest_state, digest_slots TO %s`, r),
		fmt.Sprintf(`GRANT INSERT ON audit TO %s`, r),
		fmt.Sprintf(`GRANT USAGE ON SEQUENCE audit_seq_seq TO %s`, r),
		fmt.Sprintf(`GRANT SELECT ON SEQUENCE changes_seq_seq TO %s`, r),
		fmt.Sprintf(`GRANT EXECUTE ON FUNCTION keydesk_digest_changed() TO %s`, r),
		fmt.Sprintf(`GRANT SELECT, INSERT, UPDATE, DELETE ON key_usage TO %s`, r),
	}
}
