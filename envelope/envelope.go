// Package envelope reads and writes Keydesk's encrypted envelope: the one file
// format of `keydesk backup`, of the key file (keydesk.key) that keeps a
// store's signing material when there is no OS keyring, and of other
// exports that carry secrets.
//
// An envelope is an age file (filippo.io/age, https://age-encryption.org/v1)
// encrypted to a single scrypt passphrase recipient, so the standard tool
// opens it too:
//
//	age -d backup.kdbackup | tar -tv
//
// Inside is a POSIX tar archive whose first entry is manifest.json (see
// Manifest: format "keydesk-backup", format version, kind, Keydesk version,
// store id, time taken in UTC, key count, generation, and the list of the
// files that follow with their sizes), followed by exactly those files in
// that order. A backup (kind "backup") holds:
//
//	manifest.json   the Manifest
//	keydesk.db      a consistent bbolt copy of the store (one read transaction)
//	master.key      the store's 32-byte master key (its signing material)
//	smtp.password   the SMTP password (present only when one is set)
//
// age authenticates the whole stream (ChaCha20-Poly1305 per 64 KiB chunk,
// with the last chunk marked), so a changed byte or a truncated file fails
// to decrypt; Open and Reader.Next report it as ErrDamaged. The scrypt work
// factor (2^18 by default) makes each guess of a passphrase cost about a
// second and 256 MiB of memory.
//
// Open treats the file as an attacker's (whoever chose its passphrase
// chose its contents): it refuses, before reading any file's body, a
// scrypt work factor other than the one Keydesk writes (ErrWorkFactor), a
// manifest naming a file the caller does not expect, twice, or larger than
// the caller allows, and any tar entry that is not a plain file (sparse,
// link, device, fifo, folder: ErrUnsafe). Every file is then read with its
// size known in advance, and the whole decrypted stream is bounded by the
// manifest, so a small file cannot make Keydesk write or hold more than
// its manifest allows.
package envelope

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
)

// FormatName is the format field of every manifest.
const FormatName = "keydesk-backup"

// FormatVersion is the envelope format version this build writes and the
// newest it reads.
const FormatVersion = 1

// MinPassphrase is the shortest passphrase Write accepts, in characters.
const MinPassphrase = 12

// ManifestName is the name of the first entry of every envelope.
const ManifestName = "manifest.json"

// DefaultWorkFactor is the scrypt work factor (log2) Write uses unless
// told otherwise: age's default, 2^18, about a second and 256 MiB per
// guess of the passphrase.
const DefaultWorkFactor = 18

// maxWorkFactor is the largest scrypt work factor Open accepts: the one
// Write uses by default. A file asking for more (age accepts up to 2^22,
// 4 GiB) is refused rather than let a crafted file hold the memory and a
// CPU for tens of seconds.
var maxWorkFactor = DefaultWorkFactor

// entryAllowance bounds what the tar format adds to each file of an
// envelope (its header, a PAX header, padding): Write adds at most 2 KiB.
const entryAllowance = 64 << 10

// maxManifest bounds the manifest's size.
const maxManifest = 1 << 20

// Errors callers branch on. They are short and lowercase; the front ends
// add the advice for people.
var (
	// ErrWrongPassphrase means the passphrase does not open the file.
	ErrWrongPassphrase = errors.New("wrong passphrase")
	// ErrNotEnvelope means the file is not a Keydesk envelope: not an age
	// file, an age file not encrypted with a passphrase, or one holding
	// something else.
	ErrNotEnvelope = errors.New("not a keydesk backup")
	// ErrDamaged means the file is a Keydesk envelope but was truncated
	// or altered.
	ErrDamaged = errors.New("backup file truncated or altered")
	// ErrTooNew means the file was written by a newer Keydesk, in a
	// format version this build does not know.
	ErrTooNew = errors.New("backup written by a newer keydesk")
	// ErrShortPassphrase means the passphrase has fewer than
	// MinPassphrase characters.
	ErrShortPassphrase = fmt.Errorf("passphrase shorter than %d characters", MinPassphrase)
	// ErrUnsafe means the envelope decrypted but holds what Keydesk never
	// writes: a sparse, link, device, fifo or folder entry, a file the
	// reader does not expect or expects once, or one larger than allowed.
	// Nothing of it was read.
	ErrUnsafe = errors.New("file holds entries keydesk never writes")
	// ErrWorkFactor means the file's scrypt work factor is not the one
	// Keydesk writes: a lower one makes guessing the passphrase cheaper, a
	// higher one would hold the memory and a CPU for long.
	ErrWorkFactor = errors.New("scrypt work factor is not the one keydesk writes")
)

// Manifest describes an envelope's contents. Fields that do not apply to a
// kind are left empty.
type Manifest struct {
	// Format is always FormatName.
	Format string `json:"format"`
	// FormatVersion is the envelope format's version (FormatVersion).
	FormatVersion int `json:"formatVersion"`
	// Kind says what the envelope holds: "backup", "keyfile", "credential"...
	Kind string `json:"kind"`
	// KeydeskVersion is the version of the Keydesk that wrote it.
	KeydeskVersion string `json:"keydeskVersion"`
	// StoreID is the id of the store the contents belong to.
	StoreID string `json:"storeId,omitempty"`
	// TakenAt is when the contents were taken, in UTC.
	TakenAt time.Time `json:"takenAt"`
	// KeyCount is the number of key records in the store copy.
	KeyCount int `json:"keyCount,omitempty"`
	// Generation is the store copy's generation (see storage.Store.Seal).
	Generation uint64 `json:"generation,omitempty"`
	// Files lists the entries after the manifest, in order. Write fills
	// it in.
	Files []FileInfo `json:"files"`
}

// FileInfo is one entry of the manifest's file list.
type FileInfo struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

// File is an entry to write: Size bytes read from Body.
type File struct {
	Name string
	Size int64
	Body io.Reader
}

// Bytes returns a File holding b.
func Bytes(name string, b []byte) File {
	return File{Name: name, Size: int64(len(b)), Body: bytes.NewReader(b)}
}

// Options tune Write.
type Options struct {
	// WorkFactor is the scrypt work factor's log2; zero means
	// DefaultWorkFactor, which is also the most Open accepts. Tests lower
	// it.
	WorkFactor int
}

// OpenOptions say what Open accepts: the caller names what it expects
// before a byte of the files is read.
type OpenOptions struct {
	// Kind is the manifest kind expected; a manifest of another kind
	// fails with ErrNotEnvelope. Empty accepts any.
	Kind string
	// WorkFactor is the scrypt work factor (log2) the file was written
	// with, as Options.WorkFactor: zero means DefaultWorkFactor. A file
	// with a lower one, or a higher one than both this and
	// DefaultWorkFactor, fails with ErrWorkFactor before any scrypt work.
	WorkFactor int
	// Files names each file the envelope may hold and the most bytes it
	// may have; a manifest listing another name, a name twice, or a
	// larger size fails with ErrUnsafe. The total is bounded by these
	// sizes.
	Files map[string]int64
}

// CheckPassphrase returns ErrShortPassphrase for a passphrase that is too
// short to protect an envelope.
func CheckPassphrase(p string) error {
	if len([]rune(p)) < MinPassphrase {
		return ErrShortPassphrase
	}
	return nil
}

// Write encrypts an envelope with m and files to w under passphrase. It
// fills m's Format, FormatVersion and Files; TakenAt is stored in UTC.
// A file whose body does not hold exactly Size bytes fails the write.
func Write(w io.Writer, passphrase string, m Manifest, files []File, opts Options) error {
	if err := CheckPassphrase(passphrase); err != nil {
		return err
	}
	rcpt, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	if opts.WorkFactor > 0 {
		rcpt.SetWorkFactor(opts.WorkFactor)
	}
	m.Format, m.FormatVersion, m.TakenAt = FormatName, FormatVersion, m.TakenAt.UTC()
	m.Files = make([]FileInfo, len(files))
	seen := map[string]bool{ManifestName: true}
	for i, f := range files {
		if seen[f.Name] || f.Name == "" || strings.ContainsAny(f.Name, "/\\") {
			return fmt.Errorf("envelope file name %q is empty, repeated or has a path", f.Name)
		}
		seen[f.Name] = true
		m.Files[i] = FileInfo{Name: f.Name, Size: f.Size}
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	enc, err := age.Encrypt(bw, rcpt)
	if err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	tw := tar.NewWriter(enc)
	put := func(name string, size int64, body io.Reader) error {
		hdr := &tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: m.TakenAt, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		n, err := io.Copy(tw, io.LimitReader(body, size))
		if err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		if n != size {
			return fmt.Errorf("write %s: %d bytes of %d", name, n, size)
		}
		return nil
	}
	if err := put(ManifestName, int64(len(manifest)), bytes.NewReader(manifest)); err != nil {
		return err
	}
	for _, f := range files {
		if err := put(f.Name, f.Size, f.Body); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finish archive: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write envelope: %w", err)
	}
	return nil
}

// Reader reads an opened envelope's files in order.
type Reader struct {
	// Manifest is the envelope's manifest.
	Manifest Manifest
	plain    io.Reader
	tr       *tar.Reader
	next     int
	cur      *countingReader
}

// ageMagic is how every age file begins.
const ageMagic = "age-encryption.org/v1\n"

// Open decrypts r's header with passphrase and reads the manifest. It
// fails with ErrNotEnvelope, ErrWrongPassphrase, ErrDamaged or ErrTooNew.
// The files come from Next; only a Reader read to its end (Next returning
// io.EOF) has proven that the file is whole.
//
// opts says what the caller expects (see OpenOptions); what it does not
// expect fails with ErrWorkFactor or ErrUnsafe before any file is read.
func Open(r io.Reader, passphrase string, opts OpenOptions) (*Reader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	magic, _ := br.Peek(len(ageMagic))
	if string(magic) != ageMagic {
		return nil, ErrNotEnvelope
	}
	sid, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, ErrWrongPassphrase
	}
	id := &costIdentity{ScryptIdentity: sid, min: opts.WorkFactor, max: maxWorkFactor}
	if id.min <= 0 {
		id.min = DefaultWorkFactor
	}
	id.max = max(id.max, id.min)
	sid.SetMaxWorkFactor(id.max)
	plain, err := age.Decrypt(br, id)
	if err != nil {
		var nm *age.NoIdentityMatchError
		switch {
		case errors.Is(err, ErrWorkFactor):
			return nil, err
		case errors.As(err, &nm) && strings.Contains(err.Error(), "incorrect passphrase"):
			return nil, ErrWrongPassphrase
		case errors.As(err, &nm):
			// Encrypted to a public key, not a passphrase.
			return nil, ErrNotEnvelope
		}
		return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	// Until the manifest is read, the stream may hold the manifest and
	// its headers; then what the manifest lists.
	bounded := &boundedReader{r: plain, left: maxManifest + entryAllowance}
	rd := &Reader{plain: bounded, tr: tar.NewReader(bounded)}
	hdr, err := rd.tr.Next()
	if err != nil {
		// Either age's stream is damaged, or it is whole and holds
		// something other than a tar archive: read it to its end to tell.
		if _, derr := io.Copy(io.Discard, bounded); derr != nil {
			return nil, rd.readError(derr)
		}
		return nil, ErrNotEnvelope
	}
	if hdr.Name != ManifestName || hdr.Size > maxManifest || !plainFile(hdr) {
		return nil, ErrNotEnvelope
	}
	data, err := io.ReadAll(io.LimitReader(rd.tr, maxManifest))
	if err != nil {
		return nil, rd.readError(err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil || m.Format != FormatName {
		return nil, ErrNotEnvelope
	}
	if m.FormatVersion > FormatVersion {
		return nil, fmt.Errorf("%w (format version %d, this keydesk reads up to %d)", ErrTooNew, m.FormatVersion, FormatVersion)
	}
	if m.FormatVersion < 1 {
		return nil, ErrNotEnvelope
	}
	if opts.Kind != "" && m.Kind != opts.Kind {
		return nil, fmt.Errorf("%w (it holds a %q)", ErrNotEnvelope, m.Kind)
	}
	total, err := checkFiles(m.Files, opts.Files)
	if err != nil {
		return nil, err
	}
	// From here the stream holds the files, their headers and the end.
	bounded.left = total + int64(len(m.Files)+1)*entryAllowance
	rd.Manifest = m
	return rd, nil
}

// checkFiles checks a manifest's file list against what the caller
// allows and returns the total size.
func checkFiles(files []FileInfo, allowed map[string]int64) (int64, error) {
	seen := make(map[string]bool, len(files))
	var total int64
	for _, f := range files {
		limit, ok := allowed[f.Name]
		switch {
		case !ok:
			return 0, fmt.Errorf("%w: a file named %q", ErrUnsafe, f.Name)
		case seen[f.Name]:
			return 0, fmt.Errorf("%w: %s twice", ErrUnsafe, f.Name)
		case f.Size < 0 || f.Size > limit:
			return 0, fmt.Errorf("%w: %s of %d bytes (at most %d)", ErrUnsafe, f.Name, f.Size, limit)
		}
		seen[f.Name] = true
		total += f.Size // each is at most its limit: no overflow for sane limits
	}
	return total, nil
}

// plainFile reports whether hdr is a plain file: not a link, device, fifo
// or folder, and not sparse (the old GNU type, or GNU's PAX records, whose
// holes would read as zeros that the file does not hold).
func plainFile(hdr *tar.Header) bool {
	if hdr.Typeflag != tar.TypeReg || hdr.Linkname != "" {
		return false
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return false
		}
	}
	return true
}

// costIdentity is the scrypt identity that first checks the work factor
// the file asks for: below min (cheaper to guess than what Keydesk
// writes) or above max fails with ErrWorkFactor before any scrypt work.
type costIdentity struct {
	*age.ScryptIdentity
	min, max int
}

func (c *costIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	for _, s := range stanzas {
		if s.Type != "scrypt" || len(s.Args) != 2 {
			continue
		}
		logN, err := strconv.Atoi(s.Args[1])
		if err != nil {
			continue // age refuses it
		}
		if logN < c.min || logN > c.max {
			return nil, fmt.Errorf("%w (2^%d, keydesk writes 2^%d)", ErrWorkFactor, logN, c.min)
		}
	}
	return c.ScryptIdentity.Unwrap(stanzas)
}

// boundedReader reads at most left bytes of r; more fails with ErrUnsafe.
type boundedReader struct {
	r    io.Reader
	left int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// At the bound: the stream must end here.
		var one [1]byte
		n, err := b.r.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%w: more data than its manifest lists", ErrUnsafe)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

// readError classifies an error met while reading the decrypted stream: a
// failure of age's authentication or an archive cut short means the file
// was truncated or altered.
func (r *Reader) readError(err error) error {
	if errors.Is(err, ErrDamaged) || errors.Is(err, ErrNotEnvelope) || errors.Is(err, ErrUnsafe) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrDamaged, err)
}

// Next returns the next file listed in the manifest and a reader of its
// body (valid until the next call). After the last file it reads the rest
// of the stream, checking that the file ends where age says it does, and
// returns io.EOF. A file missing, renamed or of another size than the
// manifest says fails with ErrDamaged; an entry that is not a plain file
// (sparse, link, device, fifo, folder), an entry past the manifest's files
// or data past the archive's end, with ErrUnsafe. Each body yields at most
// its manifest size.
func (r *Reader) Next() (FileInfo, io.Reader, error) {
	if r.cur != nil {
		if _, err := io.Copy(io.Discard, r.cur); err != nil {
			return FileInfo{}, nil, r.readError(err)
		}
		if r.cur.n != r.Manifest.Files[r.next-1].Size {
			return FileInfo{}, nil, fmt.Errorf("%w: %s is shorter than the manifest says", ErrDamaged, r.Manifest.Files[r.next-1].Name)
		}
		r.cur = nil
	}
	if r.next == len(r.Manifest.Files) {
		if _, err := r.tr.Next(); err != io.EOF {
			if err == nil {
				return FileInfo{}, nil, fmt.Errorf("%w: a file not in the manifest", ErrUnsafe)
			}
			return FileInfo{}, nil, r.readError(err)
		}
		// The tar end marker is read; age's own end must follow.
		if _, err := io.Copy(io.Discard, r.plain); err != nil {
			return FileInfo{}, nil, r.readError(err)
		}
		return FileInfo{}, nil, io.EOF
	}
	want := r.Manifest.Files[r.next]
	hdr, err := r.tr.Next()
	if err == io.EOF {
		return FileInfo{}, nil, fmt.Errorf("%w: %s is missing", ErrDamaged, want.Name)
	} else if err != nil {
		return FileInfo{}, nil, r.readError(err)
	}
	if !plainFile(hdr) {
		return FileInfo{}, nil, fmt.Errorf("%w: %s is not a plain file", ErrUnsafe, hdr.Name)
	}
	if hdr.Name != want.Name || hdr.Size != want.Size {
		return FileInfo{}, nil, fmt.Errorf("%w: %s does not match the manifest", ErrDamaged, hdr.Name)
	}
	r.next++
	r.cur = &countingReader{r: io.LimitReader(r.tr, want.Size), err: r.readError}
	return want, r.cur, nil
}

// ReadAll reads every remaining file into memory (for small envelopes
// such as the key file: each at most its OpenOptions.Files size),
// checking the whole stream.
func (r *Reader) ReadAll() (map[string][]byte, error) {
	out := make(map[string][]byte)
	for {
		fi, body, err := r.Next()
		if err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(body)
		if err != nil {
			return nil, err
		}
		out[fi.Name] = b
	}
}

// countingReader counts the bytes read and classifies read errors.
type countingReader struct {
	r   io.Reader
	n   int64
	err func(error) error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		err = c.err(err)
	}
	return n, err
}
