package replica

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/keydesk/keydesk/atomicfile"
	"github.com/keydesk/keydesk/seal"
)

// Generations keeps, across restarts, the highest signed generation of the
// store accepted: Open refuses a store whose signed state is older (the
// database was put back to an older copy, in which keys deleted since
// would verify again). A server keeps it in its data folder
// (GenerationFile); an admin's window in the keyring (storage.Keyring
// implements it).
type Generations interface {
	// SharedGeneration returns the highest generation recorded, 0 when
	// none is.
	SharedGeneration() (uint64, error)
	// RecordSharedGeneration raises the recorded generation to gen.
	RecordSharedGeneration(gen uint64) error
}

// ErrGenerationFile means a replica's generation file does not hold a
// generation (it was damaged or edited).
var ErrGenerationFile = errors.New("the replica's generation file does not hold a generation")

// maxGenerationFile bounds what GenerationFile reads: one decimal uint64
// and a newline.
const maxGenerationFile = 64

// GenerationFile is Generations in one small file of a data folder, mode
// 0600, rewritten atomically (atomicfile.Write).
type GenerationFile struct {
	path string
	mu   sync.Mutex
}

// OpenGenerationFile returns the generation file of shared store storeID
// in the data folder dir (created, mode 0700, when missing).
func OpenGenerationFile(dir, storeID string) (*GenerationFile, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create the data folder: %w", err)
	}
	return &GenerationFile{path: filepath.Join(dir, "replica-"+storeID+".generation")}, nil
}

// Path returns the file's path.
func (g *GenerationFile) Path() string { return g.path }

// SharedGeneration reads the file; 0 when it does not exist.
func (g *GenerationFile) SharedGeneration() (uint64, error) {
	f, err := os.Open(g.path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", g.path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxGenerationFile+1))
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", g.path, err)
	}
	gen, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || len(b) > maxGenerationFile {
		return 0, fmt.Errorf("%w (%s): remove it only if no newer state of the store was ever seen here", ErrGenerationFile, g.path)
	}
	return gen, nil
}

// RecordSharedGeneration raises the file's generation to gen.
func (g *GenerationFile) RecordSharedGeneration(gen uint64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return seal.RaiseGeneration(gen, g.SharedGeneration, func(gen uint64) error {
		return atomicfile.Write(g.path, func(f *os.File) error {
			_, err := f.WriteString(strconv.FormatUint(gen, 10) + "\n")
			return err
		})
	})
}

// remember records gen with opts.Generations when it is above what was
// recorded; a failure is kept as the replica's problem (its /healthz is
// degraded: after a restart it could not tell an older copy of the
// database) and retried on the next accepted read. syncMu is held.
func (r *Replica) remember(gen uint64) error {
	if r.opts.Generations == nil || gen <= r.recorded {
		return nil
	}
	if err := r.opts.Generations.RecordSharedGeneration(gen); err != nil {
		return fmt.Errorf("record the store's generation %d: %w", gen, err)
	}
	r.recorded = gen
	return nil
}
