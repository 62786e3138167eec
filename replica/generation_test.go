package replica

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keydesk/keydesk/storage"
)

// An admin's window keeps the generation in its keyring.
var _ Generations = (*storage.Keyring)(nil)

// The generation file starts at 0, only ever rises, is mode 0600, and a
// file that does not hold a generation (or is oversized) is refused rather
// than read as 0.
func TestGenerationFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	g, err := OpenGenerationFile(dir, "store1")
	if err != nil {
		t.Fatal(err)
	}
	if gen, err := g.SharedGeneration(); gen != 0 || err != nil {
		t.Fatalf("a new folder: %d, %v", gen, err)
	}
	for _, gen := range []uint64{7, 3} {
		if err := g.RecordSharedGeneration(gen); err != nil {
			t.Fatal(err)
		}
	}
	if gen, err := g.SharedGeneration(); gen != 7 || err != nil {
		t.Fatalf("after recording 7 then 3: %d, %v", gen, err)
	}
	info, err := os.Stat(g.Path())
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v; want 0600", info.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("the folder holds %d files, want only the generation file", len(entries))
	}
	for _, bad := range []string{"", "seven\n", "-1", strings.Repeat("1", 200)} {
		if err := os.WriteFile(g.Path(), []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := g.SharedGeneration(); !errors.Is(err, ErrGenerationFile) {
			t.Errorf("file %q: %v, want ErrGenerationFile", bad, err)
		}
	}
}
