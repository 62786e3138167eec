// Package atomicfile writes small files so that a crash leaves either the
// old or the new content, never a mix: the key file (storage), a backup
// (workspace) and a replica's generation file (replica) use it.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write writes path through a temporary file in the same folder (mode
// 0600) that fill fills, synced and renamed over path, so that path is
// always either the old or the new content. On failure the temporary file
// is removed.
func Write(path string, fill func(*os.File) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if err := fill(f); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}
