package envelope

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

const pass = "correct horse battery"

// fast keeps the scrypt cost low in tests; Open accepts any work factor up
// to age's maximum.
var fast = Options{WorkFactor: 10}

// openFast opens what sample and the tests write.
var openFast = OpenOptions{WorkFactor: fast.WorkFactor, Files: map[string]int64{"keydesk.db": 1 << 20, "master.key": 32}}

func sample(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	m := Manifest{Kind: "backup", KeydeskVersion: "test", StoreID: "abc", TakenAt: time.Date(2026, 11, 30, 4, 25, 0, 0, time.FixedZone("X", 3600)), KeyCount: 2, Generation: 7}
	big := bytes.Repeat([]byte("0123456789abcdef"), 20000) // several age chunks
	files := []File{Bytes("keydesk.db", big), Bytes("master.key", bytes.Repeat([]byte{7}, 32))}
	if err := Write(&buf, pass, m, files, fast); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	data := sample(t)
	r, err := Open(bytes.NewReader(data), pass, openFast)
	if err != nil {
		t.Fatal(err)
	}
	m := r.Manifest
	if m.Format != FormatName || m.FormatVersion != FormatVersion || m.Kind != "backup" || m.StoreID != "abc" ||
		m.KeyCount != 2 || m.Generation != 7 || m.TakenAt.Location() != time.UTC || !m.TakenAt.Equal(time.Date(2026, 11, 30, 3, 25, 0, 0, time.UTC)) {
		t.Errorf("manifest %+v", m)
	}
	files, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(files["keydesk.db"]) != 320000 || !bytes.Equal(files["master.key"], bytes.Repeat([]byte{7}, 32)) || len(files) != 2 {
		t.Errorf("files: %d entries, db %d bytes", len(files), len(files["keydesk.db"]))
	}
}

// The standard age library (what `age -d` runs) opens the file with the
// passphrase, finds a tar with manifest.json first, and refuses a wrong
// passphrase.
func TestOpensWithAgeLibrary(t *testing.T) {
	data := sample(t)
	id, _ := age.NewScryptIdentity(pass)
	plain, err := age.Decrypt(bytes.NewReader(data), id)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(plain)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	if strings.Join(names, " ") != "manifest.json keydesk.db master.key" {
		t.Errorf("entries %v", names)
	}
	wrong, _ := age.NewScryptIdentity(pass + "x")
	if _, err := age.Decrypt(bytes.NewReader(data), wrong); err == nil {
		t.Error("age decrypted with a wrong passphrase")
	}
}

// readAll opens and reads a whole envelope, returning the first error.
func readAll(data []byte, p string) error {
	r, err := Open(bytes.NewReader(data), p, openFast)
	if err != nil {
		return err
	}
	_, err = r.ReadAll()
	return err
}

func TestBadInput(t *testing.T) {
	data := sample(t)
	var other bytes.Buffer
	rc, _ := age.NewScryptRecipient(pass)
	rc.SetWorkFactor(10)
	w, _ := age.Encrypt(&other, rc)
	io.WriteString(w, "just some text, not a tar archive at all")
	w.Close()
	var otherTar bytes.Buffer
	w, _ = age.Encrypt(&otherTar, rc)
	tw := tar.NewWriter(w)
	tw.WriteHeader(&tar.Header{Name: "notes.txt", Size: 2, Mode: 0o600})
	tw.Write([]byte("hi"))
	tw.Close()
	w.Close()
	x, _ := age.GenerateX25519Identity()
	var pub bytes.Buffer
	w, _ = age.Encrypt(&pub, x.Recipient())
	w.Write(data)
	w.Close()
	var newer bytes.Buffer
	w, _ = age.Encrypt(&newer, rc)
	tw = tar.NewWriter(w)
	mj := []byte(`{"format":"keydesk-backup","formatVersion":99,"kind":"backup","files":[]}`)
	tw.WriteHeader(&tar.Header{Name: ManifestName, Size: int64(len(mj)), Mode: 0o600})
	tw.Write(mj)
	tw.Close()
	w.Close()
	random := make([]byte, 4096)
	rand.Read(random)
	flipped := bytes.Clone(data)
	flipped[len(flipped)/2] ^= 1
	// A header asking for more scrypt work than Keydesk writes (a crafted
	// file holding memory and CPU) is refused before any scrypt runs.
	costly := bytes.Replace(data, []byte(" 10\n"), []byte(" 19\n"), 1)
	if bytes.Equal(costly, data) {
		t.Fatal("no work factor in the header")
	}
	flippedEnd := bytes.Clone(data)
	flippedEnd[len(flippedEnd)-1] ^= 0x80

	tests := []struct {
		name string
		data []byte
		pass string
		want error
	}{
		{"wrong passphrase", data, "wrong passphrase!", ErrWrongPassphrase},
		{"truncated in the middle", data[:len(data)/2], pass, ErrDamaged},
		{"truncated by one byte", data[:len(data)-1], pass, ErrDamaged},
		{"truncated in the header", data[:40], pass, ErrDamaged},
		{"one byte changed in the middle", flipped, pass, ErrDamaged},
		{"last byte changed", flippedEnd, pass, ErrDamaged},
		{"random file", random, pass, ErrNotEnvelope},
		{"empty file", nil, pass, ErrNotEnvelope},
		{"age file of text", other.Bytes(), pass, ErrNotEnvelope},
		{"age file of another tar", otherTar.Bytes(), pass, ErrNotEnvelope},
		{"age file for a public key", pub.Bytes(), pass, ErrNotEnvelope},
		{"newer format version", newer.Bytes(), pass, ErrTooNew},
		{"scrypt work factor above 18", costly, pass, ErrWorkFactor},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := readAll(tc.data, tc.pass)
			if !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestShortPassphrase(t *testing.T) {
	var buf bytes.Buffer
	err := Write(&buf, "elevenchars", Manifest{Kind: "x"}, nil, fast)
	if !errors.Is(err, ErrShortPassphrase) || buf.Len() != 0 {
		t.Errorf("got %v and %d bytes written", err, buf.Len())
	}
	// Twelve characters, some of them multi-byte, are enough.
	if err := Write(&buf, "ééééééééééééé", Manifest{Kind: "x"}, nil, fast); err != nil {
		t.Error(err)
	}
}

// The envelope holds no plaintext: neither the secret file's bytes nor the
// manifest's store id appear in it.
func TestNoPlaintext(t *testing.T) {
	secret := []byte("SUPERSECRET-master-key-material!")
	var buf bytes.Buffer
	if err := Write(&buf, pass, Manifest{Kind: "backup", StoreID: "store-id-in-clear?"}, []File{Bytes("master.key", secret)}, fast); err != nil {
		t.Fatal(err)
	}
	for _, s := range [][]byte{secret, []byte("store-id-in-clear?"), []byte("manifest.json"), []byte(pass)} {
		if bytes.Contains(buf.Bytes(), s) {
			t.Errorf("the envelope holds %q in the clear", s)
		}
	}
}

func TestWriteRefusesShortBody(t *testing.T) {
	var buf bytes.Buffer
	err := Write(&buf, pass, Manifest{Kind: "x"}, []File{{Name: "a", Size: 10, Body: strings.NewReader("short")}}, fast)
	if err == nil {
		t.Error("a body shorter than its size was written")
	}
}
