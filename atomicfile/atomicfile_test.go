package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Write replaces the file whole (mode 0600); a failing fill leaves the old
// content and no temporary file behind.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	put := func(s string) error {
		return Write(path, func(f *os.File) error { _, err := f.WriteString(s); return err })
	}
	if err := put("old"); err != nil {
		t.Fatal(err)
	}
	if err := put("new"); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := Write(path, func(f *os.File) error { f.WriteString("half"); return boom }); !errors.Is(err, boom) {
		t.Fatalf("Write with a failing fill = %v, want boom", err)
	}
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "new" {
		t.Fatalf("content = %q, %v; want new", b, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("%d files in the folder, want only f", len(entries))
	}
}
