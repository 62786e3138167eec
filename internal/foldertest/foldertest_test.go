package foldertest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keydesk/keydesk/internal/foldertest"
)

// State changes with a file's content, its mode and a new file, and not
// otherwise; a missing folder says so.
func TestStateSeesEveryChange(t *testing.T) {
	dir := t.TempDir()
	f := foldertest.WriteFile(t, dir, "a", []byte("one"))
	if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("WriteFile made %v, %v; want mode 0600", fi, err)
	}
	before := foldertest.State(t, dir)
	if again := foldertest.State(t, dir); again != before {
		t.Fatalf("State changed with nothing done:\n%s\n%s", before, again)
	}
	for name, change := range map[string]func() error{
		"content": func() error { return os.WriteFile(f, []byte("two"), 0o600) },
		"mode":    func() error { return os.Chmod(f, 0o644) },
		"new file": func() error {
			return os.WriteFile(filepath.Join(dir, "b"), nil, 0o600)
		},
	} {
		if err := change(); err != nil {
			t.Fatal(err)
		}
		if now := foldertest.State(t, dir); now == before {
			t.Errorf("State did not see the %s change", name)
		} else {
			before = now
		}
	}
	if got := foldertest.State(t, filepath.Join(dir, "missing")); !strings.Contains(got, "(no folder)") {
		t.Errorf("State of a missing folder = %q", got)
	}
}
