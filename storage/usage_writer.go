package storage

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/keydesk/keydesk/atomicfile"
	"github.com/keydesk/keydesk/core"
)

// UsageWriterID returns this computer's usage writer id for shared store
// storeID: a random id kept in the data folder dir (beside a replica's
// generation file), made on first use. Each process that writes usage
// counts to a shared store needs its own: its rows are its absolute
// counts, which it replaces and never adds to.
func UsageWriterID(dir, storeID string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create the data folder: %w", err)
	}
	path := filepath.Join(dir, "usage-"+storeID+".writer")
	f, err := os.Open(path)
	switch {
	case err == nil:
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, 128))
		if err != nil {
			return "", fmt.Errorf("read %s: %w", path, err)
		}
		id := strings.TrimSpace(string(b))
		if core.CheckUsageWriter(id) != nil {
			return "", fmt.Errorf("%s does not hold a usage writer id; remove it to make a new one", path)
		}
		return id, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	var raw [8]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("make a usage writer id: %w", err)
	}
	id := hex.EncodeToString(raw[:])
	if err := atomicfile.Write(path, func(f *os.File) error {
		_, err := f.WriteString(id + "\n")
		return err
	}); err != nil {
		return "", fmt.Errorf("save the usage writer id: %w", err)
	}
	return id, nil
}
