// Package winpath adds a folder to, and removes it from, the user's PATH on
// Windows (the Path value of HKCU\Environment), for Keydesk's installer and
// uninstaller (cmd/winpath, which the NSIS script runs).
//
// NSIS itself cannot do this safely: its strings hold NSIS_MAX_STRLEN
// characters (1024 in Debian's build), ReadRegStr answers "" for a longer
// value, and writing that back empties the PATH. Windows allows 32,767
// characters. This package works on the value's raw bytes as the registry
// holds them (UTF-16 code units, its terminator included), so nothing is
// decoded and re-encoded: adding appends one entry and leaves every other
// byte and the value's type (REG_SZ or REG_EXPAND_SZ) as they were, and
// removing takes out exactly that entry and one separator, which gives back
// the value byte for byte. Whenever that cannot be done safely (a value that
// is not a string, a result longer than Windows allows, a value another
// program changed meanwhile) the value is left as it was and the error says
// why.
package winpath

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
)

// Registry value types (winnt.h) that a PATH may have.
const (
	TypeSZ       uint32 = 1 // REG_SZ
	TypeExpandSZ uint32 = 2 // REG_EXPAND_SZ
)

// MaxChars is the longest PATH Windows accepts: an environment variable
// holds at most 32,767 UTF-16 code units.
const MaxChars = 32767

// maxData bounds what is read from the registry (a value can be far larger
// than any PATH): anything longer is refused without being read whole.
const maxData = 1 << 20

var (
	// ErrNotString means the Path value is not a REG_SZ or REG_EXPAND_SZ.
	ErrNotString = errors.New("winpath: the Path value is not a string")
	// ErrMalformed means the value's bytes are not UTF-16 text (an odd
	// length, or a NUL before the end).
	ErrMalformed = errors.New("winpath: the Path value is not well-formed text")
	// ErrTooLong means the PATH with the folder added would be longer than
	// MaxChars (or the value is already larger than anything Windows reads).
	ErrTooLong = errors.New("winpath: the PATH would be too long")
	// ErrBadFolder means the folder is not an absolute Windows path, or
	// holds a ';' or a '"' (it would split into other entries).
	ErrBadFolder = errors.New("winpath: the folder cannot be a PATH entry")
	// ErrChanged means another program changed the value between reading
	// it and writing it back.
	ErrChanged = errors.New("winpath: the Path value changed meanwhile")
	// ErrUnsupported means the registry is not available (not Windows).
	ErrUnsupported = errors.New("winpath: the Windows registry is not available here")
)

// Value is a registry value as stored: whether it exists, its type and its
// raw bytes.
type Value struct {
	Exists bool
	Type   uint32
	Data   []byte
}

// Equal reports whether v and o are the same value, byte for byte.
func (v Value) Equal(o Value) bool {
	if v.Exists != o.Exists {
		return false
	}
	return !v.Exists || v.Type == o.Type && string(v.Data) == string(o.Data)
}

// Outcome is what Add or Remove did.
type Outcome int

// The outcomes of Add and Remove.
const (
	// Added: the folder was appended to the existing value.
	Added Outcome = iota
	// Created: there was no Path value; it now holds the folder alone.
	Created
	// Present: the folder is already on the PATH; nothing changes.
	Present
	// Removed: the folder's entry and one separator were taken out.
	Removed
	// Deleted: the value held the folder alone and was created by Add;
	// the value is deleted.
	Deleted
	// Absent: the folder is not on the PATH; nothing changes.
	Absent
)

// parsed is a string value split into its text and its terminator (the
// NUL code units at the end, kept as they are).
type parsed struct {
	text []uint16
	tail []uint16
}

func parse(v Value) (parsed, error) {
	if v.Type != TypeSZ && v.Type != TypeExpandSZ {
		return parsed{}, ErrNotString
	}
	if len(v.Data) > maxData {
		return parsed{}, ErrTooLong
	}
	if len(v.Data)%2 != 0 {
		return parsed{}, ErrMalformed
	}
	u := make([]uint16, len(v.Data)/2)
	for i := range u {
		u[i] = uint16(v.Data[2*i]) | uint16(v.Data[2*i+1])<<8
	}
	end := len(u)
	for end > 0 && u[end-1] == 0 {
		end--
	}
	for _, c := range u[:end] {
		if c == 0 {
			return parsed{}, ErrMalformed
		}
	}
	return parsed{text: u[:end], tail: u[end:]}, nil
}

func (p parsed) bytes() []byte {
	b := make([]byte, 0, 2*(len(p.text)+len(p.tail)))
	for _, s := range [][]uint16{p.text, p.tail} {
		for _, c := range s {
			b = append(b, byte(c), byte(c>>8))
		}
	}
	return b
}

func checkFolder(dir string) error {
	if strings.ContainsAny(dir, ";\"\x00") || len(dir) < 3 {
		return ErrBadFolder
	}
	drive := dir[1] == ':' && (dir[2] == '\\' || dir[2] == '/') && ('a' <= dir[0]|0x20 && dir[0]|0x20 <= 'z')
	unc := strings.HasPrefix(dir, `\\`)
	if !drive && !unc {
		return ErrBadFolder
	}
	return nil
}

// normal is an entry as compared: without surrounding quotes or trailing
// slashes, in lower case.
func normal(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	s = strings.TrimRight(s, `\/`)
	return strings.ToLower(strings.ReplaceAll(s, "/", `\`))
}

// matcher reports whether an entry names dir: the same text (ignoring case,
// quotes and a trailing backslash), or the same once its %VARIABLES% are
// expanded (expand may be nil).
func matcher(dir string, expand func(string) string) func(entry []uint16) bool {
	want := normal(dir)
	return func(entry []uint16) bool {
		s := string(utf16.Decode(entry))
		if normal(s) == want {
			return true
		}
		return expand != nil && strings.Contains(s, "%") && normal(expand(s)) == want
	}
}

// entries returns the [start, end) code-unit ranges of the ';'-separated
// entries of text (an empty text has one empty entry).
func entries(text []uint16) [][2]int {
	var r [][2]int
	start := 0
	for i, c := range text {
		if c == ';' {
			r = append(r, [2]int{start, i})
			start = i + 1
		}
	}
	return append(r, [2]int{start, len(text)})
}

// Add returns v with dir appended as one more entry, unless an entry
// already names dir (see Present). A missing value is created as a
// REG_EXPAND_SZ holding dir alone. The type and the terminator stay as they
// were; a text ending in ';' gets "dir;" (so its style is kept and Remove
// gives it back), any other text ";dir". On an error v is to be left
// as it is.
func Add(v Value, dir string, expand func(string) string) (Value, Outcome, error) {
	if err := checkFolder(dir); err != nil {
		return v, 0, err
	}
	d := utf16.Encode([]rune(dir))
	if !v.Exists {
		if len(d) > MaxChars {
			return v, 0, ErrTooLong
		}
		return Value{Exists: true, Type: TypeExpandSZ, Data: parsed{text: d, tail: []uint16{0}}.bytes()}, Created, nil
	}
	p, err := parse(v)
	if err != nil {
		return v, 0, err
	}
	match := matcher(dir, expand)
	for _, e := range entries(p.text) {
		if match(p.text[e[0]:e[1]]) {
			return v, Present, nil
		}
	}
	text := append([]uint16(nil), p.text...)
	switch {
	case len(text) == 0:
		text = d
	case text[len(text)-1] == ';':
		text = append(append(text, d...), ';')
	default:
		text = append(append(text, ';'), d...)
	}
	if len(text) > MaxChars {
		return v, 0, ErrTooLong
	}
	if len(text) <= len(p.text) {
		// Cannot happen: the PATH only ever grows here.
		return v, 0, fmt.Errorf("%w: the new PATH is not longer than the old", ErrMalformed)
	}
	p.text = text
	return Value{Exists: true, Type: v.Type, Data: p.bytes()}, Added, nil
}

// Remove returns v without the last entry that names dir and one separator
// next to it (the one before it, else the one after it): the inverse of
// Add. When the value then holds nothing and created is true (Add created
// it), the value is deleted (Deleted). With no such entry it returns v and
// Absent. On an error v is to be left as it is.
func Remove(v Value, dir string, created bool, expand func(string) string) (Value, Outcome, error) {
	if err := checkFolder(dir); err != nil {
		return v, 0, err
	}
	if !v.Exists {
		return v, Absent, nil
	}
	p, err := parse(v)
	if err != nil {
		return v, 0, err
	}
	match := matcher(dir, expand)
	es := entries(p.text)
	for i := len(es) - 1; i >= 0; i-- {
		e := es[i]
		if !match(p.text[e[0]:e[1]]) {
			continue
		}
		from, to := e[0], e[1]
		switch {
		case from > 0:
			from-- // the ';' before it
		case to < len(p.text):
			to++ // the first entry: the ';' after it
		}
		text := append(append([]uint16(nil), p.text[:from]...), p.text[to:]...)
		if len(text) == 0 && created {
			return Value{}, Deleted, nil
		}
		p.text = text
		return Value{Exists: true, Type: v.Type, Data: p.bytes()}, Removed, nil
	}
	return v, Absent, nil
}
