package winpath

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf16"
)

const dir = `C:\Users\Ann\AppData\Local\Programs\Keydesk`

// utf16le is s as the registry stores it, with terminator NULs appended.
func utf16le(s string, nuls int) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = append(b, byte(c), byte(c>>8))
	}
	return append(b, make([]byte, 2*nuls)...)
}

func expandFor(vars map[string]string) func(string) string {
	return func(s string) string {
		for k, v := range vars {
			s = strings.ReplaceAll(s, "%"+k+"%", v)
		}
		return s
	}
}

// longPath is a PATH of exactly n characters with %VARIABLES% in it.
func longPath(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		switch i % 3 {
		case 0:
			b.WriteString(`%SystemRoot%\system32`)
		case 1:
			b.WriteString(`%USERPROFILE%\tools\bin`)
		default:
			b.WriteString(`C:\Program Files\Tool ` + strings.Repeat("x", i%17) + `\bin`)
		}
	}
	return b.String()[:n]
}

func TestAddThenRemoveGivesBackEveryByte(t *testing.T) {
	// An unpaired surrogate: not valid UTF-16, kept as it is.
	lone := []byte{'C', 0, ':', 0, '\\', 0, 0x00, 0xD8, 'x', 0}
	cases := []struct {
		name    string
		v       Value
		added   string // the text after Add, "" to skip that check
		created bool
	}{
		{"expand", Value{true, TypeExpandSZ, utf16le(`C:\Tools;%USERPROFILE%\bin`, 1)}, `C:\Tools;%USERPROFILE%\bin;` + dir, false},
		{"sz", Value{true, TypeSZ, utf16le(`C:\Tools`, 1)}, `C:\Tools;` + dir, false},
		{"1300", Value{true, TypeExpandSZ, utf16le(longPath(1300), 1)}, longPath(1300) + ";" + dir, false},
		{"5000", Value{true, TypeExpandSZ, utf16le(longPath(5000), 1)}, longPath(5000) + ";" + dir, false},
		{"trailing separator", Value{true, TypeExpandSZ, utf16le(`C:\Tools;`, 1)}, `C:\Tools;` + dir + ";", false},
		{"two trailing separators", Value{true, TypeExpandSZ, utf16le(`C:\Tools;;`, 1)}, "", false},
		{"separator alone", Value{true, TypeSZ, utf16le(`;`, 1)}, "", false},
		{"empty", Value{true, TypeExpandSZ, utf16le(``, 1)}, dir, false},
		{"empty without terminator", Value{true, TypeExpandSZ, nil}, "", false},
		{"no terminator", Value{true, TypeExpandSZ, utf16le(`C:\Tools`, 0)}, "", false},
		{"two terminators", Value{true, TypeSZ, utf16le(`C:\Tools`, 2)}, "", false},
		{"unpaired surrogate", Value{true, TypeExpandSZ, append(lone, 0, 0)}, "", false},
		{"non-ASCII", Value{true, TypeExpandSZ, utf16le(`C:\Werkzeuge für Ärzte;D:\日本`, 1)}, "", false},
		{"missing", Value{}, dir, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nv, out, err := Add(c.v, dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]Outcome{true: Created, false: Added}[c.created]; out != want {
				t.Fatalf("Add: outcome %v, want %v", out, want)
			}
			if c.v.Exists && nv.Type != c.v.Type {
				t.Errorf("Add changed the type from %d to %d", c.v.Type, nv.Type)
			}
			if !c.v.Exists && nv.Type != TypeExpandSZ {
				t.Errorf("a new PATH has type %d, want REG_EXPAND_SZ", nv.Type)
			}
			if len(nv.Data) <= len(c.v.Data) {
				t.Errorf("Add wrote %d bytes over %d", len(nv.Data), len(c.v.Data))
			}
			if c.added != "" {
				nuls := 1
				if c.v.Exists {
					p, _ := parse(c.v)
					nuls = len(p.tail)
				}
				if !bytes.Equal(nv.Data, utf16le(c.added, nuls)) {
					t.Errorf("Add: %q, want %q", nv.Data, utf16le(c.added, nuls))
				}
			}
			if _, out, _ := Add(nv, dir, nil); out != Present {
				t.Errorf("Add again: outcome %v, want Present", out)
			}
			back, out, err := Remove(nv, dir, c.created, nil)
			if err != nil || (out != Removed && out != Deleted) {
				t.Fatalf("Remove: %v %v", out, err)
			}
			if !back.Equal(c.v) {
				t.Errorf("Remove gave %v %q, want %v %q", back.Exists, back.Data, c.v.Exists, c.v.Data)
			}
		})
	}
}

func TestAddFindsTheFolderInAnyForm(t *testing.T) {
	expand := expandFor(map[string]string{"LOCALAPPDATA": `C:\Users\Ann\AppData\Local`})
	for _, path := range []string{
		dir,
		`C:\Tools;` + strings.ToUpper(dir) + `;D:\x`,
		`C:\Tools;` + dir + `\`,
		`C:\Tools;"` + dir + `"`,
		`%LOCALAPPDATA%\Programs\Keydesk;C:\Tools`,
	} {
		v := Value{true, TypeExpandSZ, utf16le(path, 1)}
		nv, out, err := Add(v, dir, expand)
		if err != nil || out != Present || !nv.Equal(v) {
			t.Errorf("Add to %q: %v %v, changed %v; want Present and unchanged", path, out, err, !nv.Equal(v))
		}
	}
}

func TestRemoveTakesOnlyOneEntry(t *testing.T) {
	cases := []struct{ before, after string }{
		// The user added an entry after installing: it stays.
		{`C:\Tools;` + dir + `;D:\New`, `C:\Tools;D:\New`},
		{dir + `;D:\New`, `D:\New`},
		// The user had put it there too: only the last one goes.
		{dir + `;C:\Tools;` + dir, dir + `;C:\Tools`},
		{`C:\Tools;` + strings.ToLower(dir), `C:\Tools`},
	}
	for _, c := range cases {
		v := Value{true, TypeExpandSZ, utf16le(c.before, 1)}
		nv, out, err := Remove(v, dir, false, nil)
		if err != nil || out != Removed || !bytes.Equal(nv.Data, utf16le(c.after, 1)) {
			t.Errorf("Remove from %q: %v %v %q, want %q", c.before, out, err, nv.Data, c.after)
		}
	}
	v := Value{true, TypeExpandSZ, utf16le(`C:\Tools;C:\Users\Ann\AppData\Local\Programs\Keydesk2`, 1)}
	if nv, out, err := Remove(v, dir, false, nil); err != nil || out != Absent || !nv.Equal(v) {
		t.Errorf("Remove a folder that is not there: %v %v", out, err)
	}
	// Not created by Add: an empty value stays (empty).
	v = Value{true, TypeSZ, utf16le(dir, 1)}
	if nv, out, err := Remove(v, dir, false, nil); err != nil || out != Removed || !nv.Exists || !bytes.Equal(nv.Data, utf16le("", 1)) {
		t.Errorf("Remove the only entry: %v %v %v", nv, out, err)
	}
	if nv, out, err := Remove(v, dir, true, nil); err != nil || out != Deleted || nv.Exists {
		t.Errorf("Remove the only entry of a created value: %v %v %v", nv, out, err)
	}
	if _, out, err := Remove(Value{}, dir, true, nil); err != nil || out != Absent {
		t.Errorf("Remove from no value: %v %v", out, err)
	}
}

func TestRefusals(t *testing.T) {
	atLimit := longPath(MaxChars - len(dir) - 1)
	if _, out, err := Add(Value{true, TypeExpandSZ, utf16le(atLimit, 1)}, dir, nil); err != nil || out != Added {
		t.Errorf("a PATH that reaches 32,767 exactly: %v %v", out, err)
	}
	cases := []struct {
		name string
		v    Value
		dir  string
		err  error
	}{
		{"one over the limit", Value{true, TypeExpandSZ, utf16le(atLimit+"x", 1)}, dir, ErrTooLong},
		{"already over the limit", Value{true, TypeExpandSZ, utf16le(longPath(40000), 1)}, dir, ErrTooLong},
		{"huge value", Value{true, TypeExpandSZ, make([]byte, maxData+2)}, dir, ErrTooLong},
		{"multi-string", Value{true, 7, utf16le(`C:\Tools`, 2)}, dir, ErrNotString},
		{"binary", Value{true, 3, []byte{1, 2, 3}}, dir, ErrNotString},
		{"odd length", Value{true, TypeSZ, append(utf16le(`C:\Tools`, 1), 0)}, dir, ErrMalformed},
		{"NUL inside", Value{true, TypeSZ, append(utf16le(`C:\Tools`, 1), utf16le(`D:\x`, 1)...)}, dir, ErrMalformed},
		{"relative folder", Value{true, TypeSZ, utf16le(`C:\Tools`, 1)}, `Keydesk`, ErrBadFolder},
		{"folder with ;", Value{true, TypeSZ, utf16le(`C:\Tools`, 1)}, `C:\a;b`, ErrBadFolder},
		{"folder with quote", Value{true, TypeSZ, utf16le(`C:\Tools`, 1)}, `C:\a"b`, ErrBadFolder},
	}
	for _, c := range cases {
		nv, _, err := Add(c.v, c.dir, nil)
		if !errors.Is(err, c.err) || !nv.Equal(c.v) {
			t.Errorf("Add, %s: %v, want %v and the value unchanged", c.name, err, c.err)
		}
		if c.err == ErrTooLong && len(c.v.Data) <= maxData {
			continue // removing never lengthens
		}
		nv, _, err = Remove(c.v, c.dir, false, nil)
		if !errors.Is(err, c.err) || !nv.Equal(c.v) {
			t.Errorf("Remove, %s: %v, want %v and the value unchanged", c.name, err, c.err)
		}
	}
}

// memRegistry is HKCU\Environment\Path in memory (the real registry is
// tested under Wine, e2e/windows). onRead runs before each read.
type memRegistry struct {
	v        Value
	writes   int
	writeErr error
	onRead   func(r *memRegistry)
}

func (r *memRegistry) Read() (Value, error) {
	if r.onRead != nil {
		r.onRead(r)
	}
	return Value{r.v.Exists, r.v.Type, append([]byte(nil), r.v.Data...)}, nil
}

func (r *memRegistry) Write(v Value) error {
	if r.writeErr != nil {
		return r.writeErr
	}
	r.writes++
	r.v = v
	return nil
}

func (r *memRegistry) Expand(s string) string { return s }

func run(reg Registry, args ...string) (int, string) {
	var out bytes.Buffer
	code := Main(args, &out, reg)
	return code, out.String()
}

func TestMainAddsAndRemoves(t *testing.T) {
	old := Value{true, TypeExpandSZ, utf16le(longPath(5000), 1)}
	reg := &memRegistry{v: old}
	if code, out := run(reg, "add", dir); code != ExitChanged || out != "Added "+dir+" to your PATH.\n" {
		t.Fatalf("add: %d %q", code, out)
	}
	if code, out := run(reg, "add", dir); code != ExitUnchanged || reg.writes != 1 || !strings.Contains(out, "already on your PATH") {
		t.Fatalf("add again: %d %q, %d writes", code, out, reg.writes)
	}
	if code, out := run(reg, "remove", dir); code != ExitChanged || !reg.v.Equal(old) || out != "Removed "+dir+" from your PATH.\n" {
		t.Fatalf("remove: %d %q", code, out)
	}
	if code, _ := run(reg, "remove", dir); code != ExitUnchanged || reg.writes != 2 {
		t.Fatalf("remove again: %d, %d writes", code, reg.writes)
	}

	reg = &memRegistry{}
	if code, _ := run(reg, "add", dir); code != ExitCreated || reg.v.Type != TypeExpandSZ {
		t.Fatalf("add to no PATH: %d %v", code, reg.v)
	}
	if code, _ := run(reg, "remove", "--created", dir); code != ExitChanged || reg.v.Exists {
		t.Fatalf("remove --created: %d %v", code, reg.v)
	}

	for _, args := range [][]string{nil, {"add"}, {"add", dir, dir}, {"remove", "--force", dir}, {"list", dir}} {
		if code, out := run(&memRegistry{}, args...); code != ExitUsage || !strings.HasPrefix(out, "usage:") {
			t.Errorf("%q: %d %q", args, code, out)
		}
	}
}

func TestMainLeavesPathAloneWhenItCannot(t *testing.T) {
	tooLong := Value{true, TypeExpandSZ, utf16le(longPath(MaxChars-10), 1)}
	reg := &memRegistry{v: tooLong}
	code, out := run(reg, "add", dir)
	if code != ExitRefused || reg.writes != 0 || !reg.v.Equal(tooLong) {
		t.Fatalf("add to a PATH with no room: %d, %d writes", code, reg.writes)
	}
	if want := "Your PATH was left as it was because it is, or with the folder added would be, longer than the 32,767 characters Windows allows; add " + dir + " to it yourself to run keydesk from a command prompt.\n"; out != want {
		t.Errorf("sentence %q, want %q", out, want)
	}

	// Another program writes PATH between the read and the write.
	reads := 0
	other := Value{true, TypeExpandSZ, utf16le(`C:\Other`, 1)}
	reg = &memRegistry{v: Value{true, TypeExpandSZ, utf16le(`C:\Tools`, 1)}, onRead: func(r *memRegistry) {
		if reads++; reads == 2 {
			r.v = other
		}
	}}
	if code, out := run(reg, "add", dir); code != ExitRefused || reg.writes != 0 || !reg.v.Equal(other) || !strings.Contains(out, "another program changed it") {
		t.Errorf("a PATH changed meanwhile: %d %q, %d writes", code, out, reg.writes)
	}

	reg = &memRegistry{v: Value{true, TypeSZ, utf16le(`C:\Tools`, 1)}, writeErr: errors.New("Access is denied.")}
	if code, out := run(reg, "add", dir); code != ExitRefused || !strings.Contains(out, "could not be read or written (Access is denied.)") {
		t.Errorf("a write that fails: %d %q", code, out)
	}
	if code, out := run(System(), "add", dir); code != ExitRefused || !strings.Contains(out, "this is not Windows") {
		t.Errorf("on Linux: %d %q", code, out)
	}
}

// FuzzAddRemove: for any value, Add either refuses and leaves it, finds the
// folder, or writes a longer value of the same type that Remove turns back
// into the original, byte for byte.
func FuzzAddRemove(f *testing.F) {
	f.Add(uint32(TypeExpandSZ), utf16le(`C:\Tools;%PATH%`, 1))
	f.Add(uint32(TypeSZ), utf16le(`;`, 0))
	f.Add(uint32(TypeSZ), utf16le(dir+`;`+dir, 3))
	f.Add(uint32(7), []byte{1})
	f.Fuzz(func(t *testing.T, typ uint32, data []byte) {
		v := Value{true, typ, data}
		nv, out, err := Add(v, dir, nil)
		if err != nil || out == Present {
			if !nv.Equal(v) {
				t.Fatalf("Add changed a value it refused or left (%v)", err)
			}
			return
		}
		if out != Added || nv.Type != typ || len(nv.Data) <= len(data) {
			t.Fatalf("Add: %v, type %d, %d bytes over %d", out, nv.Type, len(nv.Data), len(data))
		}
		back, out, err := Remove(nv, dir, false, nil)
		if err != nil || out != Removed || !back.Equal(v) {
			t.Fatalf("Remove: %v %v, %q, want %q", out, err, back.Data, data)
		}
	})
}
