//go:build wine

package windows

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

// regValue is a registry value as `reg export` writes it: its type
// (REG_SZ or REG_EXPAND_SZ) and raw bytes.
type regValue struct {
	typ  string
	data []byte
}

// utf16z is s in UTF-16LE with its NUL terminator, as the registry holds a
// string.
func utf16z(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = append(b, byte(c), byte(c>>8))
	}
	return append(b, 0, 0)
}

// decode is UTF-16LE registry data as text.
func decode(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	return string(utf16.Decode(u))
}

// head is the start of a long text, for a message.
func head(s string) string {
	r := []rune(s)
	return string(r[:min(len(r), 80)])
}

func hexList(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02x", c)
	}
	return strings.Join(parts, ",")
}

// setUserPath stores HKCU\Environment\Path with `reg import` (a .reg file:
// reg add's command line could not carry 32,767 characters), byte for byte.
func (w *wine) setUserPath(typ, text string) {
	w.t.Helper()
	code := map[string]string{"REG_SZ": "hex(1)", "REG_EXPAND_SZ": "hex(2)"}[typ]
	reg := "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\Environment]\r\n\"Path\"=" + code + ":" + hexList(utf16z(text)) + "\r\n"
	file := append([]byte{0xff, 0xfe}, utf16z(reg)...)
	if err := os.WriteFile(filepath.Join(w.prefix, "drive_c", "path.reg"), file[:len(file)-2], 0o644); err != nil {
		w.t.Fatal(err)
	}
	if r := w.run("", "reg", "import", `C:\path.reg`); r.code != 0 {
		w.t.Fatalf("reg import: exit %d %q", r.code, r.stderr)
	}
	if got := w.userPath(w.exportEnv()); got.typ != typ || !bytes.Equal(got.data, utf16z(text)) {
		w.t.Fatalf("the PATH set for the test reads back as %s of %d bytes", got.typ, len(got.data))
	}
}

// exportEnv is HKCU\Environment as `reg export` writes it (every value, its
// type and bytes).
func (w *wine) exportEnv() []byte {
	w.t.Helper()
	if r := w.run("", "reg", "export", `HKCU\Environment`, `C:\env.reg`, "/y"); r.code != 0 {
		w.t.Fatalf("reg export: exit %d %q", r.code, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(w.prefix, "drive_c", "env.reg"))
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

// userPath reads the Path value out of an export.
func (w *wine) userPath(export []byte) regValue {
	w.t.Helper()
	if len(export) < 2 || len(export)%2 != 0 {
		w.t.Fatalf("reg export wrote %d bytes", len(export))
	}
	text := strings.ReplaceAll(decode(export[2:]), "\\\r\n  ", "")
	for _, line := range strings.Split(text, "\r\n") {
		v, ok := strings.CutPrefix(line, `"Path"=`)
		if !ok {
			continue
		}
		for prefix, typ := range map[string]string{"hex(1):": "REG_SZ", "hex(2):": "REG_EXPAND_SZ"} {
			if h, ok := strings.CutPrefix(v, prefix); ok {
				b, err := hex.DecodeString(strings.ReplaceAll(h, ",", ""))
				if err != nil {
					w.t.Fatalf("reg export: %q: %v", line, err)
				}
				return regValue{typ, b}
			}
		}
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			s := strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(v[1 : len(v)-1])
			return regValue{"REG_SZ", utf16z(s)}
		}
		w.t.Fatalf("reg export: a Path of another type: %q", line)
	}
	return regValue{}
}

// longUserPath is a PATH of exactly n characters with %VARIABLES%, spaces
// and non-ASCII letters in it.
func longUserPath(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < 4*n; i++ {
		if i > 0 {
			b.WriteByte(';')
		}
		switch i % 4 {
		case 0:
			b.WriteString(`%SystemRoot%\system32`)
		case 1:
			b.WriteString(`%USERPROFILE%\tools\bin`)
		case 2:
			fmt.Fprintf(&b, `C:\Program Files\Tool %d\bin`, i)
		default:
			b.WriteString(`D:\Werkzeuge für Ärzte`)
		}
	}
	r := []rune(b.String())[:n]
	if r[n-1] == ';' {
		r[n-1] = 'x' // an entry, not an empty one: setup appends ";folder"
	}
	return string(r)
}

// TestWindowsLongPath installs, installs again and uninstalls with long
// user PATHs: each is kept whole, with Keydesk's folder added once, and
// uninstalling gives HKCU\Environment back byte for byte. A PATH with no
// room left stays as it was and setup says so (exit status 3). NSIS's
// ReadRegStr answered "" for a PATH over 1,024 characters, and the old
// installer wrote Path=<install folder>.
func TestWindowsLongPath(t *testing.T) {
	setup := setupFile(t)
	w := newWine(t)
	installDir := w.profile("AppData/Local/Programs/Keydesk")
	entry := `C:\users\` + w.user + `\AppData\Local\Programs\Keydesk`
	const exitPathUnchanged = 3

	install := func(t *testing.T, wantCode int) {
		t.Helper()
		r := w.run("", setup, "/S")
		w.wait()
		if r.code != wantCode {
			t.Fatalf("setup /S: exit %d, want %d", r.code, wantCode)
		}
		if !exists(filepath.Join(installDir, "keydesk.com")) {
			t.Fatal("keydesk.com is not installed")
		}
	}
	uninstall := func(t *testing.T) {
		t.Helper()
		r := w.run("", filepath.Join(installDir, "uninstall.exe"), "/S")
		w.wait()
		if r.code != 0 {
			t.Fatalf("uninstall.exe /S: exit %d", r.code)
		}
		if exists(installDir) {
			t.Fatal("the install folder is still there")
		}
	}

	for _, c := range []struct {
		typ string
		n   int
	}{{"REG_EXPAND_SZ", 1300}, {"REG_EXPAND_SZ", 5000}, {"REG_SZ", 5000}} {
		t.Run(fmt.Sprintf("%s of %d characters", c.typ, c.n), func(t *testing.T) {
			old := longUserPath(c.n)
			w.setUserPath(c.typ, old)
			before := w.exportEnv()

			install(t, 0)
			afterInstall := w.exportEnv()
			got := w.userPath(afterInstall)
			if want := utf16z(old + ";" + entry); got.typ != c.typ || !bytes.Equal(got.data, want) {
				t.Fatalf("PATH after install: %s of %d bytes, want %s of %d bytes (the old PATH, then %s); it starts %q",
					got.typ, len(got.data), c.typ, len(want), entry, head(decode(got.data)))
			}

			install(t, 0)
			if again := w.exportEnv(); !bytes.Equal(again, afterInstall) {
				t.Errorf("installing again changed HKCU\\Environment (PATH %d bytes, was %d)", len(w.userPath(again).data), len(got.data))
			}

			uninstall(t)
			if after := w.exportEnv(); !bytes.Equal(after, before) {
				t.Errorf("HKCU\\Environment after uninstall is not what it was before install: PATH %s of %d bytes, was %s of %d",
					w.userPath(after).typ, len(w.userPath(after).data), c.typ, len(utf16z(old)))
			}
		})
	}

	// Adding the folder would pass the 32,767 characters Windows allows:
	// PATH stays as it was, and setup says so in its exit status.
	t.Run("no room left", func(t *testing.T) {
		w.setUserPath("REG_EXPAND_SZ", longUserPath(32767-len(entry)))
		before := w.exportEnv()
		install(t, exitPathUnchanged)
		if after := w.exportEnv(); !bytes.Equal(after, before) {
			t.Errorf("setup changed a PATH it could not extend: %d bytes, was %d", len(w.userPath(after).data), len(w.userPath(before).data))
		}
		uninstall(t)
		if after := w.exportEnv(); !bytes.Equal(after, before) {
			t.Errorf("uninstall changed a PATH setup had not extended: %d bytes, was %d", len(w.userPath(after).data), len(w.userPath(before).data))
		}
	})
}
