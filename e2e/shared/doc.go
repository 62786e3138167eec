// Package shared holds the end-to-end tests of the shared store: the real
// keydesk binary as one admin and several verification servers on a real
// PostgreSQL (a cluster of its own, started with scripts/pg-cluster.sh, so
// stopping it does not disturb other packages' tests) and a real Secret
// Service (scripts/with-keyring.sh). `make test-pg` runs them; without
// KEYDESK_TEST_PG_URL or KEYDESK_KEYRING_TESTS=1 they skip.
package shared
