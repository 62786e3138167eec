package workspace

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/keydesk/keydesk/envelope"
	"github.com/keydesk/keydesk/internal/envelopetest"
	"github.com/keydesk/keydesk/internal/foldertest"
	"github.com/keydesk/keydesk/storage"
)

// craftedWorkFactor is the scrypt cost of the crafted backups; the
// restores below expect it (RestoreOptions.WorkFactor).
const craftedWorkFactor = 10

// backupParts is a real backup taken apart: its manifest's fields, store
// copy and signing key, to put together again the way an attacker would.
type backupParts struct {
	fields map[string]any
	db     []byte
	master []byte
}

func takeApart(t *testing.T) backupParts {
	t.Helper()
	w := open(t, Options{Keyring: storage.NewMemoryKeyring(), Dir: filepath.Join(t.TempDir(), "a"), Now: t0})
	populate(t, w, 2)
	var buf bytes.Buffer
	if _, err := w.WriteBackup(context.Background(), &buf, backupPass); err != nil {
		t.Fatal(err)
	}
	rd, err := envelope.Open(&buf, backupPass, envelope.OpenOptions{Files: backupFiles})
	if err != nil {
		t.Fatal(err)
	}
	files, err := rd.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	m := rd.Manifest
	return backupParts{
		fields: map[string]any{"storeId": m.StoreID, "keyCount": m.KeyCount, "generation": m.Generation},
		db:     files[backupDB], master: files[backupMaster],
	}
}

// envelope encrypts a backup of entries whose manifest lists files.
func (b backupParts) envelope(t *testing.T, files []envelopetest.FileInfo, entries ...envelopetest.Entry) []byte {
	t.Helper()
	all := append([]envelopetest.Entry{envelopetest.Manifest(BackupKind, b.fields, files...)}, entries...)
	return envelopetest.Encrypt(t, envelopetest.Tar(all...), backupPass, craftedWorkFactor)
}

// written returns how many bytes this process has passed to write(2) so
// far (Linux's /proc/self/io), ok false where that cannot be read.
func written(t *testing.T) (n int64, ok bool) {
	t.Helper()
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, found := strings.CutPrefix(sc.Text(), "wchar: "); found {
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// A backup crafted by whoever chose its passphrase is refused, in one
// sentence, before it writes or holds more than its manifest allows: a
// 10 KiB file with a sparse entry claiming a gigabyte writes nothing and
// allocates no more than a few MiB, and the data folder stays exactly as it
// was. (Before, such a file wrote the whole claim into the data folder, or
// read a gigabyte "signing key" into memory.)
func TestRestoreRefusesCraftedBackups(t *testing.T) {
	const gig = 1 << 30
	b := takeApart(t)
	db := envelopetest.FileInfo{Name: backupDB, Size: int64(len(b.db))}
	key := envelopetest.FileInfo{Name: backupMaster, Size: 32}
	dbFile := envelopetest.File(backupDB, b.db)
	keyFile := envelopetest.File(backupMaster, b.master)
	node := func(typ byte) envelopetest.Entry {
		return envelopetest.Entry{Name: backupDB, Type: typ, Link: "/etc/passwd"}
	}
	tests := []struct {
		name string
		file []byte
		want error
	}{
		{"sparse store copy of 1 GiB", b.envelope(t, []envelopetest.FileInfo{{Name: backupDB, Size: gig}, key},
			envelopetest.Sparse(backupDB, gig), keyFile), envelope.ErrUnsafe},
		{"sparse signing key of 1 GiB", b.envelope(t, []envelopetest.FileInfo{db, {Name: backupMaster, Size: gig}},
			dbFile, envelopetest.Sparse(backupMaster, gig)), envelope.ErrUnsafe},
		{"sparse signing key of its size", b.envelope(t, []envelopetest.FileInfo{db, key}, dbFile, envelopetest.Sparse(backupMaster, 32)), envelope.ErrUnsafe},
		{"old GNU sparse store copy", b.envelope(t, []envelopetest.FileInfo{{Name: backupDB, Size: gig}, key},
			envelopetest.OldSparse(backupDB, gig), keyFile), envelope.ErrUnsafe},
		{"hard link", b.envelope(t, []envelopetest.FileInfo{{Name: backupDB}, key}, node('1'), keyFile), envelope.ErrUnsafe},
		{"symbolic link", b.envelope(t, []envelopetest.FileInfo{{Name: backupDB}, key}, node('2'), keyFile), envelope.ErrUnsafe},
		{"character device", b.envelope(t, []envelopetest.FileInfo{{Name: backupDB}, key}, node('3'), keyFile), envelope.ErrUnsafe},
		{"fifo", b.envelope(t, []envelopetest.FileInfo{{Name: backupDB}, key}, node('6'), keyFile), envelope.ErrUnsafe},
		{"folder", b.envelope(t, []envelopetest.FileInfo{{Name: backupDB}, key}, node('5'), keyFile), envelope.ErrUnsafe},
		{"signing key twice, the second one right", b.envelope(t, []envelopetest.FileInfo{db, key, key},
			dbFile, envelopetest.File(backupMaster, make([]byte, 32)), keyFile), envelope.ErrUnsafe},
		{"store copy twice", b.envelope(t, []envelopetest.FileInfo{db, db, key}, dbFile, dbFile, keyFile), envelope.ErrUnsafe},
		{"a file no backup holds", b.envelope(t, []envelopetest.FileInfo{db, key, {Name: "evil.sh", Size: 4}},
			dbFile, keyFile, envelopetest.File("evil.sh", []byte("boom"))), envelope.ErrUnsafe},
		{"signing key of 31 bytes", b.envelope(t, []envelopetest.FileInfo{db, {Name: backupMaster, Size: 31}},
			dbFile, envelopetest.File(backupMaster, b.master[:31])), envelope.ErrUnsafe},
		{"store copy larger than the manifest says", b.envelope(t, []envelopetest.FileInfo{{Name: backupDB, Size: 4096}, key},
			dbFile, keyFile), envelope.ErrDamaged},
		{"store copy larger than a backup may hold", b.envelope(t, []envelopetest.FileInfo{{Name: backupDB, Size: MaxStoreCopy + 1}, key},
			dbFile, keyFile), envelope.ErrUnsafe},
	}
	// The pieces are right: put together plainly, they restore.
	good := b.envelope(t, []envelopetest.FileInfo{db, key}, dbFile, keyFile)
	if _, err := prepareCrafted(t, good, filepath.Join(t.TempDir(), "good"), craftedWorkFactor); err != nil {
		t.Fatalf("the pieces put together plainly: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The crafted files are small (the sparse ones claim 1 GiB in a
			// few KiB): what the restore allocates or writes below comes
			// from what they claim, not from their size. (The bound was
			// 64 KiB, which two copies of a 32 KiB store exceed: the test
			// failed whenever bbolt had grown the file to 32 KiB.)
			if len(tc.file) > 256<<10 {
				t.Fatalf("the crafted file has %d bytes", len(tc.file))
			}
			parent := t.TempDir()
			dir := filepath.Join(parent, "data")
			before := foldertest.State(t, parent)
			wrote, canCount := written(t)
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			allocated := ms.TotalAlloc

			_, err := prepareCrafted(t, tc.file, dir, craftedWorkFactor)

			runtime.ReadMemStats(&ms)
			if got := ms.TotalAlloc - allocated; got > 64<<20 {
				t.Errorf("the refused restore allocated %d MiB", got>>20)
			}
			if now, ok := written(t); canCount && ok && now-wrote > 1<<20 {
				t.Errorf("the refused restore wrote %d MiB", (now-wrote)>>20)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if a := Advice(err); a == "" || strings.Count(a, ". ") > 0 {
				t.Errorf("advice %q for %v: want one sentence", a, err)
			}
			if after := foldertest.State(t, parent); after != before {
				t.Errorf("the folder changed:\n%s\nwant\n%s", after, before)
			}
		})
	}
}

// A backup made with a lower scrypt work factor than Keydesk writes (each
// guess of its passphrase cheaper) is refused, with nothing written.
func TestRestoreRefusesALowWorkFactor(t *testing.T) {
	b := takeApart(t)
	file := b.envelope(t, []envelopetest.FileInfo{{Name: backupDB, Size: int64(len(b.db))}, {Name: backupMaster, Size: 32}},
		envelopetest.File(backupDB, b.db), envelopetest.File(backupMaster, b.master))
	parent := t.TempDir()
	before := foldertest.State(t, parent)
	// What Keydesk writes: 2^18; the file has 2^10.
	_, err := prepareCrafted(t, file, filepath.Join(parent, "data"), 0)
	if !errors.Is(err, envelope.ErrWorkFactor) || Advice(err) == "" {
		t.Fatalf("got %v (advice %q), want envelope.ErrWorkFactor", err, Advice(err))
	}
	if foldertest.State(t, parent) != before {
		t.Error("the folder changed")
	}
}

// prepareCrafted runs PrepareRestore on file into dir (dropping what it
// prepared) with a memory keyring.
func prepareCrafted(t *testing.T, file []byte, dir string, workFactor int) (*PendingRestore, error) {
	t.Helper()
	p, err := PrepareRestore(context.Background(), io.MultiReader(bytes.NewReader(file)), RestoreOptions{
		Dir: dir, Passphrase: backupPass, Keyring: storage.NewMemoryKeyring(), Now: t0, WorkFactor: workFactor,
	})
	if p != nil {
		p.Abort()
	}
	return p, err
}
