// Command winexe makes the console companion of Keydesk's Windows binary:
//
//	go run ./cmd/winexe -o dist/windows/keydesk.com dist/windows/Keydesk.exe
//
// copies Keydesk.exe (built for the GUI subsystem by fyne package, so that
// opening the window shows no console) and sets the copy's subsystem to
// console, as Microsoft's `editbin /SUBSYSTEM:CONSOLE` does. Everything else,
// the icon, version and manifest resources included, stays byte for byte the
// same. cmd.exe and PowerShell run keydesk.com for "keydesk" (.COM comes
// before .EXE in PATHEXT), wait for it, see its exit status and give it the
// console's input and output.
package main

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
)

func main() {
	out := flag.String("o", "", "the console copy to write")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: winexe -o OUT.com IN.exe")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	in, err := os.ReadFile(flag.Arg(0))
	if err == nil {
		err = SetConsoleSubsystem(in)
	}
	if err == nil {
		err = os.WriteFile(*out, in, 0o755)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "winexe: %s: %v\n", flag.Arg(0), err)
		os.Exit(1)
	}
}

// Subsystem values of the PE optional header.
const (
	subsystemGUI     = pe.IMAGE_SUBSYSTEM_WINDOWS_GUI
	subsystemConsole = pe.IMAGE_SUBSYSTEM_WINDOWS_CUI
)

// ErrNotGUI means the input is not a GUI-subsystem PE executable.
var ErrNotGUI = errors.New("not a Windows GUI executable")

// SetConsoleSubsystem changes a GUI-subsystem PE image in place to the
// console subsystem.
func SetConsoleSubsystem(img []byte) error {
	f, err := pe.NewFile(bytes.NewReader(img))
	if err != nil {
		return fmt.Errorf("read PE: %w", err)
	}
	var sub uint16
	switch oh := f.OptionalHeader.(type) {
	case *pe.OptionalHeader32:
		sub = oh.Subsystem
	case *pe.OptionalHeader64:
		sub = oh.Subsystem
	default:
		return fmt.Errorf("%w: no optional header", ErrNotGUI)
	}
	if sub != subsystemGUI {
		return fmt.Errorf("%w: subsystem %d", ErrNotGUI, sub)
	}
	// e_lfanew (at 0x3c) points at "PE\0\0"; the 20-byte file header
	// follows, then the optional header, whose Subsystem field is at offset
	// 68 for both PE32 and PE32+.
	off := int(binary.LittleEndian.Uint32(img[0x3c:])) + 4 + 20 + 68
	if off+2 > len(img) || binary.LittleEndian.Uint16(img[off:]) != subsystemGUI {
		return fmt.Errorf("%w: subsystem field not where expected", ErrNotGUI)
	}
	binary.LittleEndian.PutUint16(img[off:], subsystemConsole)
	return nil
}
