package envelope

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"testing"

	"github.com/keydesk/keydesk/internal/envelopetest"
)

// crafted returns an envelope of a crafted tar, encrypted at the tests'
// work factor.
func crafted(t *testing.T, entries ...envelopetest.Entry) []byte {
	t.Helper()
	return envelopetest.Encrypt(t, envelopetest.Tar(entries...), pass, fast.WorkFactor)
}

// readCounting opens data and reads every file, returning the first error
// and the number of body bytes the reader handed out.
func readCounting(data []byte, opts OpenOptions) (int64, error) {
	r, err := Open(bytes.NewReader(data), pass, opts)
	if err != nil {
		return 0, err
	}
	var n int64
	for {
		_, body, err := r.Next()
		if err == io.EOF {
			return n, nil
		} else if err != nil {
			return n, err
		}
		m, err := io.Copy(io.Discard, body)
		n += m
		if err != nil {
			return n, err
		}
	}
}

// What an attacker's file holds is refused before a byte of it is handed
// out: sparse entries (whose holes would read as gigabytes of zeros out of
// a few kilobytes), links, devices, fifos, folders, files listed twice or
// not expected, files larger than allowed, data past the manifest.
func TestOpenRefusesCraftedEntries(t *testing.T) {
	const gig = 1 << 30
	db := func(size int64) envelopetest.FileInfo { return envelopetest.FileInfo{Name: "keydesk.db", Size: size} }
	key := envelopetest.FileInfo{Name: "master.key", Size: 32}
	manifest := func(files ...envelopetest.FileInfo) envelopetest.Entry {
		return envelopetest.Manifest("backup", nil, files...)
	}
	// The caller allows a 4 GiB database, so only the entry's kind can
	// refuse the sparse one.
	big := OpenOptions{WorkFactor: fast.WorkFactor, Files: map[string]int64{"keydesk.db": 4 * gig, "master.key": 32}}
	link := func(typ byte) envelopetest.Entry {
		return envelopetest.Entry{Name: "keydesk.db", Type: typ, Link: "/etc/passwd"}
	}
	tests := []struct {
		name    string
		entries []envelopetest.Entry
		opts    OpenOptions
		want    error
	}{
		{"PAX sparse database of 4 GiB", []envelopetest.Entry{manifest(db(4 * gig)), envelopetest.Sparse("keydesk.db", 4*gig)}, big, ErrUnsafe},
		{"PAX sparse master.key of 4 GiB", []envelopetest.Entry{manifest(envelopetest.FileInfo{Name: "master.key", Size: 4 * gig}), envelopetest.Sparse("master.key", 4*gig)},
			OpenOptions{WorkFactor: fast.WorkFactor, Files: map[string]int64{"master.key": 32}}, ErrUnsafe},
		{"PAX sparse file within its limit", []envelopetest.Entry{manifest(db(1 << 20)), envelopetest.Sparse("keydesk.db", 1<<20)}, openFast, ErrUnsafe},
		{"old GNU sparse database", []envelopetest.Entry{manifest(db(4 * gig)), envelopetest.OldSparse("keydesk.db", 4*gig)}, big, ErrUnsafe},
		{"hard link", []envelopetest.Entry{manifest(db(0)), link('1')}, openFast, ErrUnsafe},
		{"symbolic link", []envelopetest.Entry{manifest(db(0)), link('2')}, openFast, ErrUnsafe},
		{"character device", []envelopetest.Entry{manifest(db(0)), {Name: "keydesk.db", Type: '3'}}, openFast, ErrUnsafe},
		{"block device", []envelopetest.Entry{manifest(db(0)), {Name: "keydesk.db", Type: '4'}}, openFast, ErrUnsafe},
		{"folder", []envelopetest.Entry{manifest(db(0)), {Name: "keydesk.db", Type: '5'}}, openFast, ErrUnsafe},
		{"fifo", []envelopetest.Entry{manifest(db(0)), {Name: "keydesk.db", Type: '6'}}, openFast, ErrUnsafe},
		{"file listed twice", []envelopetest.Entry{manifest(key, key), envelopetest.File("master.key", make([]byte, 32)), envelopetest.File("master.key", make([]byte, 32))}, openFast, ErrUnsafe},
		{"file not expected", []envelopetest.Entry{manifest(envelopetest.FileInfo{Name: "evil", Size: 1}), envelopetest.File("evil", []byte("x"))}, openFast, ErrUnsafe},
		{"file larger than allowed", []envelopetest.Entry{manifest(envelopetest.FileInfo{Name: "master.key", Size: 33}), envelopetest.File("master.key", make([]byte, 33))}, openFast, ErrUnsafe},
		{"negative size", []envelopetest.Entry{manifest(db(-1))}, openFast, ErrUnsafe},
		{"entry past the manifest", []envelopetest.Entry{manifest(key), envelopetest.File("master.key", make([]byte, 32)), envelopetest.File("keydesk.db", []byte("x"))}, openFast, ErrUnsafe},
		{"database larger than the manifest says", []envelopetest.Entry{manifest(db(10)), envelopetest.File("keydesk.db", make([]byte, 4096))}, openFast, ErrDamaged},
		{"manifest of another kind", []envelopetest.Entry{envelopetest.Manifest("credential", nil)}, OpenOptions{Kind: "backup", WorkFactor: fast.WorkFactor}, ErrNotEnvelope},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := readCounting(crafted(t, tc.entries...), tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if n != 0 && tc.name != "entry past the manifest" {
				t.Errorf("%d bytes of the refused file were handed out", n)
			}
		})
	}
}

// Data after the archive's end, beyond what the manifest accounts for,
// is refused, not read through.
func TestOpenBoundsTheDecryptedStream(t *testing.T) {
	plain := envelopetest.Tar(envelopetest.Manifest("backup", nil, envelopetest.FileInfo{Name: "master.key", Size: 32}), envelopetest.File("master.key", make([]byte, 32)))
	plain = append(plain, make([]byte, 1<<20)...)
	_, err := readCounting(envelopetest.Encrypt(t, plain, pass, fast.WorkFactor), openFast)
	if !errors.Is(err, ErrUnsafe) {
		t.Fatalf("1 MiB after the archive: %v", err)
	}
}

// A file made with a lower scrypt work factor than Keydesk writes (so
// each guess of its passphrase is cheaper) is refused before any scrypt
// work, and so is one asking for more.
func TestOpenRefusesOtherWorkFactors(t *testing.T) {
	plain := envelopetest.Tar(envelopetest.Manifest("backup", nil))
	for _, tc := range []struct {
		name       string
		file, want int
	}{
		{"2^10 where Keydesk writes 2^18", 10, 0},
		{"2^17 where Keydesk writes 2^18", 17, 0},
		{"2^10 where the reader expects 2^12", 10, 12},
		{"2^19", 19, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := envelopetest.Encrypt(t, plain, pass, 10)
			if tc.file != 10 {
				// Not worth the scrypt work of writing it: the header's
				// scrypt stanza says the work factor, and the refusal
				// comes before any scrypt work or the header's MAC.
				data = bytes.Replace(data, []byte(" 10\n"), []byte(" "+strconv.Itoa(tc.file)+"\n"), 1)
			}
			_, err := Open(bytes.NewReader(data), pass, OpenOptions{WorkFactor: tc.want})
			if !errors.Is(err, ErrWorkFactor) {
				t.Fatalf("got %v, want ErrWorkFactor", err)
			}
		})
	}
	// The expected one opens.
	data := envelopetest.Encrypt(t, plain, pass, 12)
	if _, err := readCounting(data, OpenOptions{WorkFactor: 12}); err != nil {
		t.Fatal(err)
	}
}
