package storetest

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// PgBouncer starts a throw-away PgBouncer (scripts/pgbouncer.sh) with
// pool_mode mode ("session" or "transaction") in front of the loopback test
// cluster that direct (a URL from scripts/pg-cluster.sh, with its database)
// points at, stops it when the test ends, and returns the URL of the same
// database through it. It lets in the cluster's superuser only. Without
// Debian's pgbouncer the test is skipped.
func PgBouncer(tb testing.TB, mode, direct string) string {
	tb.Helper()
	if _, err := exec.LookPath("pgbouncer"); err != nil {
		tb.Skip("pgbouncer is not installed: run scripts/install-deps.sh")
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "pgbouncer.sh")
	d, err := url.Parse(direct)
	if err != nil {
		tb.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "kdpgbouncer")
	if err != nil {
		tb.Fatal(err)
	}
	os.Remove(dir) // the script makes it
	out, err := exec.Command(script, "start", dir, mode, direct).Output()
	if err != nil {
		tb.Fatalf("pgbouncer.sh start: %v", err)
	}
	tb.Cleanup(func() {
		if out, err := exec.Command(script, "stop", dir).CombinedOutput(); err != nil {
			tb.Errorf("pgbouncer.sh stop: %v\n%s", err, out)
		}
	})
	u, err := url.Parse(strings.TrimSpace(string(out)))
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = d.Path
	return u.String()
}
