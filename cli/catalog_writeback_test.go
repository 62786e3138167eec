package cli_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// catalogFile runs fn in a write transaction on the closed data folder
// dir's file, opened with bbolt directly, on its catalog setting's bucket.
func catalogFile(t *testing.T, dir string, fn func(b *bolt.Bucket) error) {
	t.Helper()
	db, err := bolt.Open(dir+"/keydesk.db", 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error { return fn(tx.Bucket([]byte("settings"))) }); err != nil {
		t.Fatal(err)
	}
}

// TestCatalogWrittenBackIntoDataFolder: an imported catalog written back
// into keydesk.db after a reset (validly signed with the folder's key, but
// not the catalog the folder's state names) makes every command refuse the
// folder with one sentence; catalog reset puts it right.
func TestCatalogWrittenBackIntoDataFolder(t *testing.T) {
	s := newKeyfileStore(t)
	s.ok("", "keys", "create", "--name", "Messaging", "--section", "messaging=full")
	s.ok("", "catalog", "import", blockfrostDoc, "--yes")
	var imported []byte
	catalogFile(t, s.dir, func(b *bolt.Bucket) error {
		imported = bytes.Clone(b.Get([]byte("catalog")))
		return nil
	})
	if imported == nil {
		t.Fatal("no catalog setting after the import")
	}
	s.ok("", "catalog", "reset", "--yes")
	catalogFile(t, s.dir, func(b *bolt.Bucket) error { return b.Put([]byte("catalog"), imported) })

	// Exit 1, as for a folder whose keys were edited (not the input's
	// fault), with the one sentence.
	r := s.kd("", "keys", "list")
	if r.code != 1 || !strings.Contains(r.stderr, "not the one its signed state names") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Fatalf("keys list on the written-back catalog: exit %d, stderr %q", r.code, r.stderr)
	}
	out := s.ok("", "catalog", "reset", "--yes")
	if !strings.Contains(out, "embedded catalog again") {
		t.Fatalf("catalog reset on the written-back catalog: %s", out)
	}
	if list := s.ok("", "keys", "list"); !strings.Contains(list, "Messaging") {
		t.Fatalf("keys list after the reset:\n%s", list)
	}
}
