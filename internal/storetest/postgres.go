package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// PGDatabase creates an empty database, named prefix and a random suffix,
// on the test cluster (KEYDESK_TEST_PG_URL, set by scripts/pg-cluster.sh
// run, which `make test-pg` and `make bench` use), drops it when the test
// ends and returns its URL. Without a cluster the test is skipped.
func PGDatabase(tb testing.TB, prefix string) string {
	tb.Helper()
	base := os.Getenv("KEYDESK_TEST_PG_URL")
	if base == "" {
		tb.Skip("KEYDESK_TEST_PG_URL is not set: run `make test-pg` or `make bench`")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	name := prefix + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if c, err := pgx.Connect(context.Background(), base); err == nil {
			c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
