// Package envelopetest crafts, in tests, the envelopes an attacker would
// hand Keydesk (see package envelope): an age file with a scrypt passphrase
// holding a tar archive written byte by byte, so that it can hold what
// Go's tar writer refuses to write (GNU sparse entries) and what Keydesk
// never writes (links, devices, repeated files, sizes no manifest allows).
package envelopetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"filippo.io/age"
)

// Entry is one tar entry, written as given.
type Entry struct {
	Name string
	// Type is the tar type flag ('0' a file, '1' a hard link, '2' a
	// symbolic link, '3' a character device, '5' a folder, '6' a fifo).
	Type byte
	// Size is the size the header claims; Body is what follows it.
	Size int64
	Body []byte
	// Link is a link's target.
	Link string
	// PAX records are written in a PAX header before the entry.
	PAX map[string]string
}

// File is a plain file entry holding body.
func File(name string, body []byte) Entry {
	return Entry{Name: name, Type: '0', Size: int64(len(body)), Body: body}
}

// Sparse is a file entry in GNU's PAX sparse format 1.0 (what `tar
// --sparse --format=posix` writes) claiming size bytes, all of them a
// hole: a reader that honours it reads size zero bytes out of 1 KiB.
func Sparse(name string, size int64) Entry {
	// The data: the sparse map (no data regions), padded to a block.
	m := make([]byte, 512)
	copy(m, "0\n")
	return Entry{
		Name: "./GNUSparseFile.0/" + name, Type: '0', Size: int64(len(m)), Body: m,
		PAX: map[string]string{
			"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
			"GNU.sparse.name": name, "GNU.sparse.realsize": strconv.FormatInt(size, 10),
		},
	}
}

// OldSparse is a file entry in the old GNU sparse format (type 'S')
// claiming size bytes, all a hole.
func OldSparse(name string, size int64) Entry {
	return Entry{Name: name, Type: 'S', Size: size}
}

// FileInfo is one file of a crafted manifest.
type FileInfo struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// Manifest is the manifest.json entry of an envelope of kind listing
// files (extra fields, such as storeId, go in fields).
func Manifest(kind string, fields map[string]any, files ...FileInfo) Entry {
	m := map[string]any{
		"format": "keydesk-backup", "formatVersion": 1, "kind": kind, "keydeskVersion": "test",
		"takenAt": time.Date(2026, 11, 30, 4, 25, 0, 0, time.UTC), "files": files,
	}
	for k, v := range fields {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return File("manifest.json", b)
}

// Tar returns a tar archive of entries, ended by two zero blocks.
func Tar(entries ...Entry) []byte {
	var buf bytes.Buffer
	for _, e := range entries {
		if len(e.PAX) > 0 {
			var recs []byte
			for _, k := range slices.Sorted(maps.Keys(e.PAX)) {
				recs = append(recs, paxRecord(k, e.PAX[k])...)
			}
			writeEntry(&buf, "PaxHeaders.0/"+e.Name, 'x', int64(len(recs)), recs, "")
		}
		writeEntry(&buf, e.Name, e.Type, e.Size, e.Body, e.Link)
	}
	buf.Write(make([]byte, 1024))
	return buf.Bytes()
}

// Encrypt encrypts plain with age to passphrase at scrypt work factor
// 2^logN, as `age -p` does.
func Encrypt(t testing.TB, plain []byte, passphrase string, logN int) []byte {
	t.Helper()
	rc, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		t.Fatal(err)
	}
	rc.SetWorkFactor(logN)
	var out bytes.Buffer
	w, err := age.Encrypt(&out, rc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func writeEntry(buf *bytes.Buffer, name string, typ byte, size int64, body []byte, link string) {
	h := make([]byte, 512)
	copy(h[0:100], name)
	copy(h[100:108], "0000600\x00")
	copy(h[108:116], "0000000\x00")
	copy(h[116:124], "0000000\x00")
	copy(h[124:136], fmt.Sprintf("%011o\x00", size))
	copy(h[136:148], fmt.Sprintf("%011o\x00", time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC).Unix()))
	h[156] = typ
	copy(h[157:257], link)
	if typ == 'S' {
		// GNU magic; the sparse map (offset 386) is empty and the real
		// size (offset 483) is the claimed size.
		copy(h[257:265], "ustar  \x00")
		copy(h[483:495], fmt.Sprintf("%011o\x00", size))
		copy(h[124:136], fmt.Sprintf("%011o\x00", 0))
	} else {
		copy(h[257:263], "ustar\x00")
		copy(h[263:265], "00")
	}
	copy(h[329:337], "0000000\x00")
	copy(h[337:345], "0000000\x00")
	copy(h[148:156], "        ")
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
	buf.Write(h)
	buf.Write(body)
	if pad := len(body) % 512; pad != 0 {
		buf.Write(make([]byte, 512-pad))
	}
}

// paxRecord is one PAX record: "<length> <key>=<value>\n", the length
// counting itself.
func paxRecord(k, v string) []byte {
	rest := " " + k + "=" + v + "\n"
	n := len(rest) + 1
	for len(strconv.Itoa(n))+len(rest) != n {
		n++
	}
	return []byte(strconv.Itoa(n) + rest)
}
