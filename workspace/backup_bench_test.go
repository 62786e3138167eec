package workspace

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/keydesk/keydesk/core"
	"github.com/keydesk/keydesk/storage"
)

// benchWorkspace is the shared 100,000-key fixture as a Workspace.
func benchWorkspace(b *testing.B) *Workspace {
	f := getFixture(b)
	return &Workspace{dir: filepath.Join(f.dir, "data"), store: f.store, keyring: f.keyring, service: f.svc, clock: core.FixedClock(benchNow)}
}

// BenchmarkBackup100k writes an encrypted backup of the 100,000-key store
// (one read transaction, age scrypt work factor 18, temp file + fsync +
// rename). Target: at most 5 s.
func BenchmarkBackup100k(b *testing.B) {
	w := benchWorkspace(b)
	out := filepath.Join(b.TempDir(), "bench.kdbackup")
	var size int64
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		info, err := w.Backup(context.Background(), out, backupPass)
		if err != nil {
			b.Fatal(err)
		}
		if info.KeyCount != benchKeys {
			b.Fatalf("backed up %d keys", info.KeyCount)
		}
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/backup")
	if fi, err := os.Stat(out); err == nil {
		size = fi.Size()
	}
	b.ReportMetric(float64(size)/1e6, "MB/file")
}

// BenchmarkRestore100k restores that backup into a new folder: decrypt,
// unpack, open, Seal, Check, verify every record's MAC, record the restore
// and install the signing material. Target: at most 5 s.
func BenchmarkRestore100k(b *testing.B) {
	w := benchWorkspace(b)
	file := filepath.Join(b.TempDir(), "bench.kdbackup")
	if _, err := w.Backup(context.Background(), file, backupPass); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		f, err := os.Open(file)
		if err != nil {
			b.Fatal(err)
		}
		p, err := PrepareRestore(context.Background(), f, RestoreOptions{Dir: filepath.Join(b.TempDir(), "r"), Passphrase: backupPass, Keyring: storage.NewMemoryKeyring(), Now: benchNow})
		if err != nil {
			b.Fatal(err)
		}
		res, err := p.Commit()
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		if res.KeyCount != benchKeys {
			b.Fatalf("restored %d keys", res.KeyCount)
		}
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/restore")
}
