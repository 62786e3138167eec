package envelope

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/keydesk/keydesk/internal/envelopetest"
)

// FuzzOpen feeds arbitrary files to Open and Reader.Next: an attacker
// chooses the backup file. Whatever the bytes, reading ends with io.EOF or
// one of the package's errors, never a panic, a file that reads to its end
// matches its manifest, and no file yields more than the reader allows.
func FuzzOpen(f *testing.F) {
	var good bytes.Buffer
	if err := Write(&good, pass, Manifest{Kind: "backup", StoreID: "s"}, []File{Bytes("keydesk.db", []byte("db")), Bytes("master.key", make([]byte, 32))}, fast); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add(good.Bytes()[:len(good.Bytes())-3])
	f.Add([]byte(ageMagic))
	f.Add([]byte(ageMagic + "-> scrypt AAAA 99\n"))
	// Crafted archives: a sparse database, a link, a file listed twice.
	db := envelopetest.FileInfo{Name: "keydesk.db", Size: 1 << 20}
	for _, entries := range [][]envelopetest.Entry{
		{envelopetest.Manifest("backup", nil, db), envelopetest.Sparse("keydesk.db", 1<<20)},
		{envelopetest.Manifest("backup", nil, db), {Name: "keydesk.db", Type: '1', Link: "/etc/passwd"}},
		{envelopetest.Manifest("backup", nil, db, db), envelopetest.File("keydesk.db", nil)},
	} {
		f.Add(envelopetest.Encrypt(f, envelopetest.Tar(entries...), pass, fast.WorkFactor))
	}
	// Keep each guess cheap: the fuzzer would otherwise spend a second of
	// scrypt on every input that names a work factor near the maximum.
	defer func(w int) { maxWorkFactor = w }(maxWorkFactor)
	maxWorkFactor = fast.WorkFactor
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open(bytes.NewReader(data), pass, openFast)
		if err != nil {
			if !errors.Is(err, ErrNotEnvelope) && !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrWrongPassphrase) && !errors.Is(err, ErrTooNew) &&
				!errors.Is(err, ErrUnsafe) && !errors.Is(err, ErrWorkFactor) {
				t.Fatalf("Open: unclassified error %v", err)
			}
			return
		}
		n := 0
		for {
			fi, body, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if !errors.Is(err, ErrDamaged) && !errors.Is(err, ErrUnsafe) {
					t.Fatalf("Next: unclassified error %v", err)
				}
				return
			}
			if fi != r.Manifest.Files[n] {
				t.Fatalf("file %d is %+v, the manifest says %+v", n, fi, r.Manifest.Files[n])
			}
			// Never more than the manifest says, and never more than
			// the reader allows for that name.
			if got, _ := io.Copy(io.Discard, body); got > fi.Size || got > openFast.Files[fi.Name] {
				t.Fatalf("%s: %d bytes read, the manifest says %d", fi.Name, got, fi.Size)
			}
			n++
		}
		if n != len(r.Manifest.Files) {
			t.Fatalf("%d files read, the manifest lists %d", n, len(r.Manifest.Files))
		}
	})
}
